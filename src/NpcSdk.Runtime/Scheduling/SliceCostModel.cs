using System;
using System.Collections.Generic;
using NpcSdk.Generation;

namespace NpcSdk.Scheduling
{
    /// <summary>
    /// Predicts how long the next unit of work on one model takes (one layer of a step, the output projection, sampling,
    /// a layer's share of a context shift), from units measured online. A decode layer's cost grows with the context it
    /// attends to, so it is tracked per 64 positions of context; a batch layer costs its token count times the decode layer at that context
    /// times a ratio below 1 (weights are read once for the whole batch) that shrinks as batches grow, tracked by the
    /// model per power-of-two batch size (its mean only: the decode layer's prediction already carries the margin).
    /// Each estimate is an exponential moving average of the mean and the absolute deviation; a prediction is
    /// mean + 2 deviations. A measurement far above the mean (the thread was preempted) moves it only a little.
    /// One per model (<see cref="NpcSdk.Models.Model.SliceCosts"/>), fed by every session's work, scheduled or not: a persona
    /// prefilled at load already calibrates the first frames.
    /// </summary>
    internal sealed class SliceCostModel
    {
        private const int PositionBucket = 64;
        private readonly object _gate = new object(); // sessions of one model may run on several threads
        private Estimate[] _decodeLayer = new Estimate[8]; // ms per layer, 1 token, by position / PositionBucket
        private Estimate _modelDecodeLayer;  // ms per layer, 1 token, any position (the first guess)
        private readonly Estimate[] _batchRatio = new Estimate[8]; // batch layer / (tokens x decode layer), by ceil(log2(tokens))
        private readonly Estimate[] _rowsRatio = new Estimate[8]; // decode-batch layer / sum of its rows' decode layers, by ceil(log2(rows))
        private readonly Estimate[] _rowsLogitsRatio = new Estimate[8]; // decode-batch projection / (rows x one projection)
        private Estimate _logits;            // ms for the output projection
        private Estimate _sample;            // ms for sampling a token
        private Estimate _shiftRow;          // ms to move one cached position of one layer

        private readonly double[] _stageShare; // each part's share of a layer's time (ForwardPass.StagesPerLayer)

        public SliceCostModel(double decodeLayerGuessMs, double logitsGuessMs, double[]? stageWeights = null)
        {
            _stageShare = new double[NpcSdk.Models.ForwardPass.StagesPerLayer];
            double total = 0;
            for (int k = 0; k < _stageShare.Length; k++) total += stageWeights?[k] ?? 1;
            for (int k = 0; k < _stageShare.Length; k++) _stageShare[k] = (stageWeights?[k] ?? 1) / total;
            _modelDecodeLayer = new Estimate(decodeLayerGuessMs);
            // Measured on the bundled model: 1.17 for 2 tokens, 0.88 for 4, 0.77 for 8, 0.67 for 32.
            for (int b = 1; b < _batchRatio.Length; b++) _batchRatio[b] = new Estimate(0.62 + 1.1 / (1 << b));
            // A decode batch shares only the weights: each row still attends to its own context. A first guess, learned
            // online (FrameLoop on the bundled model, at contexts up to 512, settles near 1.0 for 2 rows and 0.82 for 8).
            for (int b = 1; b < _rowsRatio.Length; b++)
            {
                _rowsRatio[b] = new Estimate(0.5 + 0.6 / (1 << b));
                _rowsLogitsRatio[b] = new Estimate(0.4 + 1.2 / (1 << b));
            }
            _logits = new Estimate(logitsGuessMs);
            _sample = new Estimate(logitsGuessMs / 4);
            _shiftRow = new Estimate(decodeLayerGuessMs / 200);
        }

        /// <summary>One layer of a step over <paramref name="tokens"/> tokens of <paramref name="session"/>.</summary>
        /// <remarks>
        /// The margin over the mean is the one-token layer's (twice its deviation) for each token, divided by √tokens: a
        /// long layer's time varies less, relative to itself, than a 0.15 ms one's. Scaled by the tokens alone, a
        /// 15-token layer of 1.2 ms was predicted at 1.6 ms, so two ran in a tick where three fitted and the player's
        /// first token came a frame later.
        /// </remarks>
        public double LayerMs(InferenceSession session, int tokens)
        {
            lock (_gate)
            {
                ref var decode = ref DecodeLayer(session);
                if (tokens <= 1) return decode.Predict;
                return (decode.Mean + 2 * decode.Dev / Math.Sqrt(tokens)) * tokens * _batchRatio[Bucket(tokens)].Mean;
            }
        }

