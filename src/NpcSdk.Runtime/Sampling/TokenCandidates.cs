using System;

namespace NpcSdk.Sampling
{
    /// <summary>
    /// The candidate tokens of one sampling step: ids with their logits, and probabilities once a sampler computed them.
    /// Samplers narrow, reorder or reweight this list in place.
    /// </summary>
    public sealed class TokenCandidates
    {
        private int[] _ids = Array.Empty<int>();
        private float[] _logits = Array.Empty<float>();
        private float[] _probs = Array.Empty<float>();

        /// <summary>Number of live candidates.</summary>
        public int Count { get; private set; }

        /// <summary>True when the candidates are sorted by descending logit.</summary>
        public bool Sorted { get; private set; }

        /// <summary>Candidate ids (first <see cref="Count"/> are live).</summary>
        public Span<int> Ids => _ids.AsSpan(0, Count);

        /// <summary>Candidate logits.</summary>
        public Span<float> Logits => _logits.AsSpan(0, Count);

        /// <summary>Candidate probabilities (valid after <see cref="Softmax"/>).</summary>
        public Span<float> Probabilities => _probs.AsSpan(0, Count);

        /// <summary>Loads every vocabulary entry from a logits row.</summary>
        public void Reset(ReadOnlySpan<float> logits)
        {
            if (_ids.Length < logits.Length)
            {
                _ids = new int[logits.Length];
                _logits = new float[logits.Length];
                _probs = new float[logits.Length];
            }
            for (int i = 0; i < logits.Length; i++) _ids[i] = i;
            logits.CopyTo(_logits);
            Count = logits.Length;
            Sorted = false;
        }

        /// <summary>Keeps only the first <paramref name="n"/> candidates.</summary>
        public void Truncate(int n)
        {
            if (n < 1) n = 1;
            if (n < Count) Count = n;
        }

        /// <summary>Sorts by descending logit; ties keep the lower id first (deterministic).</summary>
        public void Sort()
        {
            if (Sorted) return;
            Array.Sort(_logits, _ids, 0, Count, DescendingLogit.Instance);
            // Array.Sort is not stable: order equal logits by id so results never depend on the sort's pivots.
            int i = 0;
            while (i < Count)
            {
                int j = i + 1;
                while (j < Count && _logits[j] == _logits[i]) j++;
                if (j - i > 1) Array.Sort(_ids, i, j - i);
                i = j;
            }
            Sorted = true;
        }

        /// <summary>Sorts, then keeps the best <paramref name="k"/>.</summary>
        public void KeepTop(int k)
        {
            Sort();
            Truncate(k);
        }

        /// <summary>Computes probabilities from logits (sorted first).</summary>
        public void Softmax()
        {
            Sort();
            float max = _logits[0];
            double sum = 0;
            for (int i = 0; i < Count; i++)
            {
                float e = MathF.Exp(_logits[i] - max);
                _probs[i] = e;
                sum += e;
            }
            for (int i = 0; i < Count; i++) _probs[i] = (float)(_probs[i] / sum);
        }

        /// <summary>Marks the list as unsorted after a sampler changed logits.</summary>
        public void MarkUnsorted() => Sorted = false;

        private sealed class DescendingLogit : System.Collections.Generic.IComparer<float>
        {
            public static readonly DescendingLogit Instance = new DescendingLogit();
            public int Compare(float x, float y) => y.CompareTo(x);
        }
    }
}
