using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using NpcSdk.Generation;
using NpcSdk.Models;

namespace NpcSdk.Scheduling
{
    /// <summary>
    /// Advances generation for many sessions within a per-frame time budget. Work runs in small units: starting a step
    /// (a prompt chunk or one generated token), one layer of it, finishing it (logits, sampling). Before each unit a
    /// cost model measured online predicts whether it still ends within the budget; higher priority goes first, and
    /// waiting requests age so they still progress.
    /// Results never depend on the budget or slicing: the same seed, prompt and model give the same tokens.
    /// </summary>
    /// <example>
    /// <code>
    /// var scheduler = new FrameScheduler();
    /// var reply = scheduler.Submit(session, new GenerationRequest { Tokens = prompt, Priority = 10 });
    /// reply.TokenGenerated += (h, t) => ShowText(t.Text);
    /// // every frame:
    /// scheduler.Tick(budgetMs: 3);
    /// </code>
    /// </example>
    public sealed class FrameScheduler : IDisposable
    {
        private static readonly bool Debug = Environment.GetEnvironmentVariable("NPCSDK_SCHED_DEBUG") == "1";
        private readonly SchedulerOptions _options;
        private readonly List<GenerationHandle> _jobs = new List<GenerationHandle>();
        private readonly Dictionary<GenerationHandle, double> _waitingSince = new Dictionary<GenerationHandle, double>();
        private readonly ConcurrentQueue<Action> _events = new ConcurrentQueue<Action>();
        private readonly object _gate = new object();
        private readonly AutoResetEvent _wake = new AutoResetEvent(false);
        private readonly Thread? _worker;
        private volatile bool _stopping;
        private int _tick;
        private int _tokensThisTick;
        private readonly List<DecodeBatch> _batches = new List<DecodeBatch>();
        private readonly List<GenerationHandle> _riders = new List<GenerationHandle>(), _candidates = new List<GenerationHandle>(), _sliceJobs = new List<GenerationHandle>();
        private readonly List<InferenceSession> _riderSessions = new List<InferenceSession>();
        private readonly object _sliceGate = new object();
        private bool _inSlice; // guarded by _sliceGate
        private readonly List<Model> _ranModels = new List<Model>(); // guarded by _sliceGate

        /// <summary>Creates a scheduler; in worker mode its thread starts at once.</summary>
        public FrameScheduler(SchedulerOptions? options = null)
        {
            _options = options ?? new SchedulerOptions();
            if (_options.WorkerCpuShare <= 0 || _options.WorkerCpuShare > 1)
                throw new ArgumentOutOfRangeException(nameof(options), _options.WorkerCpuShare, "WorkerCpuShare must be in (0, 1]");
            if (_options.Mode == SchedulerMode.Worker)
            {
                _worker = new Thread(WorkerLoop) { IsBackground = true, Name = "NpcSdk scheduler" };
                _worker.Start();
            }
        }

        /// <summary>The mode chosen at construction.</summary>
        public SchedulerMode Mode => _options.Mode;

        /// <summary>Ticks run so far (main-thread mode).</summary>
        public int TickCount => _tick;

        /// <summary>Decode-batch units run so far (layers and finishes of steps shared by several requests).</summary>
        internal int BatchUnitsRun { get; private set; }

        /// <summary>Units of one part of a layer run so far (layers longer than half the budget, or begun at a tick's end).</summary>
        internal int StageUnitsRun { get; private set; }

        /// <summary>Of <see cref="StageUnitsRun"/>, those of decode batches.</summary>
        internal int BatchStageUnitsRun { get; private set; }

        /// <summary>Slices of output projections run so far (projections too large for the time left in a tick).</summary>
        internal int LogitsSlicesRun { get; private set; }

        /// <summary>Requests not yet finished.</summary>
        public int PendingCount
        {
            get { lock (_gate) return _jobs.Count; }
        }

