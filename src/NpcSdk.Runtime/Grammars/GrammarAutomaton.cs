using System;
using System.Collections.Generic;
using System.Threading;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// The pushdown automaton of a <see cref="GrammarProgram"/>, determinized lazily over bytes. A parse stack is an
    /// interned linked list of positions (shared tails, llama.cpp's stacks without the copies); a state is the set of
    /// stacks alive after some input, each with a terminal on top. States are interned, so equal states are one object and
    /// a byte step is one array read once the transition was computed. This is what makes masks cacheable per state and
    /// matcher clones and rollbacks free (a matcher is a reference to a state).
    /// </summary>
    /// <remarks>Thread-safe: transitions are computed under a lock and published with volatile writes.</remarks>
    internal sealed class GrammarAutomaton
    {
        private readonly GrammarProgram _program;
        private readonly object _gate = new object();
        private readonly List<int> _nodePosition = new List<int>();
        private readonly List<int> _nodeParent = new List<int>();
        private readonly Dictionary<long, int> _nodeIndex = new Dictionary<long, int>();
        private readonly Dictionary<int[], AutomatonState> _states = new Dictionary<int[], AutomatonState>(StateKeyComparer.Instance);
        private readonly HashSet<long> _visited = new HashSet<long>();
        private readonly Stack<(int Position, int Parent)> _work = new Stack<(int, int)>();
        private readonly List<int> _found = new List<int>();
        private bool _foundComplete;
        private int _stateCount;

        public GrammarAutomaton(GrammarProgram program)
        {
            _program = program;
            Dead = new AutomatonState(0, Array.Empty<int>(), false, ByteSet.Empty);
            for (int b = 0; b < 256; b++) Dead.Transitions[b] = Dead;
            _stateCount = 1;
            lock (_gate)
            {
                BeginClosure();
                foreach (int start in program.RuleAlternatives[program.Root]) _work.Push((start, -1));
                Start = EndClosure();
            }
        }

        public GrammarProgram Program => _program;

        /// <summary>The state no input leads out of (the text so far cannot be continued into the grammar).</summary>
        public AutomatonState Dead { get; }

        /// <summary>The state before any input.</summary>
        public AutomatonState Start { get; }

        /// <summary>States created so far (the dead state included).</summary>
        public int StateCount => Volatile.Read(ref _stateCount);

        /// <summary>The state after <paramref name="b"/>; <see cref="Dead"/> when the byte is not allowed.</summary>
        public AutomatonState Next(AutomatonState state, byte b)
        {
            AutomatonState? next = Volatile.Read(ref state.Transitions[b]);
            return next ?? ComputeNext(state, b);
        }

        /// <summary>The state after <paramref name="bytes"/>; <see cref="Dead"/> when they are not allowed.</summary>
        public AutomatonState Next(AutomatonState state, ReadOnlySpan<byte> bytes)
        {
            for (int i = 0; i < bytes.Length && state != Dead; i++) state = Next(state, bytes[i]);
            return state;
        }

        private AutomatonState ComputeNext(AutomatonState state, byte b)
        {
            if (!state.Accepts.Contains(b))
            {
                Volatile.Write(ref state.Transitions[b], Dead);
                return Dead;
            }
            lock (_gate)
            {
                AutomatonState? known = state.Transitions[b];
                if (known != null) return known;
                if (state.Nodes.Length <= 64)
                {
                    ComputeAllTransitions(state);
                    return state.Transitions[b]!;
                }
                AutomatonState next = Step(state, b);
                Volatile.Write(ref state.Transitions[b], next);
                return next;
            }
        }

        /// <summary>The state after <paramref name="b"/> (under the lock).</summary>
        private AutomatonState Step(AutomatonState state, byte b)
        {
            BeginClosure();
            foreach (int node in state.Nodes)
            {
                int position = _nodePosition[node];
                if (_program.Sets[_program.Argument[position]].Contains(b)) _work.Push((position + 1, _nodeParent[node]));
            }
            return EndClosure();
        }

        /// <summary>
        /// Every transition of a state at once (under the lock): bytes taken by the same subset of its stacks lead to the
        /// same state, so the closure runs once per subset (inside a string: once for all plain characters) instead of once
        /// per byte. This is what makes the first mask of a new state cheap.
        /// </summary>
        private void ComputeAllTransitions(AutomatonState state)
        {
            int[] nodes = state.Nodes;
            var terminals = new ByteSet[nodes.Length];
            for (int i = 0; i < nodes.Length; i++) terminals[i] = _program.Sets[_program.Argument[_nodePosition[nodes[i]]]];
            var bySubset = new Dictionary<ulong, AutomatonState>();
            for (int b = 0; b < 256; b++)
            {
                ulong subset = 0;
                for (int i = 0; i < nodes.Length; i++)
                    if (terminals[i].Contains((byte)b)) subset |= 1UL << i;
                if (subset == 0)
                {
                    Volatile.Write(ref state.Transitions[b], Dead);
                    continue;
                }
                if (!bySubset.TryGetValue(subset, out AutomatonState? next))
                {
                    next = Step(state, (byte)b);
                    bySubset.Add(subset, next);
                }
                Volatile.Write(ref state.Transitions[b], next);
            }
        }

        private void BeginClosure()
        {
            _visited.Clear();
            _found.Clear();
            _work.Clear();
            _foundComplete = false;
        }

        /// <summary>
        /// Expands the pending (position, stack) pairs until each has a terminal on top: rule references push their
        /// alternatives (a reference that ends its alternative is a tail call and pushes nothing), ends of alternatives pop.
        /// </summary>
        private AutomatonState EndClosure()
        {
            int[] kind = _program.Kind;
            while (_work.Count > 0)
            {
                var (position, parent) = _work.Pop();
                if (!_visited.Add(Key(position, parent))) continue;
                switch (kind[position])
                {
                    case GrammarProgram.Bytes:
                        _found.Add(Node(position, parent));
                        break;
                    case GrammarProgram.End:
                        if (parent < 0) _foundComplete = true;
                        else _work.Push((_nodePosition[parent], _nodeParent[parent]));
                        break;
                    default:
                        int returnTo = kind[position + 1] == GrammarProgram.End ? parent : Node(position + 1, parent);
                        foreach (int start in _program.RuleAlternatives[_program.Argument[position]]) _work.Push((start, returnTo));
                        break;
                }
            }
            if (_found.Count == 0 && !_foundComplete) return Dead;

            _found.Sort();
            int distinct = 0;
            for (int i = 0; i < _found.Count; i++)
                if (i == 0 || _found[i] != _found[i - 1]) _found[distinct++] = _found[i];
            var key = new int[distinct + 1];
            key[0] = _foundComplete ? 1 : 0;
            for (int i = 0; i < distinct; i++) key[i + 1] = _found[i];
            if (_states.TryGetValue(key, out AutomatonState? existing)) return existing;

            var nodes = new int[distinct];
            ByteSet accepts = ByteSet.Empty;
            for (int i = 0; i < distinct; i++)
            {
                nodes[i] = _found[i];
                accepts = accepts.Union(_program.Sets[_program.Argument[_nodePosition[_found[i]]]]);
            }
            var state = new AutomatonState(_stateCount, nodes, _foundComplete, accepts);
            _states.Add(key, state);
            Volatile.Write(ref _stateCount, _stateCount + 1);
            return state;
        }

        private static long Key(int position, int parent) => ((long)position << 32) | (uint)(parent + 1);

        private int Node(int position, int parent)
        {
            long key = Key(position, parent);
            if (_nodeIndex.TryGetValue(key, out int node)) return node;
            node = _nodePosition.Count;
            _nodePosition.Add(position);
            _nodeParent.Add(parent);
            _nodeIndex.Add(key, node);
            return node;
        }

        /// <summary>The rules on top of the stacks of a state (for error messages), e.g. "price, price-opt-12".</summary>
        public string Describe(AutomatonState state)
        {
            if (state == Dead) return "dead";
            var names = new SortedSet<string>(StringComparer.Ordinal);
            lock (_gate)
            {
                foreach (int node in state.Nodes) names.Add(RuleOf(_nodePosition[node]));
            }
            if (state.IsComplete) names.Add("<complete>");
            return string.Join(", ", names);
        }

        private string RuleOf(int position)
        {
            for (int r = 0; r < _program.RuleAlternatives.Length; r++)
            {
                foreach (int start in _program.RuleAlternatives[r])
                {
                    int end = start;
                    while (_program.Kind[end] != GrammarProgram.End) end++;
                    if (position >= start && position <= end) return _program.RuleNames[r];
                }
            }
            return "?";
        }

        private sealed class StateKeyComparer : IEqualityComparer<int[]>
        {
            public static readonly StateKeyComparer Instance = new StateKeyComparer();

            public bool Equals(int[]? x, int[]? y)
            {
                if (ReferenceEquals(x, y)) return true;
                if (x == null || y == null || x.Length != y.Length) return false;
                for (int i = 0; i < x.Length; i++)
                    if (x[i] != y[i]) return false;
                return true;
            }

            public int GetHashCode(int[] key)
            {
                int h = key.Length;
                foreach (int v in key) h = unchecked(h * 31 + v);
                return h;
            }
        }
    }

    /// <summary>One state of a <see cref="GrammarAutomaton"/>: the parse stacks alive after some input.</summary>
    internal sealed class AutomatonState
    {
        public AutomatonState(int id, int[] nodes, bool isComplete, ByteSet accepts)
        {
            Id = id;
            Nodes = nodes;
            IsComplete = isComplete;
            Accepts = accepts;
        }

        /// <summary>Dense id (0 is the dead state): indexes per-state caches such as token masks.</summary>
        public int Id { get; }

        /// <summary>The stack nodes with a terminal on top.</summary>
        public int[] Nodes { get; }

        /// <summary>True when the input so far is a complete sentence of the grammar.</summary>
        public bool IsComplete { get; }

        /// <summary>The bytes that can come next.</summary>
        public ByteSet Accepts { get; }

        /// <summary>Computed transitions by byte (null until first needed).</summary>
        public readonly AutomatonState?[] Transitions = new AutomatonState?[256];
    }
}
