using System;
using System.Collections.Generic;

namespace NpcSdk.Sampling
{
    /// <summary>
    /// Samplers applied in llama.cpp's default order (bias, penalties, top-k, top-p, min-p, temperature), then a seeded draw.
    /// </summary>
    public sealed class SamplerChain
    {
        private readonly List<ISampler> _samplers = new List<ISampler>();
        // One candidate list per thread, shared by every chain: a chain lives for one request, and its own vocabulary-
        // sized arrays (1.8 MiB for a 150k vocabulary) would be garbage a few seconds later. Samplers see it only
        // during Apply.
        [ThreadStatic] private static TokenCandidates? t_candidates;
        private readonly int _constraintIndex;
        private int _constraints;

        /// <summary>Builds the chain for <paramref name="options"/>.</summary>
        public SamplerChain(SamplingOptions options)
        {
            Options = options ?? throw new ArgumentNullException(nameof(options));
            Random = new SamplerRandom(options.Seed);
            if (options.LogitBias != null && options.LogitBias.Count > 0) _samplers.Add(new LogitBiasSampler(options.LogitBias));
            _samplers.Add(new PenaltySampler(options.PenaltyLastN, options.RepeatPenalty, options.PresencePenalty, options.FrequencyPenalty));
            _constraintIndex = _samplers.Count;
            if (options.Temperature > 0f)
            {
                _samplers.Add(new TopKSampler(options.TopK));
                _samplers.Add(new TopPSampler(options.TopP));
                _samplers.Add(new MinPSampler(options.MinP));
                _samplers.Add(new TemperatureSampler(options.Temperature));
            }
        }

        /// <summary>The options the chain was built from.</summary>
        public SamplingOptions Options { get; }

        /// <summary>The chain's random generator (its state is part of a save).</summary>
        public SamplerRandom Random { get; }

        /// <summary>Adds a sampler at the end of the chain, just before the draw.</summary>
        public void Add(ISampler sampler) => _samplers.Add(sampler);

        /// <summary>
        /// Adds a constraint (e.g. a grammar) after bias and penalties but before top-k/top-p/min-p/temperature, so the
        /// samplers that cut the list choose only among allowed tokens.
        /// </summary>
        public void AddConstraint(ISampler constraint) => _samplers.Insert(_constraintIndex + _constraints++, constraint);

        /// <summary>Chooses the next token from a row of logits and tells every <see cref="ITokenObserver"/> in the chain.</summary>
        public int Sample(ReadOnlySpan<float> logits, IReadOnlyList<int> history)
        {
            int token = Draw(logits, history);
            foreach (var s in _samplers)
                if (s is ITokenObserver observer) observer.Accept(token);
            return token;
        }

        private int Draw(ReadOnlySpan<float> logits, IReadOnlyList<int> history)
        {
            var candidates = t_candidates ??= new TokenCandidates();
            candidates.Reset(logits);
            foreach (var s in _samplers) s.Apply(candidates, history);
            if (Options.Temperature <= 0f)
            {
                var l = candidates.Logits;
                var ids = candidates.Ids;
                int best = 0;
                for (int i = 1; i < l.Length; i++)
                    if (l[i] > l[best] || (l[i] == l[best] && ids[i] < ids[best])) best = i;
                return ids[best];
            }
            candidates.Softmax();
            var probs = candidates.Probabilities;
            double r = Random.NextDouble();
            double cum = 0;
            for (int i = 0; i < probs.Length; i++)
            {
                cum += probs[i];
                if (r < cum) return candidates.Ids[i];
            }
            return candidates.Ids[probs.Length - 1];
        }
    }
}
