using System;

namespace NpcSdk.Scheduling
{
    /// <summary>
    /// Predicts how long a slice of work takes on one model, from slices measured online: exponential moving averages
    /// of the mean and the absolute deviation, per kind of work. Predictions are mean + 3 deviations, so a slice
    /// rarely runs longer than predicted.
    /// </summary>
    internal sealed class SliceCostModel
    {
        private const double Alpha = 0.15;
        private Estimate _decodeLayer;      // ms per layer, 1 token
        private Estimate _prefillLayerToken; // ms per layer per token beyond the first, batches > 1
        private Estimate _logits;           // ms for the output projection and sampling

        public SliceCostModel(double decodeLayerGuessMs, double logitsGuessMs)
        {
            _decodeLayer = new Estimate(decodeLayerGuessMs);
            _prefillLayerToken = new Estimate(decodeLayerGuessMs / 3);
            _logits = new Estimate(logitsGuessMs);
        }

        /// <summary>One layer over a batch: the cost of one token (weights streamed once) plus a marginal cost per extra token.</summary>
        public double LayerMs(int tokens) => _decodeLayer.Predict + Math.Max(0, tokens - 1) * _prefillLayerToken.Predict;

        public double LogitsMs => _logits.Predict;

        public void ObserveLayers(int tokens, int layers, double ms)
        {
            if (layers <= 0) return;
            if (tokens <= 1) _decodeLayer.Add(ms / layers);
            else _prefillLayerToken.Add(Math.Max(0, ms / layers - _decodeLayer.Mean) / (tokens - 1));
        }

        public void ObserveLogits(double ms) => _logits.Add(ms);

        private struct Estimate
        {
            private double _mean, _dev;
            private bool _measured;

            public Estimate(double guess)
            {
                _mean = guess;
                _dev = guess / 2;
                _measured = false;
            }

            public double Predict => _mean + 3 * _dev;

            public double Mean => _mean;

            public void Add(double x)
            {
                if (!_measured)
                {
                    // The first measurement replaces the guess; it includes cold caches, so it errs on the slow side.
                    _mean = x;
                    _dev = x / 4;
                    _measured = true;
                    return;
                }
                _dev = (1 - Alpha) * _dev + Alpha * Math.Abs(x - _mean);
                _mean = (1 - Alpha) * _mean + Alpha * x;
            }
        }
    }
}