        /// <summary>Queues a request on a session (one request per session at a time).</summary>
        public GenerationHandle Submit(InferenceSession session, GenerationRequest request)
        {
            if (session == null) throw new ArgumentNullException(nameof(session));
            if (request == null) throw new ArgumentNullException(nameof(request));
            lock (_gate)
            {
                var job = new GenerationHandle(session, request, a => _events.Enqueue(a)) { SubmitTick = _tick, _cancelNow = CancelNow };
                _jobs.Add(job);
                _waitingSince[job] = _tick;
                _wake.Set();
                return job;
            }
        }

        /// <summary>
        /// Main-thread mode: runs slices of work until the next one would not fit in <paramref name="budgetMs"/>,
        /// then delivers events. Call once per frame.
        /// </summary>
        public TickReport Tick(double budgetMs)
        {
            if (_options.Mode != SchedulerMode.MainThread) throw new InvalidOperationException("Tick is for main-thread mode; in worker mode call DispatchEvents");
            long start = Stopwatch.GetTimestamp();
            _tokensThisTick = 0;
            int slices = RunSlices(budgetMs, start, forceProgress: true);
            RestThreads();
            _tick++;
            double elapsed = ElapsedMs(start);
            DispatchEvents();
            return new TickReport(budgetMs, elapsed, slices, _tokensThisTick, PendingCount);
        }

        /// <summary>Delivers queued events (tokens, completions, context trims) on the calling thread, the game's.</summary>
        public int DispatchEvents()
        {
            int n = 0;
            while (_events.TryDequeue(out var a))
            {
                a();
                n++;
            }
            return n;
        }

        private static double ElapsedMs(long since) => (Stopwatch.GetTimestamp() - since) * 1000.0 / Stopwatch.Frequency;

        /// <summary>
        /// Runs units of work (a step's start, one layer or part of one, finishing a step with its logits and sampling)
        /// for the best-ranked job while the next one is predicted to end within the budget; a layer that no longer fits
        /// whole begins part by part (see <see cref="Plan"/>). Only that job runs: letting lower-ranked work fill what
        /// is left would let ambient chatter reach its first token before the player's NPC whose next unit did not fit.
        /// A unit larger than the whole budget (one layer of a big model) still runs when nothing else ran this tick,
        /// or that request would starve.
        /// </summary>
        private int RunSlices(double budgetMs, long start, bool forceProgress)
        {
            int slices = 0;
            double limit = budgetMs * _options.SafetyFactor;
            while (true)
            {
                var job = BestJob();
                if (job == null) break;
                var cost = job.Session.Model.SliceCosts;
                var batch = job.Session.Batch;
                if (batch == null && _options.MaxDecodeBatch > 1 && job.Session.CanJoinBatch && !job.CancelRequested)
                {
                    // Decode steps on one model fall into step: one already running (batched or not) finishes first,
                    // and then this request's token goes with the others.
                    batch = BatchInProgress(job.Session.Model);
                    var other = batch == null ? DecodeToWaitFor(job, cost, limit) : null;
                    if (other != null) job = other;
                    else batch ??= FormBatch(job, cost, limit);
                }
                int layers = 0, tokens = 0, logitsRows = 0;
                double predicted;
                bool batchStage = false;
                if (batch != null)
                {
                    predicted = PlanBatch(batch, cost, limit, ElapsedMs(start), out batchStage);
                }
                else
                {
                    layers = Plan(job, cost, limit, ElapsedMs(start), out tokens, out predicted);
                    if (layers == 0 && tokens == 0 && ElapsedMs(start) + predicted > limit && job.Session.LogitsRowsLeft > 0)
                    {
                        // A large vocabulary's projection that does not fit goes in slices of what fits (at least 1/16 of it).
                        logitsRows = LogitsSlice(job.Session, cost, forceProgress && slices == 0 ? limit : limit - ElapsedMs(start), out predicted);
                    }
                }
                if (ElapsedMs(start) + predicted > limit && !(forceProgress && slices == 0)) break;
                RunSlice(job, layers, tokens, predicted, batch, logitsRows, batchStage);
                slices++;
            }
            return slices;
        }

