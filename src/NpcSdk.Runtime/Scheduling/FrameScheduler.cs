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
    /// Advances generation for many sessions within a per-frame time budget. Work is cut into slices that can stop
    /// between any two: a prompt chunk or a decode step, through a range of layers. A cost model measured online decides
    /// whether the next slice fits; higher priority goes first, and waiting requests age so they still progress.
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
        private readonly Dictionary<Model, SliceCostModel> _costs = new Dictionary<Model, SliceCostModel>();
        private readonly ConcurrentQueue<Action> _events = new ConcurrentQueue<Action>();
        private readonly object _gate = new object();
        private readonly AutoResetEvent _wake = new AutoResetEvent(false);
        private readonly Thread? _worker;
        private volatile bool _stopping;
        private int _tick;
        private int _tokensThisTick;

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
                var job = new GenerationHandle(session, request, a => _events.Enqueue(a)) { SubmitTick = _tick };
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

        private int RunSlices(double budgetMs, long start, bool forceProgress)
        {
            int slices = 0;
            while (true)
            {
                var jobs = RankJobs();
                if (jobs.Count == 0) break;
                double remaining = (budgetMs - ElapsedMs(start)) * _options.SafetyFactor;
                double full = budgetMs * _options.SafetyFactor;
                // Only the best-ranked job runs: letting lower-ranked work fill what is left would let ambient chatter
                // reach its first token before the player's NPC whose next slice did not fit this tick.
                GenerationHandle? chosen = null;
                int layers = 0, tokens = 0;
                if (Plan(jobs[0], CostFor(jobs[0].Session.Model), remaining, full, out layers, out tokens)) chosen = jobs[0];
                if (chosen == null)
                {
                    // Nothing fits. A slice larger than the whole budget (one layer of a big model) still has to run
                    // some time, or that request would starve: run the smallest one when nothing else ran this tick
                    // (one layer, of a prompt chunk still sized for the budget, not the largest chunk).
                    if (!forceProgress || slices > 0) break;
                    chosen = jobs[0];
                    if (!Plan(chosen, CostFor(chosen.Session.Model), double.MaxValue, full, out _, out tokens)) break;
                    layers = 1;
                }
                RunSlice(chosen, CostFor(chosen.Session.Model), layers, tokens);
                slices++;
            }
            return slices;
        }

        /// <summary>Unfinished jobs, best first: priority plus aging, submission order on ties.</summary>
        private List<GenerationHandle> RankJobs()
        {
            lock (_gate)
            {
                _jobs.RemoveAll(j =>
                {
                    if (!j.IsFinished && j.CancelRequested) j.Advance(0, 0); // finishes it as cancelled
                    if (!j.IsFinished) return false;
                    _waitingSince.Remove(j);
                    return true;
                });
                var ranked = new List<GenerationHandle>(_jobs);
                var score = new Dictionary<GenerationHandle, double>();
                foreach (var j in ranked) score[j] = j.Priority + Math.Min(_options.MaxAgingBonus, _options.AgingPerTick * (_tick - _waitingSince[j]));
                var order = new Dictionary<GenerationHandle, int>();
                for (int i = 0; i < ranked.Count; i++) order[ranked[i]] = i;
                ranked.Sort((a, b) => score[a] != score[b] ? score[b].CompareTo(score[a]) : order[a].CompareTo(order[b]));
                return ranked;
            }
        }

        private GenerationHandle? PickJob()
        {
            var ranked = RankJobs();
            return ranked.Count > 0 ? ranked[0] : null;
        }

        /// <summary>Chooses the slice for <paramref name="job"/> that fits <paramref name="budgetMs"/>: layers to run and, for a new step, prompt tokens.</summary>
        private bool Plan(GenerationHandle job, SliceCostModel cost, double budgetMs, double fullBudgetMs, out int layers, out int tokens)
        {
            var s = job.Session;
            layers = 0;
            tokens = 0;
            if (!s.HasWork)
            {
                // Only sampling is left (the prompt was all a shared prefix): cheap.
                tokens = 0;
                layers = 0;
                return cost.LogitsMs <= budgetMs;
            }
            int t, remainingLayers;
            bool producesLogits;
            if (s.StepInProgress)
            {
                t = s.StepTokenCount;
                remainingLayers = s.RemainingLayers;
                producesLogits = s.StepProducesLogits;
            }
            else
            {
                // Prompt chunks are sized for a whole tick (at least two layers of one fit), not for what is left of
                // this one: small batches reload every weight per token and make prefill several times slower.
                t = Math.Min(Math.Min(s.PendingCount, s.MaxBatch), Math.Max(1, _options.MaxPrefillChunk));
                while (t > 1 && 2 * cost.LayerMs(t) > fullBudgetMs) t /= 2;
                remainingLayers = s.LayerCount;
                producesLogits = t == s.PendingCount;
            }
            double perLayer = cost.LayerMs(t);
            int n = (int)Math.Min(remainingLayers, Math.Floor(budgetMs / perLayer));
            if (n == remainingLayers && producesLogits && n * perLayer + cost.LogitsMs > budgetMs) n--;
            if (n < 1) return false;
            layers = n;
            tokens = t;
            return true;
        }

        private void RunSlice(GenerationHandle job, SliceCostModel cost, int layers, int tokens)
        {
            var s = job.Session;
            bool newStep = !s.StepInProgress;
            int stepTokens = newStep ? tokens : s.StepTokenCount;
            int before = job.Tokens.Count;
            bool hadWork = s.HasWork;
            long t0 = Stopwatch.GetTimestamp();
            double predicted = cost.LayerMs(stepTokens) * layers + (s.StepProducesLogits ? cost.LogitsMs : 0);
            job.Advance(layers, tokens);
            double ms = ElapsedMs(t0);
            if (Debug)
            {
                lock (_gate)
                {
                    string kind = stepTokens > 1 ? "prefill" : "decode";
                    _debugMs[kind] = (_debugMs.TryGetValue(kind, out var v) ? v : 0) + ms;
                    _debugCount[kind] = (_debugCount.TryGetValue(kind, out var c) ? c : 0) + layers;
                    if (stepTokens > 1 && newStep) _debugCount["prefill-tokens"] = (_debugCount.TryGetValue("prefill-tokens", out var pt) ? pt : 0) + stepTokens;
                }
            }
            if (Debug && ms > predicted + 0.5) Console.Error.WriteLine($"slow slice: {ms:F2} ms vs predicted {predicted:F2} (T={stepTokens}, layers={layers}, newStep={newStep}, logits={s.LastLogitsMs:F2}, sample={job.LastSampleMs:F2}, gen0={GC.CollectionCount(0)})");
            double logitsMs = s.LastLogitsMs + job.LastSampleMs;
            if (s.LastLogitsMs > 0 || job.LastSampleMs > 0) cost.ObserveLogits(logitsMs);
            if (hadWork) cost.ObserveLayers(stepTokens, Math.Min(layers, s.LayerCount), Math.Max(0, ms - logitsMs));
            lock (_gate)
            {
                _waitingSince[job] = _tick;
                _tokensThisTick += job.Tokens.Count - before;
                if (job.FirstTokenTick < 0 && job.Tokens.Count > 0) job.FirstTokenTick = _tick;
            }
        }

        private SliceCostModel CostFor(Model model)
        {
            lock (_gate)
            {
                if (!_costs.TryGetValue(model, out var c))
                {
                    // A first guess from the bytes a decode step reads (4 GB/s), replaced by the first measurement.
                    double layerBytes = (double)model.File.FileSize / (model.Config.LayerCount + 2);
                    c = new SliceCostModel(layerBytes / 4e6, 2 * layerBytes / 4e6 + model.Config.VocabSize * 2e-5);
                    _costs[model] = c;
                }
                return c;
            }
        }

        private void WorkerLoop()
        {
            double debtMs = 0;
            while (!_stopping)
            {
                if (PickJob() == null)
                {
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
                foreach (var kv in _debugMs) Console.Error.WriteLine($"sched: {kv.Key} {kv.Value:F0} ms over {(_debugCount.TryGetValue(kv.Key, out var n) ? n : 0)} layer-steps");
                if (_debugCount.TryGetValue("prefill-tokens", out var pt)) Console.Error.WriteLine($"sched: prefill tokens {pt}");
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
