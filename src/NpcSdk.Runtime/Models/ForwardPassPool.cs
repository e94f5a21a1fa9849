using System.Collections.Generic;

namespace NpcSdk.Models
{
    /// <summary>
    /// The scratch of one forward step (<see cref="ForwardPass"/>: activations for a batch, the vocabulary row) lent to
    /// a model's sessions for the length of a step, so a model with many sessions holds as many as run steps at once
    /// (one, or a few when a scheduler interleaves half-done steps) instead of one per session: for llama3.2-1b's shape
    /// and a 64-token batch that is 7 MiB each.
    /// </summary>
    internal sealed class ForwardPassPool
    {
        private readonly Transformer _model;
        private readonly Compute.WorkerPool _pool;
        private readonly List<ForwardPass> _free = new List<ForwardPass>();
        private int _created;

        public ForwardPassPool(Transformer model, Compute.WorkerPool pool)
        {
            _model = model;
            _pool = pool;
        }

        /// <summary>Passes made so far (those lent out and those waiting).</summary>
        public int Created
        {
            get { lock (_free) return _created; }
        }

        /// <summary>A pass for steps of up to <paramref name="maxBatch"/> tokens: a returned one of that size, or a new one.</summary>
        public ForwardPass Rent(int maxBatch)
        {
            lock (_free)
            {
                for (int i = _free.Count - 1; i >= 0; i--)
                {
                    var pass = _free[i];
                    if (pass.MaxBatch != maxBatch) continue;
                    _free.RemoveAt(i);
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
