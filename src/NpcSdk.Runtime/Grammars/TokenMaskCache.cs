using System;
using System.Threading;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// Token masks of one grammar over one vocabulary: per automaton state, one bit per token, computed by walking the
    /// vocabulary trie from that state and kept, since states recur (every character inside a string, every spot after a
    /// key). The special tokens are decided here too: the end token (or, without one, the end-of-generation tokens) only in
    /// complete states; control tokens never. Thread-safe; masks are computed under a lock and published once.
    /// </summary>
    internal sealed class TokenMaskCache
    {
        /// <summary>Masks kept at most (bytes); past this, masks of new states are computed each time and not stored.</summary>
        public const long DefaultBudgetBytes = 64L << 20;

        private readonly GrammarAutomaton _automaton;
        private readonly VocabularyTrie _trie;
        private readonly object _gate = new object();
        private readonly int _words;
        private TokenMask?[] _masks = new TokenMask?[64];
        private long _bytesUsed;
        private AutomatonState[] _path;

        public TokenMaskCache(GrammarAutomaton automaton, VocabularyTrie trie, int endToken)
        {
            _automaton = automaton;
            _trie = trie;
            EndToken = endToken;
            _words = (trie.VocabSize + 63) >> 6;
            _path = new AutomatonState[trie.MaxDepth + 1];
            var finished = new ulong[_words];
            foreach (int id in trie.EndOfGeneration) Set(finished, id);
            FinishedMask = new TokenMask(finished, trie.VocabSize);
        }

        public VocabularyTrie Trie => _trie;

        /// <summary>The token that closes the grammar's text, or -1 (then end-of-generation tokens do).</summary>
        public int EndToken { get; }

        /// <summary>The mask once the end token was accepted: end-of-generation tokens only.</summary>
        public TokenMask FinishedMask { get; }

        /// <summary>Masks computed (cache misses), for tests and diagnostics.</summary>
        public int MasksComputed { get; private set; }

        public long BudgetBytes { get; set; } = DefaultBudgetBytes;

        /// <summary>The cached mask of <paramref name="state"/>, or null when it was not computed yet.</summary>
        public TokenMask? TryGet(AutomatonState state)
        {
            TokenMask?[] masks = Volatile.Read(ref _masks);
            return state.Id < masks.Length ? Volatile.Read(ref masks[state.Id]) : null;
        }

        /// <summary>The mask of <paramref name="state"/>, from the cache or computed now.</summary>
        public TokenMask Get(AutomatonState state) => TryGet(state) ?? Compute(state);

        private TokenMask Compute(AutomatonState state)
        {
            lock (_gate)
            {
                TokenMask? known = TryGet(state);
                if (known != null) return known;
                var mask = new TokenMask(Walk(state), _trie.VocabSize);
                MasksComputed++;
                long size = mask.Bits.Length * 8L + (mask.Sparse?.Length ?? 0) * 4L;
                if (_bytesUsed + size <= BudgetBytes)
                {
                    if (state.Id >= _masks.Length)
                    {
                        var grown = new TokenMask?[Math.Max(_masks.Length * 2, state.Id + 1)];
                        Array.Copy(_masks, grown, _masks.Length);
                        Volatile.Write(ref _masks, grown);
                    }
                    Volatile.Write(ref _masks[state.Id], mask);
                    _bytesUsed += size;
                }
                return mask;
            }
        }

        /// <summary>Whether <paramref name="token"/> is allowed in <paramref name="state"/>, without computing a mask.</summary>
        public bool Allows(AutomatonState state, int token)
        {
            if ((uint)token >= (uint)_trie.VocabSize) return false;
            if (token == EndToken) return state.IsComplete;
            if (!_trie.InTrie[token]) return EndToken < 0 && state.IsComplete && Array.IndexOf(_trie.EndOfGeneration, token) >= 0;
            return _automaton.Next(state, _trie.Pieces[token]) != _automaton.Dead;
        }

        private ulong[] Walk(AutomatonState start)
        {
            var mask = new ulong[_words];
            VocabularyTrie t = _trie;
            byte[] nodeByte = t.NodeByte;
            int[] depth = t.NodeDepth, skip = t.NodeSkip, tokenStart = t.TokenStart, tokenIds = t.TokenIds;
            AutomatonState dead = _automaton.Dead;
            AutomatonState[] path = _path;
            path[0] = start;
            int n = t.NodeCount;
            int i = 1;
            while (i < n)
            {
                AutomatonState from = path[depth[i] - 1];
                AutomatonState next = _automaton.Next(from, nodeByte[i]);
                if (next == dead)
                {
                    i = skip[i];
                    continue;
                }
                path[depth[i]] = next;
                for (int k = tokenStart[i], end = tokenStart[i + 1]; k < end; k++)
                {
                    int id = tokenIds[k];
                    mask[id >> 6] |= 1UL << (id & 63);
                }
                i++;
            }
            Array.Clear(path, 0, path.Length);

            if (EndToken >= 0)
            {
                Clear(mask, EndToken); // its text may fit the grammar (inside a string); it only ever ends it
                if (start.IsComplete) Set(mask, EndToken);
            }
            else if (start.IsComplete)
            {
                foreach (int id in t.EndOfGeneration) Set(mask, id);
            }
            return mask;
        }

        private static void Set(ulong[] mask, int id) => mask[id >> 6] |= 1UL << (id & 63);

        private static void Clear(ulong[] mask, int id) => mask[id >> 6] &= ~(1UL << (id & 63));
    }
}
