using System;
using System.Collections.Generic;
using System.Diagnostics;
using NpcSdk.Models;

namespace NpcSdk.Generation
{
    /// <summary>
    /// One decode step of several sessions of a model at once: each session's next token (a generated token, its own
    /// whole evaluation) is a row of one forward step, so every weight matrix is read once for all of them rather than
    /// once per session. Each row keeps the arithmetic of that session's one-token step (its own cache, position and
    /// kernels), so the tokens do not depend on which sessions ran together. Advanced a layer at a time by
    /// <see cref="Scheduling.FrameScheduler"/>; reused step after step.
    /// </summary>
    internal sealed class DecodeBatch
    {
        private readonly ForwardPass _pass;
        private readonly GenerationHandle?[] _jobs;
        private readonly int[] _tokens, _positions;
        private readonly KvCache[] _caches;
        private readonly float[] _logits;
        // The rows still in the step, kept as lists so that a step allocates nothing (no collection lands in a frame).
        private readonly List<GenerationHandle> _live = new List<GenerationHandle>();
        private readonly List<InferenceSession> _liveSessions = new List<InferenceSession>();
        private readonly List<GenerationHandle> _finishing = new List<GenerationHandle>();
        private int _rows;
        private readonly LayerStageClock _stages = new LayerStageClock(); // the current layer's parts run so far

        public DecodeBatch(Model model, int maxRows)
        {
            Model = model;
            _pass = new ForwardPass(model.Transformer, maxRows, model.Pool);
            _jobs = new GenerationHandle?[maxRows];
            _tokens = new int[maxRows];
            _positions = new int[maxRows];
            _caches = new KvCache[maxRows];
            _logits = new float[maxRows * model.Transformer.Weights.Output.Rows];
        }

        public Model Model { get; }

        public int MaxRows => _jobs.Length;

        /// <summary>True between <see cref="Begin"/> and the end of <see cref="Finish"/>.</summary>
        public bool InProgress => _rows > 0;

        public bool LayersDone => _pass.LayersDone;

        /// <summary>The part of the next layer that <see cref="RunNextStage"/> runs next (0 at a layer's start).</summary>
        public int NextStage => _pass.NextStage;

        /// <summary>Cached positions context shifts still have to move, over every row, in the layer run next.</summary>
        public int NextLayerShiftRows
        {
            get
            {
                int n = 0;
                if (_pass.LayersDone) return 0;
                foreach (var s in _liveSessions) n += s.Cache.PendingShiftRows(_pass.NextLayer);
                return n;
            }
        }

        /// <summary>The requests whose tokens are in the step (cancelled ones left out).</summary>
        public IReadOnlyList<GenerationHandle> Jobs => _live;

        /// <summary>Their sessions, in the same order.</summary>
        public IReadOnlyList<InferenceSession> Sessions => _liveSessions;

        /// <summary>Rows still in the step.</summary>
        public int Count => _live.Count;

        /// <summary>
        /// Starts a step over the next tokens of <paramref name="jobs"/> (each session's next step must be a lone
        /// generated token, see <see cref="InferenceSession.CanJoinBatch"/>). A session whose context had to be made
        /// room in by evaluating tokens again stays out and runs alone. Returns the rows that joined.
        /// </summary>
        public int Begin(IReadOnlyList<GenerationHandle> jobs)
        {
            if (InProgress) throw new InvalidOperationException("a batch step is already in progress");
            if (jobs.Count > MaxRows) throw new ArgumentOutOfRangeException(nameof(jobs), jobs.Count, $"at most {MaxRows} rows");
            int n = 0;
            foreach (var job in jobs)
            {
                var s = job.Session;
                if (s.Model != Model) throw new ArgumentException("every session of a batch must run on its model", nameof(jobs));
                int token, position;
                try
                {
                    if (!s.BeginBatchRow(this, out token, out position)) continue;
                }
                catch (Exception e)
                {
                    // Making room failed (a full context that may not drop turns, a summarizer that threw): that request
                    // ends as failed, as it would in a step of its own; the others go on.
                    job.Fail(e);
                    continue;
                }
                _jobs[n] = job;
                _tokens[n] = token;
                _positions[n] = position;
                _caches[n] = s.Cache;
                _live.Add(job);
                _liveSessions.Add(s);
                n++;
            }
            if (n == 0) return 0;
            _rows = n;
            _pass.BeginRows(_tokens.AsSpan(0, n), _positions.AsSpan(0, n), _caches.AsSpan(0, n));
            return n;
        }