        /// <summary>
        /// A decode batch led by <paramref name="lead"/> when its next step is a lone generated token and other requests
        /// on the same model are at the same point: their tokens then go through the layers together, each weight
        /// matrix read once for all (the tokens are the same as alone). Riders are taken best-ranked first, as many as
        /// keep one layer of the batch within half the limit (two layers fit in a tick, as for prompt chunks).
        /// Only decode steps batch: a prompt goes alone, so a player's line is not slowed by ambient chatter.
        /// </summary>
        private DecodeBatch? FormBatch(GenerationHandle lead, SliceCostModel cost, double limitMs)
        {
            if (_options.MaxDecodeBatch < 2 || lead.CancelRequested || !lead.Session.CanJoinBatch) return null;
            var model = lead.Session.Model;
            _riders.Clear();
            _riderSessions.Clear();
            _riders.Add(lead);
            _riderSessions.Add(lead.Session);
            lock (_gate)
            {
                _candidates.Clear();
                foreach (var j in _jobs)
                    if (j != lead && !j.IsFinished && !j.CancelRequested && j.Session.Model == model && j.Session.CanJoinBatch) _candidates.Add(j);
                while (_candidates.Count > 0 && _riders.Count < _options.MaxDecodeBatch)
                {
                    int best = 0;
                    for (int i = 1; i < _candidates.Count; i++)
                        if (Score(_candidates[i]) > Score(_candidates[best])) best = i;
                    _riders.Add(_candidates[best]);
                    _riderSessions.Add(_candidates[best].Session);
                    _candidates.RemoveAt(best);
                }
            }
            while (_riders.Count > 1 && cost.RowsLayerMs(_riderSessions) > limitMs / 2)
            {
                _riders.RemoveAt(_riders.Count - 1);
                _riderSessions.RemoveAt(_riderSessions.Count - 1);
            }
            if (_riders.Count < 2) return null;
            DecodeBatch? batch = null;
            for (int i = _batches.Count - 1; i >= 0; i--)
            {
                var b = _batches[i];
                if (b.InProgress) continue;
                if (b.Model == model) batch = b;
                else if (!HasJobsOn(b.Model)) _batches.RemoveAt(i); // a model the game has moved on from: let it go
            }
            if (batch == null) _batches.Add(batch = new DecodeBatch(model, _options.MaxDecodeBatch));
            return batch.Begin(_riders) > 0 ? batch : null;
        }

        private bool HasJobsOn(Model model)
        {
            lock (_gate)
            {
                foreach (var j in _jobs)
                    if (j.Session.Model == model) return true;
            }
            return false;
        }

        private DecodeBatch? BatchInProgress(Model model)
        {
            foreach (var b in _batches)
                if (b.Model == model && b.InProgress) return b;
            return null;
        }

        /// <summary>
        /// Another request on <paramref name="lead"/>'s model about to generate too: a one-token step of its own in
        /// progress, or logits waiting to be sampled. Its unit runs first, so that the two then share their steps; only
        /// when two rows' layer would fit (a big model's decode layers do not batch, and the lead need not wait).
        /// </summary>
        private GenerationHandle? DecodeToWaitFor(GenerationHandle lead, SliceCostModel cost, double limitMs)
        {
            var model = lead.Session.Model;
            GenerationHandle? found = null;
            lock (_gate)
            {
                foreach (var j in _jobs)
                {
                    if (j == lead || j.IsFinished || j.CancelRequested || j.Session.Model != model) continue;
                    if (j.Session.LoneTokenStepInProgress || OnlySamplingLeft(j)) { found = j; break; }
                }
            }
            if (found == null) return null;
            _riderSessions.Clear();
            _riderSessions.Add(lead.Session);
            _riderSessions.Add(found.Session);
            return cost.RowsLayerMs(_riderSessions) <= limitMs / 2 ? found : null;
        }