        /// <summary>Part <paramref name="stage"/> of a layer of a step over <paramref name="tokens"/> tokens (see <see cref="NpcSdk.Models.ForwardPass.RunNextStage"/>).</summary>
        public double StageMs(InferenceSession session, int tokens, int stage)
        {
            double layer = LayerMs(session, tokens);
            lock (_gate) return layer * _stageShare[stage];
        }

        /// <summary>The learned ratios, for debugging output.</summary>
        public string Describe()
        {
            lock (_gate)
            {
                var sb = new System.Text.StringBuilder("batch ratios");
                for (int b = 1; b < _batchRatio.Length; b++) sb.Append($" {1 << b}:{_batchRatio[b].Mean:F2}{(_batchRatio[b].Measured ? "" : "?")}");
                sb.Append("; decode-batch ratios");
                for (int b = 1; b < _rowsRatio.Length; b++) sb.Append($" {1 << b}:{_rowsRatio[b].Mean:F2}{(_rowsRatio[b].Measured ? "" : "?")}");
                return sb.ToString();
            }
        }

        /// <summary>True once a step of about <paramref name="tokens"/> tokens was measured (not the first guess).</summary>
        public bool BatchSizeMeasured(int tokens)
        {
            lock (_gate) return _batchRatio[Bucket(tokens)].Measured;
        }

        /// <summary>Part <paramref name="stage"/>'s share of a layer's time.</summary>
        public double StageShare(int stage)
        {
            lock (_gate) return _stageShare[stage];
        }

        /// <summary>The times of one layer's parts, run one by one: moves each part's share towards what it took.</summary>
        public void ObserveStages(double[] ms)
        {
            double total = 0;
            foreach (double x in ms) total += x;
            if (total <= 0) return;
            lock (_gate)
            {
                // The first measurement replaces the guess from the parts' bytes.
                double keep = StagesMeasured ? 0.8 : 0;
                for (int k = 0; k < _stageShare.Length; k++) _stageShare[k] = keep * _stageShare[k] + (1 - keep) * ms[k] / total;
                StagesMeasured = true;
            }
        }

        /// <summary>True once a layer ran part by part (the shares are no longer the first guess).</summary>
        public bool StagesMeasured { get; private set; }

        /// <summary>The expected (mean) time of such a layer, for choosing batch sizes rather than deciding what fits.</summary>
        public double MeanLayerMs(InferenceSession session, int tokens)
        {
            lock (_gate)
                return DecodeLayer(session).Mean * (tokens <= 1 ? 1 : tokens * _batchRatio[Bucket(tokens)].Mean);
        }

        /// <summary>One layer of a decode batch whose rows are the next tokens of <paramref name="sessions"/>.</summary>
        /// <remarks>The rows' means add up, their margins as independent deviations do (twice the root of the sum of squares), as for <see cref="LayerMs"/>.</remarks>
        public double RowsLayerMs(IReadOnlyList<InferenceSession> sessions)
        {
            lock (_gate)
            {
                if (sessions.Count <= 1) return sessions.Count == 0 ? 0 : DecodeLayer(sessions[0]).Predict;
                double mean = 0, variance = 0;
                for (int i = 0; i < sessions.Count; i++)
                {
                    ref var row = ref DecodeLayer(sessions[i]);
                    mean += row.Mean;
                    variance += row.Dev * row.Dev;
                }
                return (mean + 2 * Math.Sqrt(variance)) * _rowsRatio[Bucket(sessions.Count)].Mean;
            }
        }

        /// <summary>The output projection of a decode batch of <paramref name="rows"/> rows.</summary>
        public double RowsLogitsMs(int rows)
        {
            lock (_gate) return rows <= 1 ? _logits.Predict : (_logits.Mean * rows + 2 * _logits.Dev * Math.Sqrt(rows)) * _rowsLogitsRatio[Bucket(rows)].Mean;
        }

        public void ObserveRowsLayer(IReadOnlyList<InferenceSession> sessions, double ms)
        {
            if (sessions.Count < 2) return;
            lock (_gate)
            {
                double sum = 0;
                for (int i = 0; i < sessions.Count; i++) sum += DecodeLayer(sessions[i]).Mean;
                _rowsRatio[Bucket(sessions.Count)].Add(Math.Min(1.5, Math.Max(0.1, ms / sum)));
            }
        }

