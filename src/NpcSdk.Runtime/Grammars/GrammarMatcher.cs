using System;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// Matches text against a <see cref="Grammar"/> incrementally, byte by byte, so a token may span grammar elements and
    /// a UTF-8 character may be split across tokens. The state is one reference into the grammar's lazily built
    /// automaton: <see cref="Clone"/>, <see cref="Checkpoint"/> and <see cref="Rollback"/> cost nothing, and a byte step is
    /// an array read once that transition has been seen.
    /// </summary>
    /// <remarks>A matcher is not thread-safe; matchers of one grammar may run on different threads.</remarks>
    public sealed class GrammarMatcher
    {
        private readonly GrammarAutomaton _automaton;
        private AutomatonState _state;

        /// <summary>A matcher at the start of <paramref name="grammar"/>.</summary>
        public GrammarMatcher(Grammar grammar)
        {
            if (grammar == null) throw new ArgumentNullException(nameof(grammar));
            Grammar = grammar;
            _automaton = grammar.Automaton;
            _state = _automaton.Start;
        }

        private GrammarMatcher(GrammarMatcher other)
        {
            Grammar = other.Grammar;
            _automaton = other._automaton;
            _state = other._state;
            BytesAccepted = other.BytesAccepted;
        }

        /// <summary>The grammar.</summary>
        public Grammar Grammar { get; }

        /// <summary>True when the bytes accepted so far form a complete sentence of the grammar.</summary>
        public bool IsComplete => _state.IsComplete;

        /// <summary>True when some byte can still follow (false once a grammar that allows nothing more is complete).</summary>
        public bool CanContinue => !_state.Accepts.IsEmpty;

        /// <summary>Bytes accepted since the start (or the last <see cref="Reset"/>).</summary>
        public long BytesAccepted { get; private set; }

        internal AutomatonState State => _state;

        /// <summary>Accepts one byte; returns false (and stays unchanged) when the grammar does not allow it here.</summary>
        public bool Accept(byte b)
        {
            AutomatonState next = _automaton.Next(_state, b);
            if (next == _automaton.Dead) return false;
            _state = next;
            BytesAccepted++;
            return true;
        }

        /// <summary>Accepts all of <paramref name="bytes"/> or, when the grammar does not allow them, none (returns false).</summary>
        public bool Accept(ReadOnlySpan<byte> bytes)
        {
            AutomatonState next = _automaton.Next(_state, bytes);
            if (next == _automaton.Dead) return false;
            _state = next;
            BytesAccepted += bytes.Length;
            return true;
        }

        /// <summary>Whether <paramref name="bytes"/> could be accepted now (without accepting them).</summary>
        public bool CanAccept(ReadOnlySpan<byte> bytes) => _automaton.Next(_state, bytes) != _automaton.Dead;

        /// <summary>Whether <paramref name="b"/> could be accepted now.</summary>
        public bool CanAccept(byte b) => _state.Accepts.Contains(b);

        /// <summary>An independent matcher in the same state.</summary>
        public GrammarMatcher Clone() => new GrammarMatcher(this);

        /// <summary>The current state, to return to with <see cref="Rollback"/>.</summary>
        public GrammarCheckpoint Checkpoint() => new GrammarCheckpoint(_automaton, _state, BytesAccepted);

        /// <summary>Returns to a state taken with <see cref="Checkpoint"/> from a matcher of the same grammar.</summary>
        public void Rollback(GrammarCheckpoint checkpoint)
        {
            if (checkpoint.Automaton != _automaton)
                throw new ArgumentException("the checkpoint was taken from a matcher of another grammar", nameof(checkpoint));
            _state = checkpoint.State!;
            BytesAccepted = checkpoint.BytesAccepted;
        }

        /// <summary>Back to the start of the grammar.</summary>
        public void Reset()
        {
            _state = _automaton.Start;
            BytesAccepted = 0;
        }

        internal void SetState(AutomatonState state, long bytesAccepted)
        {
            _state = state;
            BytesAccepted = bytesAccepted;
        }
    }

    /// <summary>A saved <see cref="GrammarMatcher"/> state (a reference; taking one allocates nothing).</summary>
    public readonly struct GrammarCheckpoint
    {
        internal GrammarCheckpoint(GrammarAutomaton automaton, AutomatonState state, long bytesAccepted)
        {
            Automaton = automaton;
            State = state;
            BytesAccepted = bytesAccepted;
        }

        internal GrammarAutomaton? Automaton { get; }

        internal AutomatonState? State { get; }

        /// <summary>Bytes the matcher had accepted when the checkpoint was taken.</summary>
        public long BytesAccepted { get; }
    }
}