        private static bool OnlySamplingLeft(GenerationHandle j) => !j.Session.HasWork && j.Session.HasLogits && j.Session.Batch == null;

        /// <summary>The predicted time of the batch's next unit: a layer, or the output projection with every row's sampling.</summary>
        /// <summary>
        /// The next unit of a decode batch and its predicted time: finishing the step, a whole layer, or (<paramref name="stage"/>)
        /// one part of a layer: the rest of a layer begun that way, or the first part of one that no longer fits whole in
        /// what is left of the tick (<paramref name="usedMs"/> of <paramref name="limitMs"/> used), as for a single request.
        /// </summary>
        private static double PlanBatch(DecodeBatch batch, SliceCostModel cost, double limitMs, double usedMs, out bool stage)
        {
            stage = false;
            if (batch.LayersDone) return cost.RowsLogitsMs(batch.Count) + batch.Count * cost.SampleMs;
            double layer = cost.RowsLayerMs(batch.Sessions);
            if (batch.NextStage != 0)
            {
                stage = true;
                return layer * cost.StageShare(batch.NextStage);
            }
            double shift = cost.ShiftMs(batch.NextLayerShiftRows);
            if (usedMs + layer + shift > limitMs && usedMs + layer * cost.StageShare(0) + shift <= limitMs)
            {
                stage = true;
                return layer * cost.StageShare(0) + shift;
            }
            return layer + shift;
        }

        private void RunBatchUnit(DecodeBatch batch, double predicted, bool stage)
        {
            _sliceJobs.Clear();
            _sliceJobs.AddRange(batch.Jobs);
            int before = 0;
            foreach (var j in _sliceJobs) before += j.Tokens.Count;
            bool finish = batch.LayersDone;
            BatchUnitsRun++;
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                if (finish)
                {
                    batch.Finish();
                }
                else
                {
                    foreach (var j in _sliceJobs) j.SlicesRun++;
                    if (stage)
                    {
                        StageUnitsRun++;
                        BatchStageUnitsRun++;
                        batch.RunNextStage();
                    }
                    else
                    {
                        batch.RunNextLayer();
                    }
                }
            }
            catch (Exception e)
            {
                batch.Fail(e);
            }
            if (Debug) DebugRecord(finish ? "batch-finish" : stage ? "batch-stage" : "batch-layer", ElapsedMs(t0), predicted, _sliceJobs.Count);
            lock (_gate)
            {
                foreach (var j in _sliceJobs)
                {
                    _waitingSince[j] = _tick;
                    _tokensThisTick += j.Tokens.Count;
                    if (j.FirstTokenTick < 0 && j.Tokens.Count > 0) j.FirstTokenTick = _tick;
                }
                _tokensThisTick -= before;
            }
        }

        private double Score(GenerationHandle j) => j.Priority + Math.Min(_options.MaxAgingBonus, _options.AgingPerTick * (_tick - _waitingSince[j]));

        /// <summary>The unfinished job with the best priority plus aging (submission order on ties); drops finished ones.</summary>
        private GenerationHandle? BestJob()
        {
            lock (_gate)
            {
                GenerationHandle? best = null;
                double bestScore = 0;
                for (int i = 0; i < _jobs.Count; i++)
                {
                    var j = _jobs[i];
                    if (!j.IsFinished && j.CancelRequested) CancelNow(j); // finishes it as cancelled
                    if (j.IsFinished)
                    {
                        _waitingSince.Remove(j);
                        _jobs.RemoveAt(i--);
                        continue;
                    }
                    double score = Score(j);
                    if (best == null || score > bestScore)
                    {
                        best = j;
                        bestScore = score;
                    }
                }
                return best;
            }
        }

