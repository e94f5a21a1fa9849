using System;
using System.Collections.Generic;
using NpcSdk.Models;
using NpcSdk.Sampling;

namespace NpcSdk.Generation
{
    /// <summary>
    /// One conversation's state on a shared <see cref="Model"/>: its KV cache, token history and last logits.
    /// Not thread-safe; one session per NPC.
    /// </summary>
    public sealed class InferenceSession : IDisposable
    {
        private readonly Model _model;
        private readonly KvCache _cache;
        private readonly ForwardPass _pass;
        private readonly List<int> _tokens = new List<int>();
        private readonly float[] _logits;
        private bool _hasLogits;

        internal InferenceSession(Model model, SessionOptions options)
        {
            _model = model;
            var c = model.Config;
            int ctx = options.ContextLength > 0 ? options.ContextLength : Math.Min(c.ContextLength, 4096);
            if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be at least 1");
            ContextLength = ctx;
            _cache = new KvCache(c.LayerCount, ctx, c.KvDim, options.KvCacheType);
            _pass = new ForwardPass(model.Transformer, Math.Min(options.BatchSize, ctx), model.Pool);
            _logits = new float[c.VocabSize];
        }

        /// <summary>The model this session runs on.</summary>
        public Model Model => _model;

        /// <summary>Capacity in tokens.</summary>
        public int ContextLength { get; }

        /// <summary>Tokens evaluated so far (the next position).</summary>
        public int Position => _tokens.Count;

        /// <summary>Every token evaluated so far.</summary>
        public IReadOnlyList<int> Tokens => _tokens;

        /// <summary>Bytes held by this session's KV cache.</summary>
        public long KvCacheBytes => _cache.ByteSize;

        /// <summary>Logits after the last evaluated token.</summary>
        /// <exception cref="InvalidOperationException">Nothing was evaluated yet.</exception>
        public ReadOnlySpan<float> Logits
        {
            get
            {
                if (!_hasLogits) throw new InvalidOperationException("no token has been evaluated yet");
                return _logits;
            }
        }

        /// <summary>Evaluates tokens after those already in the session; afterwards <see cref="Logits"/> holds the last one's logits.</summary>
        /// <param name="tokens">The tokens to append.</param>
        /// <param name="onLogits">When given, called with (position, logits) for every evaluated token (slower: projects every row).</param>
        /// <exception cref="ContextFullException">The tokens do not fit in the remaining context.</exception>
        public void Evaluate(IReadOnlyList<int> tokens, Action<int, float[]>? onLogits = null)
        {
            if (tokens.Count == 0) return;
            if (Position + tokens.Count > ContextLength)
                throw new ContextFullException($"{tokens.Count} tokens do not fit: {Position} of {ContextLength} positions are used");
            var chunk = new int[_pass.MaxBatch];
            for (int start = 0; start < tokens.Count; start += _pass.MaxBatch)
            {
                int n = Math.Min(_pass.MaxBatch, tokens.Count - start);
                for (int i = 0; i < n; i++) chunk[i] = tokens[start + i];
                int pos = Position;
                _pass.Begin(chunk.AsSpan(0, n), pos);
                while (!_pass.LayersDone) _pass.RunNextLayer(_cache);
                for (int i = 0; i < n; i++) _tokens.Add(chunk[i]);
                if (onLogits != null)
                {
                    for (int i = 0; i < n; i++)
                    {
                        _pass.ComputeLogits(i, _logits);
                        onLogits(pos + i, _logits);
                    }
                }
                else if (start + n == tokens.Count)
                {
                    _pass.ComputeLogits(n - 1, _logits);
                }
            }
            _hasLogits = true;
        }

        /// <summary>Samples the next token from the current logits (does not evaluate it).</summary>
        public int Sample(SamplerChain sampler) => sampler.Sample(Logits, _tokens);

        /// <summary>
        /// Evaluates <paramref name="prompt"/>, then samples and evaluates up to <paramref name="maxTokens"/> tokens,
        /// yielding each; stops after an end-of-generation token (which is yielded).
        /// </summary>
        public IEnumerable<int> Generate(IReadOnlyList<int> prompt, int maxTokens, SamplerChain sampler)
        {
            Evaluate(prompt);
            var one = new int[1];
            for (int i = 0; i < maxTokens; i++)
            {
                int token = Sample(sampler);
                yield return token;
                if (_model.Tokenizer.IsEndOfGeneration(token)) yield break;
                if (i + 1 == maxTokens || Position >= ContextLength) yield break;
                one[0] = token;
                Evaluate(one);
            }
        }

        /// <summary>Forgets every token from <paramref name="position"/> on (the KV cache beyond it is simply reused).</summary>
        public void Rewind(int position)
        {
            if (position < 0 || position > Position) throw new ArgumentOutOfRangeException(nameof(position));
            _tokens.RemoveRange(position, _tokens.Count - position);
            _hasLogits = false;
        }

        /// <inheritdoc/>
        public void Dispose() { }
    }
}
