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

        /// <summary>Keeps the best <paramref name="k"/>, sorted (ties: lower id first).</summary>
        /// <remarks>For k much smaller than the list, a size-k heap selects them in O(n log k) instead of sorting all.</remarks>
        public void KeepTop(int k)
        {
            if (k < 1) k = 1;
            if (Sorted || k * 8 > Count)
            {
                Sort();
                Truncate(k);
                return;
            }
            // Min-heap of the best k seen so far: root = the worst of them (lowest logit, highest id on ties).
            int n = 0;
            for (int i = 0; i < Count; i++)
            {
                float l = _logits[i];
                int id = _ids[i];
                if (n < k)
                {
                    int c = n++;
                    while (c > 0)
                    {
                        int parent = (c - 1) / 2;
                        if (!Worse(l, id, _logits[parent], _ids[parent])) break;
                        _logits[c] = _logits[parent];
                        _ids[c] = _ids[parent];
                        c = parent;
                    }
                    _logits[c] = l;
                    _ids[c] = id;
                }
                else if (Worse(_logits[0], _ids[0], l, id))
                {
                    int c = 0;
                    while (true)
                    {
                        int left = 2 * c + 1;
                        if (left >= k) break;
                        int child = left + 1 < k && Worse(_logits[left + 1], _ids[left + 1], _logits[left], _ids[left]) ? left + 1 : left;
                        if (!Worse(_logits[child], _ids[child], l, id)) break;
                        _logits[c] = _logits[child];
                        _ids[c] = _ids[child];
                        c = child;
                    }
                    _logits[c] = l;
                    _ids[c] = id;
                }
            }
            Count = n;
            Sorted = false;
            Sort();
        }

        /// <summary>True when (la, ia) ranks below (lb, ib): a lower logit, or an equal logit and a higher id.</summary>
        private static bool Worse(float la, int ia, float lb, int ib) => la < lb || (la == lb && ia > ib);

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
