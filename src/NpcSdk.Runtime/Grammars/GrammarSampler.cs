using System;
using System.Collections.Generic;
using System.Text;
using NpcSdk.Sampling;
using NpcSdk.Tokenization;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// Constrains sampling to a <see cref="Grammar"/>: removes every candidate token whose bytes cannot continue the text
    /// generated so far. The end token (<c>&lt;/tool_call&gt;</c> for a tool-call grammar) is allowed only once the text is
    /// a complete sentence, and after it only end-of-generation tokens; control tokens are never matched as text.
    /// </summary>
    /// <remarks>
    /// <para>Cost: masks are cached per grammar state in the <see cref="Grammar"/> (states recur: inside a string, after a
    /// key), and a missing mask is one walk of the vocabulary trie from that state, which skips every subtree whose first
    /// byte the grammar rejects. Applying a mask costs O(allowed tokens) when few are allowed (a literal, a key, an enum
    /// value) and the candidates are as loaded from the logits, else one bit test per candidate. With
    /// <see cref="KeepTop"/> set (greedy or top-k downstream) the sampler keeps only the best allowed candidates, so the
    /// samplers after it sort K entries instead of the vocabulary; greedy checks the best candidate alone first; given
    /// candidates sorted by logit it stops at the K-th allowed one and, for a state without a cached mask, checks just the
    /// tokens it looked at.</para>
    /// <para>Order: the grammar must run before samplers that cut the candidate list (top-k, top-p, min-p), or they may
    /// leave only tokens the grammar forbids. <see cref="CreateChain"/> builds such a chain;
    /// <see cref="SamplerChain.Add"/> appends after them and is right only for greedy chains.</para>
    /// <para>Advancing: call <see cref="Accept"/> with each sampled token (a chain calls it through
    /// <see cref="ITokenObserver"/>). Without that, when the history passed to <see cref="Apply"/> changed since its
    /// previous call, its last token is taken as the one drawn in between: the session's token list, as
    /// <see cref="Generation.InferenceSession.Generate"/>, <see cref="Generation.InferenceSession.Run"/> and the scheduler
    /// pass it, keeps the grammar in step (the last token of a generation is then not seen). With an empty history,
    /// call <see cref="Accept"/>.</para>
    /// <para>Triggered use: given a start token (<c>&lt;tool_call&gt;</c>), the sampler lets every token through until the
    /// start token is drawn, constrains the tokens after it, and lets everything through again once the end token closed
    /// the sentence, so one sampler covers a whole reply with free speech and tool calls.</para>
    /// <para>One sampler per generation; not thread-safe. Samplers of one grammar share its caches across threads.</para>
    /// </remarks>
    public sealed class GrammarSampler : ISampler, ITokenObserver
    {
        private readonly GgufTokenizer _tokenizer;
        private readonly GrammarAutomaton _automaton;
        private readonly TokenMaskCache _masks;
        private readonly VocabularyTrie _trie;
        private readonly List<byte> _text = new List<byte>();
        private AutomatonState _state;
        private float[] _heapLogits = Array.Empty<float>();
        private int[] _heapIds = Array.Empty<int>();
        private bool _active;
        private bool _finished;
        private bool _drawPending;
        private int _historyCount = -1;
        private int _historyLast = -1;

        /// <summary>Constrains sampling from a model with <paramref name="tokenizer"/> to <paramref name="grammar"/>.</summary>
        /// <param name="grammar">The grammar.</param>
        /// <param name="tokenizer">The model's tokenizer (its vocabulary is indexed once and shared).</param>
        /// <param name="endTokenId">The token that closes a complete sentence. Null: the token spelled
        /// <see cref="Grammar.EndMarker"/> when the grammar has one and the vocabulary has it as a single token, else none,
        /// and then the end-of-generation tokens end a complete sentence.</param>
        /// <param name="startTokenId">Null: the grammar applies from the first token. Otherwise the grammar applies only
        /// after this token was drawn (say <c>&lt;tool_call&gt;</c>), until the end token; other tokens pass unchanged.</param>
        public GrammarSampler(Grammar grammar, GgufTokenizer tokenizer, int? endTokenId = null, int? startTokenId = null)
        {
            Grammar = grammar ?? throw new ArgumentNullException(nameof(grammar));
            _tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
            int end = endTokenId ?? FindEndToken(grammar, tokenizer);
            if (end >= tokenizer.VocabSize || (endTokenId.HasValue && end < 0))
                throw new ArgumentOutOfRangeException(nameof(endTokenId), endTokenId, $"must be a token id below {tokenizer.VocabSize}");
            EndTokenId = end >= 0 ? end : (int?)null;
            if (startTokenId.HasValue && (uint)startTokenId.Value >= (uint)tokenizer.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(startTokenId), startTokenId, $"must be a token id below {tokenizer.VocabSize}");
            if (startTokenId.HasValue && !EndTokenId.HasValue)
                throw new ArgumentException("a triggered grammar needs an end token", nameof(endTokenId));
            StartTokenId = startTokenId;
            _active = !startTokenId.HasValue;
            _trie = VocabularyTrie.For(tokenizer);
            _automaton = grammar.Automaton;
            _masks = grammar.MaskCache(_trie, end);
            _state = _automaton.Start;
        }

        /// <summary>The grammar.</summary>
        public Grammar Grammar { get; }

        /// <summary>The token that closes a complete sentence, or null (end-of-generation tokens close it).</summary>
        public int? EndTokenId { get; }

        /// <summary>The token after which the grammar applies, or null (it applies from the start).</summary>
        public int? StartTokenId { get; }

        /// <summary>True while the grammar constrains the tokens (always, without a start token; else between start and end token).</summary>
        public bool IsActive => _active && !_finished;

        /// <summary>Sentences completed and closed with the end token (with a start token: tool calls made).</summary>
        public int CompletedCount { get; private set; }

        /// <summary>
        /// When &gt; 0, keep only the best this many allowed candidates (by logit, lower id first on ties): set it to the
        /// K of a top-k sampler that follows, or 1 for greedy decoding. 0 (default) keeps every allowed candidate.
        /// </summary>
        public int KeepTop { get; set; }

        /// <summary>True when the text so far is a complete sentence (the end token is allowed now).</summary>
        public bool IsComplete => IsActive && _state.IsComplete;

        /// <summary>True once the end token (or, without one, an end-of-generation token) was accepted.</summary>
        public bool IsFinished => _finished;

        /// <summary>The text the grammar accepted so far, or of the last sentence once closed (UTF-8; end token not included).</summary>
        public string Text => Encoding.UTF8.GetString(_text.ToArray());

        /// <summary>Masks computed so far for this grammar and vocabulary (cache misses, shared by its samplers).</summary>
        public int MasksComputed => _masks.MasksComputed;

        /// <summary>Automaton states this grammar has discovered so far.</summary>
        public int StatesDiscovered => _automaton.StateCount;

        /// <inheritdoc/>
        /// <exception cref="GrammarViolationException">No candidate can continue the grammar.</exception>
        public void Apply(TokenCandidates candidates, IReadOnlyList<int> history)
        {
            if (candidates == null) throw new ArgumentNullException(nameof(candidates));
            // No Accept since the last Apply: a token was drawn if the history changed (it ends with the draw).
            int historyCount = history?.Count ?? 0;
            int historyLast = historyCount > 0 ? history![historyCount - 1] : -1;
            if (_drawPending && historyCount > 0 && (historyCount != _historyCount || historyLast != _historyLast))
            {
                Accept(historyLast);
                historyLast = historyCount > 0 ? history![historyCount - 1] : -1;
            }
            _historyCount = historyCount;
            _historyLast = historyLast;
            if (!_active)
            {
                _drawPending = true;
                return;
            }

            Span<int> ids = candidates.Ids;
            Span<float> logits = candidates.Logits;
            int count = ids.Length, kept = 0, keep = KeepTop > 0 ? KeepTop : int.MaxValue;
            TokenMask? mask = _finished ? _masks.FinishedMask : _masks.TryGet(_state);
            int vocab = _trie.VocabSize;

            if (candidates.Sorted && keep < count)
            {
                // Best first: stop at the K-th allowed token; without a cached mask, check only the tokens looked at.
                for (int i = 0; i < count && kept < keep; i++)
                {
                    int id = ids[i];
                    if (mask != null ? !mask.Contains(id) : !_masks.Allows(_state, id)) continue;
                    ids[kept] = id;
                    logits[kept] = logits[i];
                    kept++;
                }
            }
            else
            {
                mask ??= _masks.Get(_state);
                if (mask.Sparse != null && GatherSparse(ids, logits, mask.Sparse))
                {
                    // Few tokens allowed and the candidates still in id order: O(allowed), not O(vocabulary).
                    kept = mask.Sparse.Length;
                }
                else if (keep == 1)
                {
                    // Most tokens allowed (inside a string): the best candidate usually is, so check it alone first.
                    int best = mask.Count * 2 > vocab ? ArgMax(ids, logits) : -1;
                    if (best < 0 || !mask.Contains(ids[best])) best = BestAllowed(ids, logits, mask.Bits, vocab);
                    if (best >= 0)
                    {
                        Swap(ids, logits, 0, best);
                        kept = 1;
                        candidates.MarkUnsorted();
                    }
                }
                else if (keep < count)
                {
                    // One pass, no compaction: a heap of the best K allowed, entered rarely once full.
                    kept = TopAllowed(ids, logits, mask.Bits, vocab, keep);
                    candidates.MarkUnsorted();
                }
                else
                {
                    kept = Compact(ids, logits, mask.Bits, vocab);
                }
                if (kept > keep)
                {
                    SelectBest(ids.Slice(0, kept), logits.Slice(0, kept), keep);
                    kept = keep;
                    candidates.MarkUnsorted();
                }
            }

            if (kept == 0)
            {
                throw new GrammarViolationException(
                    $"no candidate token can continue the grammar after \"{Text}\" (expecting {_automaton.Describe(_state)}); " +
                    "run the grammar before samplers that cut the candidate list (GrammarSampler.CreateChain)");
            }
            candidates.Truncate(kept);
            _drawPending = true;
        }

        /// <summary>Advances the grammar over a sampled token.</summary>
        /// <exception cref="GrammarViolationException">The grammar does not allow the token here (the state is unchanged).</exception>
        public void Accept(int token)
        {
            _drawPending = false;
            if ((uint)token >= (uint)_trie.VocabSize) throw Violation(token, "is not in the vocabulary");
            if (!_active)
            {
                if (token == StartTokenId)
                {
                    _active = true;
                    _state = _automaton.Start;
                    _text.Clear();
                }
                return;
            }
            if (_finished)
            {
                if (Array.IndexOf(_trie.EndOfGeneration, token) < 0) throw Violation(token, "follows the end of the grammar (only end-of-generation tokens may)");
                return;
            }
            if (EndTokenId.HasValue && token == EndTokenId.Value)
            {
                if (!_state.IsComplete) throw Violation(token, $"ends an incomplete sentence (expecting {_automaton.Describe(_state)})");
                CompletedCount++;
                if (StartTokenId.HasValue) _active = false; // wait for the next start token
                else _finished = true;
                return;
            }
            if (!_trie.InTrie[token])
            {
                bool ends = !EndTokenId.HasValue && _state.IsComplete && Array.IndexOf(_trie.EndOfGeneration, token) >= 0;
                if (!ends) throw Violation(token, "is a control or end token the grammar does not allow here");
                CompletedCount++;
                _finished = true;
                return;
            }
            byte[] piece = _trie.Pieces[token];
            AutomatonState next = _automaton.Next(_state, piece);
            if (next == _automaton.Dead) throw Violation(token, $"does not fit the grammar (expecting {_automaton.Describe(_state)})");
            _state = next;
            _text.AddRange(piece);
        }

        /// <summary>Whether the grammar allows <paramref name="token"/> next.</summary>
        public bool CanAccept(int token)
        {
            if (!_active) return (uint)token < (uint)_trie.VocabSize;
            if (_finished) return Array.IndexOf(_trie.EndOfGeneration, token) >= 0;
            return _masks.Allows(_state, token);
        }

        /// <summary>Back to the start (of the grammar, or to waiting for the start token).</summary>
        public void Reset()
        {
            _state = _automaton.Start;
            _active = !StartTokenId.HasValue;
            _finished = false;
            _drawPending = false;
            _historyCount = -1;
            _historyLast = -1;
            CompletedCount = 0;
            _text.Clear();
        }

        /// <summary>
        /// A sampler chain for <paramref name="options"/> with this grammar placed before the samplers that cut the
        /// candidate list: logit bias, penalties, grammar, top-k, top-p, min-p, temperature, draw. Sets
        /// <see cref="KeepTop"/> to the top-k (1 for greedy).
        /// </summary>
        /// <remarks>
        /// Until <see cref="SamplerChain"/> can insert a constraint itself, the chain is built from options without the
        /// cutting samplers (and temperature 1) followed by this sampler and the cutting samplers added back, so
        /// the chain's <see cref="SamplerChain.Options"/> show those reduced options and a save of it does not restore the
        /// cutting samplers or the grammar.
        /// </remarks>
        public SamplerChain CreateChain(SamplingOptions options)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            bool greedy = options.Temperature <= 0f;
            var head = new SamplingOptions
            {
                Temperature = greedy ? options.Temperature : 1f,
                TopK = 0,
                TopP = 1f,
                MinP = 0f,
                RepeatPenalty = options.RepeatPenalty,
                PresencePenalty = options.PresencePenalty,
                FrequencyPenalty = options.FrequencyPenalty,
                PenaltyLastN = options.PenaltyLastN,
                LogitBias = options.LogitBias,
                Seed = options.Seed,
            };
            var chain = new SamplerChain(head);
            chain.Add(this);
            if (greedy)
            {
                KeepTop = 1;
                return chain;
            }
            KeepTop = options.TopK > 0 ? options.TopK : 0;
            if (options.TopK > 0) chain.Add(new TopKSampler(options.TopK));
            if (options.TopP < 1f) chain.Add(new TopPSampler(options.TopP));
            if (options.MinP > 0f) chain.Add(new MinPSampler(options.MinP));
            if (options.Temperature != 1f) chain.Add(new TemperatureSampler(options.Temperature));
            return chain;
        }

        /// <summary>Moves the allowed candidates to the front, in order; returns how many there are.</summary>
        private static unsafe int Compact(Span<int> ids, Span<float> logits, ulong[] mask, int vocab)
        {
            int kept = 0, n = ids.Length;
            fixed (int* id = ids)
            fixed (float* logit = logits)
            fixed (ulong* bits = mask)
            {
                // Branch-free: every candidate is written at the next slot, which only advances when it is allowed.
                for (int i = 0; i < n; i++)
                {
                    int t = id[i];
                    float l = logit[i];
                    ulong allowed = (uint)t < (uint)vocab ? (bits[t >> 6] >> (t & 63)) & 1 : 0;
                    id[kept] = t;
                    logit[kept] = l;
                    kept += (int)allowed;
                }
            }
            return kept;
        }

        /// <summary>
        /// Puts the best <paramref name="k"/> allowed candidates (higher logit, then lower id) at the front, unordered, and
        /// returns how many there are (fewer when fewer are allowed). A min-heap of the best so far: once it is full, a
        /// candidate costs a mask test and one comparison with the worst kept.
        /// </summary>
        private unsafe int TopAllowed(Span<int> ids, Span<float> logits, ulong[] mask, int vocab, int k)
        {
            if (_heapIds.Length < k)
            {
                _heapIds = new int[k];
                _heapLogits = new float[k];
            }
            int m = 0, n = ids.Length;
            fixed (int* id = ids)
            fixed (float* logit = logits)
            fixed (ulong* bits = mask)
            fixed (int* heapId = _heapIds)
            fixed (float* heapLogit = _heapLogits)
            {
                for (int i = 0; i < n; i++)
                {
                    int t = id[i];
                    if ((uint)t >= (uint)vocab || ((bits[t >> 6] >> (t & 63)) & 1) == 0) continue;
                    float l = logit[i];
                    if (m < k)
                    {
                        // Sift up: the root is the worst kept.
                        int j = m++;
                        while (j > 0)
                        {
                            int parent = (j - 1) >> 1;
                            if (!Better(heapLogit[parent], heapId[parent], l, t)) break;
                            heapLogit[j] = heapLogit[parent];
                            heapId[j] = heapId[parent];
                            j = parent;
                        }
                        heapLogit[j] = l;
                        heapId[j] = t;
                        continue;
                    }
                    if (!Better(l, t, heapLogit[0], heapId[0])) continue;
                    // Replace the worst and sift down.
                    int at = 0;
                    while (true)
                    {
                        int child = 2 * at + 1;
                        if (child >= m) break;
                        if (child + 1 < m && Better(heapLogit[child], heapId[child], heapLogit[child + 1], heapId[child + 1])) child++;
                        if (!Better(l, t, heapLogit[child], heapId[child])) break;
                        heapLogit[at] = heapLogit[child];
                        heapId[at] = heapId[child];
                        at = child;
                    }
                    heapLogit[at] = l;
                    heapId[at] = t;
                }
                for (int j = 0; j < m; j++)
                {
                    id[j] = heapId[j];
                    logit[j] = heapLogit[j];
                }
            }
            return m;
        }

        /// <summary>
        /// When every id of <paramref name="sparse"/> sits at its own index (the candidates as loaded from a logits row),
        /// moves those candidates to the front in id order and returns true; else changes nothing and returns false.
        /// </summary>
        private static bool GatherSparse(Span<int> ids, Span<float> logits, int[] sparse)
        {
            foreach (int id in sparse)
                if (id >= ids.Length || ids[id] != id) return false;
            // Ascending ids: slot k is written only after every id at or below it was read.
            for (int k = 0; k < sparse.Length; k++)
            {
                int id = sparse[k];
                ids[k] = id;
                logits[k] = logits[id];
            }
            return true;
        }

        /// <summary>The index of the best candidate (higher logit, then lower id), or -1 when there is none.</summary>
        private static unsafe int ArgMax(Span<int> ids, Span<float> logits)
        {
            int best = -1, n = ids.Length;
            float bestLogit = float.NegativeInfinity;
            fixed (float* logit = logits)
            {
                for (int i = 0; i < n; i++)
                {
                    float l = logit[i];
                    if (l > bestLogit || (l == bestLogit && (best < 0 || ids[i] < ids[best])))
                    {
                        best = i;
                        bestLogit = l;
                    }
                }
            }
            return best;
        }

        /// <summary>The index of the best allowed candidate (higher logit, then lower id), or -1.</summary>
        private static unsafe int BestAllowed(Span<int> ids, Span<float> logits, ulong[] mask, int vocab)
        {
            const int NegativeInfinityBits = unchecked((int)0xFF800000);
            int best = -1, bestId = int.MaxValue, n = ids.Length;
            float bestLogit = float.NegativeInfinity;
            fixed (int* id = ids)
            fixed (float* logit = logits)
            fixed (ulong* bits = mask)
            {
                for (int i = 0; i < n; i++)
                {
                    // Forbidden candidates read as -infinity, without a branch on the mask (which would mispredict).
                    int t = id[i];
                    int allowed = (uint)t < (uint)vocab ? (int)((bits[t >> 6] >> (t & 63)) & 1) : 0;
                    int select = -allowed;
                    int masked = (((int*)logit)[i] & select) | (NegativeInfinityBits & ~select);
                    float l = *(float*)&masked;
                    if (l > bestLogit || (l == bestLogit && allowed != 0 && t < bestId))
                    {
                        best = i;
                        bestLogit = l;
                        bestId = t;
                    }
                }
            }
            return best;
        }

        /// <summary>Moves the best <paramref name="k"/> candidates (higher logit, then lower id) to the front (quickselect).</summary>
        internal static void SelectBest(Span<int> ids, Span<float> logits, int k)
        {
            if (k == 1)
            {
                int best = 0;
                for (int i = 1; i < ids.Length; i++)
                    if (Better(logits[i], ids[i], logits[best], ids[best])) best = i;
                Swap(ids, logits, 0, best);
                return;
            }
            int lo = 0, hi = ids.Length - 1, target = k - 1;
            while (lo < hi)
            {
                int mid = lo + ((hi - lo) >> 1);
                // Median of three as the pivot.
                if (Better(logits[mid], ids[mid], logits[lo], ids[lo])) Swap(ids, logits, mid, lo);
                if (Better(logits[hi], ids[hi], logits[lo], ids[lo])) Swap(ids, logits, hi, lo);
                if (Better(logits[hi], ids[hi], logits[mid], ids[mid])) Swap(ids, logits, hi, mid);
                float pivotLogit = logits[mid];
                int pivotId = ids[mid];
                int i = lo, j = hi;
                while (i <= j)
                {
                    while (Better(logits[i], ids[i], pivotLogit, pivotId)) i++;
                    while (Better(pivotLogit, pivotId, logits[j], ids[j])) j--;
                    if (i <= j)
                    {
                        Swap(ids, logits, i, j);
                        i++;
                        j--;
                    }
                }
                if (target <= j) hi = j;
                else if (target >= i) lo = i;
                else break;
            }
        }

        private static bool Better(float logitA, int idA, float logitB, int idB) => logitA > logitB || (logitA == logitB && idA < idB);

        private static void Swap(Span<int> ids, Span<float> logits, int a, int b)
        {
            int id = ids[a]; ids[a] = ids[b]; ids[b] = id;
            float l = logits[a]; logits[a] = logits[b]; logits[b] = l;
        }

        private static int FindEndToken(Grammar grammar, GgufTokenizer tokenizer)
        {
            if (grammar.EndMarker == null) return -1;
            int[] ids = tokenizer.Encode(grammar.EndMarker, addSpecial: false, parseSpecial: true);
            return ids.Length == 1 ? ids[0] : -1;
        }

        private GrammarViolationException Violation(int token, string what)
        {
            string text = (uint)token < (uint)_trie.VocabSize ? _tokenizer.TokenText(token) : "?";
            return new GrammarViolationException($"token {token} '{text}' {what}; text so far \"{Text}\"", token);
        }
    }
}