        /// <summary>Runs the next layer for every row (completing a context shift a row's session left pending there first).</summary>
        public void RunNextLayer()
        {
            bool whole = _pass.NextStage == 0;
            if (whole) CompleteShifts();
            long t0 = Stopwatch.GetTimestamp();
            _pass.RunNextLayer(null);
            // A layer begun part by part counts the time of its parts too.
            Model.SliceCosts.ObserveRowsLayer(_liveSessions, Ms(t0) + (whole ? 0 : _stages.TotalMs));
        }

        /// <summary>
        /// Runs one part of the next layer for every row (see <see cref="ForwardPass.RunNextStage"/>; the same values as
        /// <see cref="RunNextLayer"/>), so that the end of a tick can hold part of a layer; once its parts all ran, the
        /// layer's time feeds the cost model.
        /// </summary>
        public void RunNextStage()
        {
            if (_pass.NextStage == 0) CompleteShifts();
            if (_stages.RunNext(_pass, null, Model.SliceCosts)) Model.SliceCosts.ObserveRowsLayer(_liveSessions, _stages.TotalMs);
        }

        /// <summary>Completes the context shifts the rows' sessions left pending in the layer run next.</summary>
        private void CompleteShifts()
        {
            int layer = _pass.NextLayer;
            for (int t = 0; t < _rows; t++) _jobs[t]?.Session.CompleteShift(layer);
        }

        /// <summary>
        /// Projects every row to the vocabulary at once, hands each session its logits and lets each request sample
        /// (or finish). The batch is then free for the next step.
        /// </summary>
        public void Finish()
        {
            if (!_pass.LayersDone) throw new InvalidOperationException("layers still pending");
            long t0 = Stopwatch.GetTimestamp();
            _pass.ComputeLogitsOfRows(_logits);
            Model.SliceCosts.ObserveRowsLogits(_rows, Ms(t0));
            int vocab = Model.Transformer.Weights.Output.Rows;
            _finishing.Clear();
            for (int t = 0; t < _rows; t++)
            {
                var job = _jobs[t];
                if (job == null) continue;
                job.Session.FinishBatchRow(_logits.AsSpan(t * vocab, vocab));
                _finishing.Add(job);
            }
            Clear();
            foreach (var job in _finishing) job.Advance(0, 0);
            _finishing.Clear();
        }

        /// <summary>Takes <paramref name="session"/>'s row out of the step (its request was cancelled or failed).</summary>
        public void Drop(InferenceSession session)
        {
            for (int t = 0; t < _rows; t++)
            {
                if (_jobs[t]?.Session != session) continue;
                _jobs[t] = null;
                _pass.DropRow(t);
            }
            int i = _liveSessions.IndexOf(session);
            if (i >= 0)
            {
                _live.RemoveAt(i);
                _liveSessions.RemoveAt(i);
            }
            if (_live.Count == 0) Clear();
        }

        /// <summary>Ends the step with every remaining request failed (the shared work threw).</summary>
        public void Fail(Exception error)
        {
            var jobs = _live.ToArray();
            Clear();
            foreach (var job in jobs) job.Fail(error);
        }

        private void Clear()
        {
            for (int t = 0; t < _rows; t++)
            {
                _jobs[t] = null;
                _caches[t] = null!;
            }
            _rows = 0;
            _live.Clear();
            _liveSessions.Clear();
        }

        private static double Ms(long since) => (Stopwatch.GetTimestamp() - since) * 1000.0 / Stopwatch.Frequency;
    }
}