        public void ObserveRowsLogits(int rows, double ms)
        {
            if (rows < 2) return;
            lock (_gate) _rowsLogitsRatio[Bucket(rows)].Add(Math.Min(1.5, Math.Max(0.1, ms / (_logits.Mean * rows))));
        }

        public double LogitsMs
        {
            get { lock (_gate) return _logits.Predict; }
        }

        public double SampleMs
        {
            get { lock (_gate) return _sample.Predict; }
        }

        public double ShiftMs(int rows)
        {
            lock (_gate) return rows * _shiftRow.Predict;
        }

        public void ObserveLayer(InferenceSession session, int tokens, double ms)
        {
            lock (_gate)
            {
                ref var own = ref DecodeLayer(session);
                if (tokens <= 1)
                {
                    own.Add(ms);
                    _modelDecodeLayer.Add(ms);
                }
                else if (!own.Measured)
                {
                    // No single-token layer measured at this context yet (a persona prefilled at load): take this
                    // batch layer, divided by the expected batch ratio, as one.
                    own.Add(ms / (tokens * _batchRatio[Bucket(tokens)].Mean));
                }
                else
                {
                    // A ratio far above 1 is noise; believed, it would make the scheduler stop batching prompt tokens.
                    _batchRatio[Bucket(tokens)].Add(Math.Min(1.5, Math.Max(0.1, ms / (own.Mean * tokens))));
                }
            }
        }

        public void ObserveLogits(double ms)
        {
            lock (_gate) _logits.Add(ms);
        }

        public void ObserveSample(double ms)
        {
            lock (_gate) _sample.Add(ms);
        }

        public void ObserveShift(int rows, double ms)
        {
            lock (_gate)
                if (rows > 0) _shiftRow.Add(ms / rows);
        }

        /// <summary>ceil(log2(tokens)), capped at the last bucket.</summary>
        private int Bucket(int tokens)
        {
            int b = 0;
            while (b < _batchRatio.Length - 1 && (1 << b) < tokens) b++;
            return b;
        }

        /// <summary>
        /// The decode-layer estimate for the session's context length: attention makes a layer's cost grow with the
        /// positions it reads, so estimates are kept per 64 positions, whichever session measured them. A bucket not
        /// measured yet starts from the nearest one that was (a session that was reset or shifted predicts right at once).
        /// </summary>
        private ref Estimate DecodeLayer(InferenceSession session)
        {
            int b = session.Position / PositionBucket;
            if (b >= _decodeLayer.Length) Array.Resize(ref _decodeLayer, Math.Max(b + 1, 2 * _decodeLayer.Length));
            if (!_decodeLayer[b].Measured)
            {
                Estimate seed = _modelDecodeLayer;
                for (int d = 1; d < _decodeLayer.Length; d++)
                {
                    if (b - d >= 0 && _decodeLayer[b - d].Measured) { seed = _decodeLayer[b - d]; break; }
                    if (b + d < _decodeLayer.Length && _decodeLayer[b + d].Measured) { seed = _decodeLayer[b + d]; break; }
                }
                _decodeLayer[b] = seed;
            }
            return ref _decodeLayer[b];
        }

        private struct Estimate
        {
            private const double Alpha = 0.2;
            private double _mean, _dev;
            private bool _measured;

            public Estimate(double guess)
            {
                _mean = guess;
                _dev = guess / 2;
                _measured = false;
            }

            public double Predict => _mean + 2 * _dev;

            public double Mean => _mean;

            public double Dev => _dev;

            public bool Measured => _measured;

            public void Add(double x)
            {
                if (!_measured)
                {
                    _mean = x;
                    _dev = x / 4;
                    _measured = true;
                    return;
                }
                // Preemption by the OS can make one unit take milliseconds longer; such a sample says little about the
                // next unit, so it counts as at most twice the mean (a real slowdown still doubles the estimate quickly).
                x = Math.Min(x, 2 * _mean + 0.02);
                _dev = (1 - Alpha) * _dev + Alpha * Math.Abs(x - _mean);
                _mean = (1 - Alpha) * _mean + Alpha * x;
            }
        }
    }
}
