using System.Collections.Generic;

namespace NpcSdk.Models
{
    /// <summary>
    /// The scratch of one forward step (<see cref="ForwardPass"/>: activations for a batch, the vocabulary row) lent to
    /// a model's sessions for the length of a step, so a model with many sessions holds as many as run steps at once
    /// (one, or a few when a scheduler interleaves half-done steps) instead of one per session: for llama3.2-1b's shape
    /// and a 64-token batch that is 7 MiB each.
    /// </summary>
    /// <remarks>
    /// Only batches up to <see cref="LargestLent"/> tokens are lent: a session asking for more (a large prompt batch)
    /// keeps its own pass between steps, freed with it, so one such session does not leave its scratch in the model
    /// for good.
    /// </remarks>
    internal sealed class ForwardPassPool
    {
        /// <summary>The largest batch lent: the default <see cref="Generation.SessionOptions.BatchSize"/>.</summary>
        public static readonly int LargestLent = new Generation.SessionOptions().BatchSize;

        private readonly Transformer _model;
        private readonly Compute.WorkerPool _pool;
        private readonly List<ForwardPass> _free = new List<ForwardPass>();
        private int _created;

        public ForwardPassPool(Transformer model, Compute.WorkerPool pool)
        {
            _model = model;
            _pool = pool;
        }

        /// <summary>The largest batch among the passes waiting to be lent (0 when none wait).</summary>
        public int LargestWaiting
        {
            get
            {
                lock (_free)
                {
                    int largest = 0;
                    foreach (var pass in _free) largest = System.Math.Max(largest, pass.MaxBatch);
                    return largest;
                }
            }
        }

        /// <summary>Passes made so far (those lent out and those waiting).</summary>
        public int Created
        {
            get { lock (_free) return _created; }
        }

        /// <summary>
        /// A pass for steps of up to <paramref name="maxBatch"/> tokens: the smallest returned one that holds them (a
        /// pass's capacity never changes its arithmetic), or a new one of that size.
        /// </summary>
        public ForwardPass Rent(int maxBatch)
        {
            if (maxBatch > LargestLent) throw new System.ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, $"batches over {LargestLent} tokens are not lent");
            lock (_free)
            {
                int best = -1;
                for (int i = 0; i < _free.Count; i++)
                    if (_free[i].MaxBatch >= maxBatch && (best < 0 || _free[i].MaxBatch < _free[best].MaxBatch)) best = i;
                if (best >= 0)
                {
                    var pass = _free[best];
                    _free.RemoveAt(best);
                    return pass;
                }
                _created++;
            }
            return new ForwardPass(_model, maxBatch, _pool);
        }

        /// <summary>Takes back a pass no step uses any more.</summary>
        public void Return(ForwardPass pass)
        {
            lock (_free) _free.Add(pass);
        }
    }
}
