using System;
using System.Collections.Generic;

namespace NpcSdk.Sampling
{
    /// <summary>Repetition (multiplicative), presence and frequency (additive) penalties over the last N tokens.</summary>
    public sealed class PenaltySampler : ISampler
    {
        private readonly Dictionary<int, int> _counts = new Dictionary<int, int>();

        /// <summary>Creates the sampler; 1.0 / 0 / 0 disable the three penalties.</summary>
        public PenaltySampler(int lastN, float repeat, float presence, float frequency)
        {
            LastN = lastN; Repeat = repeat; Presence = presence; Frequency = frequency;
        }

        /// <summary>How many recent tokens count.</summary>
        public int LastN { get; }
        /// <summary>Divides positive logits (multiplies negative ones) of seen tokens.</summary>
        public float Repeat { get; }
        /// <summary>Subtracted once from every seen token.</summary>
        public float Presence { get; }
        /// <summary>Subtracted per occurrence.</summary>
        public float Frequency { get; }

        /// <inheritdoc/>
        public void Apply(TokenCandidates candidates, IReadOnlyList<int> history)
        {
            if (LastN == 0 || (Repeat == 1f && Presence == 0f && Frequency == 0f)) return;
            _counts.Clear();
            int from = LastN < 0 ? 0 : Math.Max(0, history.Count - LastN);
            for (int i = from; i < history.Count; i++)
            {
                _counts.TryGetValue(history[i], out int c);
                _counts[history[i]] = c + 1;
            }
            var ids = candidates.Ids;
            var logits = candidates.Logits;
            for (int i = 0; i < ids.Length; i++)
            {
                if (!_counts.TryGetValue(ids[i], out int count)) continue;
                float l = logits[i];
                l = l <= 0 ? l * Repeat : l / Repeat;
                l -= count * Frequency + Presence;
                logits[i] = l;
            }
            candidates.MarkUnsorted();
        }
    }

    /// <summary>Adds fixed biases to chosen tokens' logits (e.g. -infinity bans a token).</summary>
    public sealed class LogitBiasSampler : ISampler
    {
        private readonly IReadOnlyDictionary<int, float> _bias;

        /// <summary>Creates the sampler.</summary>
        public LogitBiasSampler(IReadOnlyDictionary<int, float> bias) => _bias = bias;

        /// <inheritdoc/>
        public void Apply(TokenCandidates candidates, IReadOnlyList<int> history)
        {
            var ids = candidates.Ids;
            var logits = candidates.Logits;
            for (int i = 0; i < ids.Length; i++)
                if (_bias.TryGetValue(ids[i], out float b)) logits[i] += b;
            candidates.MarkUnsorted();
        }
    }

    /// <summary>Keeps the K most likely tokens.</summary>
    public sealed class TopKSampler : ISampler
    {
        /// <summary>Creates the sampler; K ≤ 0 disables it.</summary>
        public TopKSampler(int k) => K = k;

        /// <summary>How many to keep.</summary>
        public int K { get; }

        /// <inheritdoc/>
        public void Apply(TokenCandidates candidates, IReadOnlyList<int> history)
        {
            if (K > 0) candidates.KeepTop(K);
        }
    }

    /// <summary>Keeps the smallest set of most likely tokens whose probabilities sum to at least P (nucleus sampling).</summary>
    public sealed class TopPSampler : ISampler
    {
        /// <summary>Creates the sampler; P ≥ 1 disables it.</summary>
        public TopPSampler(float p, int minKeep = 1) { P = p; MinKeep = minKeep; }

        /// <summary>Cumulative probability to keep.</summary>
        public float P { get; }
        /// <summary>Candidates always kept.</summary>
        public int MinKeep { get; }

        /// <inheritdoc/>
        public void Apply(TokenCandidates candidates, IReadOnlyList<int> history)
        {
            if (P >= 1f) return;
            candidates.Softmax();
            var probs = candidates.Probabilities;
            double cum = 0;
            int keep = probs.Length;
            for (int i = 0; i < probs.Length; i++)
            {
                cum += probs[i];
                if (cum >= P && i + 1 >= MinKeep)
                {
                    keep = i + 1;
                    break;
                }
            }
            candidates.Truncate(keep);
        }
    }

    /// <summary>Drops tokens whose probability is below P times the best token's.</summary>
    public sealed class MinPSampler : ISampler
    {
        /// <summary>Creates the sampler; P ≤ 0 disables it.</summary>
        public MinPSampler(float p, int minKeep = 1) { P = p; MinKeep = minKeep; }

        /// <summary>Fraction of the best probability a token needs.</summary>
        public float P { get; }
        /// <summary>Candidates always kept.</summary>
        public int MinKeep { get; }

        /// <inheritdoc/>
        public void Apply(TokenCandidates candidates, IReadOnlyList<int> history)
        {
            if (P <= 0f) return;
            candidates.Sort();
            var logits = candidates.Logits;
            // p_i >= P * p_max  <=>  logit_i >= logit_max + ln(P)
            float threshold = logits[0] + MathF.Log(P);
            int keep = 1;
            while (keep < logits.Length && (logits[keep] >= threshold || keep < MinKeep)) keep++;
            candidates.Truncate(keep);
        }
    }

    /// <summary>Divides logits by the temperature.</summary>
    public sealed class TemperatureSampler : ISampler
    {
        /// <summary>Creates the sampler.</summary>
        public TemperatureSampler(float temperature) => Temperature = temperature;

        /// <summary>The temperature (&gt; 0).</summary>
        public float Temperature { get; }

        /// <inheritdoc/>
        public void Apply(TokenCandidates candidates, IReadOnlyList<int> history)
        {
            if (Temperature == 1f) return;
            var logits = candidates.Logits;
            for (int i = 0; i < logits.Length; i++) logits[i] /= Temperature;
        }
    }
}
