namespace NpcSdk.Scheduling
{
    /// <summary>How the scheduler gets CPU time.</summary>
    public enum SchedulerMode
    {
        /// <summary>The game calls <see cref="FrameScheduler.Tick(double)"/> once per frame with a time budget.</summary>
        MainThread,
        /// <summary>A background thread runs the work; the game calls <see cref="FrameScheduler.DispatchEvents"/> to receive results.</summary>
        Worker,
    }

    /// <summary>Options of a <see cref="FrameScheduler"/>.</summary>
    public sealed class SchedulerOptions
    {
        /// <summary>Main-thread ticking (default) or a worker thread.</summary>
        public SchedulerMode Mode { get; set; } = SchedulerMode.MainThread;

        /// <summary>Worker mode: the share of one core's time the worker thread may use (0..1].</summary>
        public double WorkerCpuShare { get; set; } = 1.0;

        /// <summary>Worker mode: the longest slice of work between two checks for new requests and cancellations.</summary>
        public double WorkerSliceMs { get; set; } = 4.0;

        /// <summary>Priority points a waiting request gains per tick without a slice, so low-priority work still progresses.</summary>
        public double AgingPerTick { get; set; } = 0.1;

        /// <summary>
        /// Most priority points waiting can add (default: no limit, so every request eventually runs). Set it below the
        /// gap between the player's NPC and ambient ones and a waiting ambient request never outranks the player's; ambient
        /// work then runs only in time the player's request leaves unused or while it waits, and can starve.
        /// </summary>
        public double MaxAgingBonus { get; set; } = double.PositiveInfinity;

        /// <summary>Most prompt tokens evaluated in one slice.</summary>
        public int MaxPrefillChunk { get; set; } = 32;

        /// <summary>
        /// Most requests on one model whose next generated tokens go through the layers together, each weight matrix
        /// read once for all (the tokens are the same as one at a time). 1 turns batching off.
        /// </summary>
        public int MaxDecodeBatch { get; set; } = 8;

        /// <summary>
        /// Fraction of the budget units of work are predicted to fill; the rest absorbs timing noise (a unit that runs
        /// long cannot be interrupted). Predictions already carry a margin of two mean deviations.
        /// </summary>
        public double SafetyFactor { get; set; } = 0.95;
    }

    /// <summary>What one <see cref="FrameScheduler.Tick(double)"/> did.</summary>
    public readonly struct TickReport
    {
        internal TickReport(double budgetMs, double elapsedMs, int slices, int tokens, int pendingJobs)
        {
            BudgetMs = budgetMs;
            ElapsedMs = elapsedMs;
            Slices = slices;
            TokensGenerated = tokens;
            PendingRequests = pendingJobs;
        }

        /// <summary>The budget given.</summary>
        public double BudgetMs { get; }

        /// <summary>Time spent in the tick.</summary>
        public double ElapsedMs { get; }

        /// <summary>Slices of work run.</summary>
        public int Slices { get; }

        /// <summary>Tokens generated during the tick.</summary>
        public int TokensGenerated { get; }

        /// <summary>Requests still unfinished after the tick.</summary>
        public int PendingRequests { get; }
    }
}