        /// <summary>
        /// The next unit of <paramref name="job"/>: the layers to run (0 to start or finish a step, or to sample), the prompt tokens
        /// of a new step, and the predicted time.
        /// </summary>
        private int Plan(GenerationHandle job, SliceCostModel cost, double budgetMs, double usedMs, out int tokens, out double predictedMs)
        {
            var s = job.Session;
            tokens = 0;
            if (!s.HasWork)
            {
                // Only sampling is left (the prompt was all a shared prefix).
                predictedMs = cost.SampleMs;
                return 0;
            }
            if (!s.StepInProgress)
            {
                // Starting a step embeds its tokens and may record a context shift, applied later layer by layer.
                tokens = ChunkSize(s, cost, budgetMs, usedMs);
                predictedMs = 0;
                return 0;
            }
            if (s.StepLayersDone)
            {
                // Finishing the step: the output projection (a big unit with a large vocabulary) and sampling.
                predictedMs = s.StepProducesLogits ? cost.LogitsMs * s.LogitsRowsLeft / s.Model.Transformer.Weights.Output.Rows + cost.SampleMs : 0;
                return 0;
            }
            // A layer longer than half the limit goes part by part (as does the rest of one begun that way).
            if (s.StepStage != 0 || cost.LayerMs(s, s.StepTokenCount) > budgetMs / 2)
            {
                predictedMs = cost.StageMs(s, s.StepTokenCount, s.StepStage) + (s.StepStage == 0 ? cost.ShiftMs(s.NextLayerShiftRows) : 0);
                return OneStage;
            }
            predictedMs = cost.LayerMs(s, s.StepTokenCount) + cost.ShiftMs(s.NextLayerShiftRows);
            if (usedMs + predictedMs > budgetMs)
            {
                // A whole layer no longer fits in what is left of the tick: its first part may (the rest follow part by
                // part), so the tick's end is not left idle while this request waits.
                double first = cost.StageMs(s, s.StepTokenCount, 0) + cost.ShiftMs(s.NextLayerShiftRows);
                if (usedMs + first <= budgetMs)
                {
                    predictedMs = first;
                    return OneStage;
                }
            }
            return 1;
        }

        /// <summary><see cref="Plan"/>'s answer for a unit of one part of a layer.</summary>
        private const int OneStage = -1;

        /// <summary>
        /// Prompt tokens for a new step: the chunk size that gets the pending prompt through every layer in the fewest
        /// ticks of <paramref name="limitMs"/> (this one has <paramref name="usedMs"/> used), packing layer units as
        /// <see cref="RunSlices"/> will; on ties the least total time. So 16 pending tokens go as one step of 16 rather
        /// than 15 and a 1-token step that costs a full pass over the layers of its own. A layer near a whole tick is a
        /// large unit to mispredict, so at least two of a chunk's layers must fit in one.
        /// </summary>
        private int ChunkSize(InferenceSession s, SliceCostModel cost, double limitMs, double usedMs)
        {
            int max = Math.Min(Math.Min(s.PendingCount, s.MaxBatch), Math.Max(1, _options.MaxPrefillChunk));
            // Long prompts: planning the first few chunks decides as well as planning them all.
            int pending = Math.Min(s.PendingCount, 4 * max);
            int layerCount = s.Model.Config.LayerCount;
            int best = 1;
            int bestTicks = int.MaxValue;
            double bestMs = double.MaxValue;
            int stages = NpcSdk.Models.ForwardPass.StagesPerLayer;
            Span<double> share = stackalloc double[stages];
            double largestShare = 0;
            for (int k = 0; k < stages; k++) largestShare = Math.Max(largestShare, share[k] = cost.StageShare(k));
            for (int t = 1; t <= max; t++)
            {
                double unit = cost.LayerMs(s, t);
                // Layers longer than half the limit go part by part (see Plan): then the largest part must fit twice.
                if (t > 1 && 2 * (unit > limitMs / 2 ? unit * largestShare : unit) > limitMs) break;
                int ticks = 0;
                double used = usedMs, total = 0;
                for (int left = pending; left > 0; left -= t)
                {
                    double u = left >= t ? unit : cost.LayerMs(s, left);
                    bool staged = u > limitMs / 2;
                    for (int l = 0; l < layerCount; l++)
                    {
                        for (int k = 0; k < (staged ? stages : 1); k++)
                        {
                            double part = staged ? u * share[k] : u;
                            if (used > 0 && used + part > limitMs)
                            {
                                ticks++;
                                used = 0;
                            }
                            used += part;
                        }
                    }
                    total += layerCount * u;
                }
                if (ticks < bestTicks || (ticks == bestTicks && total < bestMs))
                {
                    best = t;
                    bestTicks = ticks;
                    bestMs = total;
                }
            }
            return best;
        }

        /// <summary>Vocabulary rows of <paramref name="s"/>'s output projection to compute in <paramref name="availableMs"/>, and their predicted time.</summary>
        private static int LogitsSlice(InferenceSession s, SliceCostModel cost, double availableMs, out double predictedMs)
        {
            int vocab = s.Model.Transformer.Weights.Output.Rows;
            double perRow = cost.LogitsMs / vocab;
            int rows = (int)Math.Min(s.LogitsRowsLeft, Math.Max(vocab / 16, availableMs / Math.Max(perRow, 1e-9)));
            predictedMs = rows * perRow;
            return rows;
        }

        private void RunLogitsUnit(GenerationHandle job, int rows, double predicted)
        {
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                job.SlicesRun++;
                LogitsSlicesRun++;
                job.Session.ProjectLogits(rows);
            }
            catch (Exception e)
            {
                job.Fail(e);
            }
            if (Debug) DebugRecord("logits", ElapsedMs(t0), predicted, 1);
            lock (_gate) _waitingSince[job] = _tick;
        }

        /// <summary>
        /// A cancelled request ends at once (its pending prompt discarded) unless a slice is running, as it may be on the
        /// worker thread; then the scheduler ends it before its next slice. Either way the session is free once
        /// <see cref="GenerationHandle.IsFinished"/>.
        /// </summary>
        private void CancelNow(GenerationHandle job)
        {
            if (!Monitor.TryEnter(_sliceGate)) return;
            try
            {
                // Monitor is reentrant: code called from inside a slice on this thread must not end a request mid-slice.
                if (!_inSlice && !job.IsFinished) job.Advance(0, 0);
            }
            finally
            {
                Monitor.Exit(_sliceGate);
            }
        }

        /// <summary>
        /// Parks the compute threads of the models that ran this tick until their next job: no other slice comes before
        /// the next tick, and a helper left spinning would take a core from the game for the rest of the frame.
        /// </summary>
        private void RestThreads()
        {
            lock (_sliceGate)
            {
                foreach (var m in _ranModels) m.Pool.Rest();
                _ranModels.Clear();
            }
        }

        /// <summary>
        /// Runs one unit with the slice gate held: of <paramref name="batch"/> when given, else <paramref name="logitsRows"/>
        /// rows of <paramref name="job"/>'s output projection when positive, else a unit of its own step.
        /// </summary>
        private void RunSlice(GenerationHandle job, int layers, int tokens, double predicted, DecodeBatch? batch = null, int logitsRows = 0, bool batchStage = false)
        {
            lock (_sliceGate)
            {
                var model = job.Session.Model;
                if (!_ranModels.Contains(model)) _ranModels.Add(model);
                _inSlice = true;
                try
                {
                    if (batch != null) RunBatchUnit(batch, predicted, batchStage);
                    else if (logitsRows > 0) RunLogitsUnit(job, logitsRows, predicted);
                    else RunSliceLocked(job, layers, tokens, predicted);
                }
                finally
                {
                    _inSlice = false;
                }
            }
        }

        private void RunSliceLocked(GenerationHandle job, int layers, int tokens, double predicted)
        {
            var s = job.Session;
            int stepTokens = s.StepInProgress ? s.StepTokenCount : tokens;
            int before = job.Tokens.Count;
            long t0 = Stopwatch.GetTimestamp();
            if (layers == OneStage)
            {
                StageUnitsRun++;
                job.Advance(0, 0, finishStep: false, oneStage: true);
            }
            else
            {
                job.Advance(layers, tokens, finishStep: layers == 0);
            }
            double ms = ElapsedMs(t0);
            // The session and the handle report what they measured to the model's cost model themselves.
            if (Debug) DebugRecord(layers == OneStage ? "stage" : layers == 0 ? (tokens > 0 ? "begin" : "finish") : stepTokens > 1 ? "prefill-layer" : "decode-layer", ms, predicted, stepTokens);
            lock (_gate)
            {
                _waitingSince[job] = _tick;
                _tokensThisTick += job.Tokens.Count - before;
                if (job.FirstTokenTick < 0 && job.Tokens.Count > 0) job.FirstTokenTick = _tick;
            }
        }

        private void DebugRecord(string kind, double ms, double predicted, int tokens)
        {
            lock (_gate)
            {
                _debugMs[kind] = (_debugMs.TryGetValue(kind, out var v) ? v : 0) + ms;
                _debugCount[kind] = (_debugCount.TryGetValue(kind, out var c) ? c : 0) + 1;
                if (kind == "prefill-layer") _debugCount["prefill-token-layers"] = (_debugCount.TryGetValue("prefill-token-layers", out var n) ? n : 0) + tokens;
            }
            if (ms > predicted + 0.5) Console.Error.WriteLine($"slow {kind}: {ms:F2} ms vs predicted {predicted:F2} (T={tokens}, gen0 GCs {GC.CollectionCount(0)})");
        }

        private void WorkerLoop()
        {
            double debtMs = 0;
            while (!_stopping)
            {
                if (BestJob() == null)
                {
                    RestThreads();
                    _wake.WaitOne(50);
                    continue;
                }
                long start = Stopwatch.GetTimestamp();
                RunSlices(_options.WorkerSliceMs, start, forceProgress: true);
                _tick++;
                double used = ElapsedMs(start);
                // Keep to the CPU share: idle (1/share - 1) times as long as the work took.
                debtMs += used * (1 / _options.WorkerCpuShare - 1);
                if (debtMs >= 1)
                {
                    RestThreads();
                    int sleep = (int)debtMs;
                    _wake.WaitOne(sleep);
                    debtMs -= sleep;
                }
            }
        }

        private readonly Dictionary<string, double> _debugMs = new Dictionary<string, double>();
        private readonly Dictionary<string, int> _debugCount = new Dictionary<string, int>();

        /// <summary>Cancels every request and stops the worker thread.</summary>
        public void Dispose()
        {
            if (Debug)
            {
                foreach (var kv in _debugMs) Console.Error.WriteLine($"sched: {kv.Key} {kv.Value:F0} ms over {(_debugCount.TryGetValue(kv.Key, out var n) ? n : 0)} units");
                if (_debugCount.TryGetValue("prefill-token-layers", out var pt)) Console.Error.WriteLine($"sched: prefill token-layers {pt}");
                foreach (var b in _batches) Console.Error.WriteLine($"sched: {b.Model.SliceCosts.Describe()}");
            }
            lock (_gate)
                foreach (var j in _jobs) j.Cancel();
            _stopping = true;
            _wake.Set();
            _worker?.Join();
            lock (_gate)
            {
                foreach (var j in _jobs) j.Advance(0, 0);
                _jobs.Clear();
            }
            _wake.Dispose();
        }
    }
}
