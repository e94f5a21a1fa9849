using System;
using System.Threading;

namespace NpcSdk.Compute
{
    /// <summary>Work for <see cref="WorkerPool"/>: processes items [start, end). Implementations are reused across calls so the hot path allocates nothing.</summary>
    internal interface IRangeWork
    {
        void Execute(int start, int end);
    }

    /// <summary>
    /// A small persistent thread pool: the calling thread works too; helpers spin briefly for the next job (a quarter of
    /// a millisecond, enough to bridge the gaps between the matrices of a step), then park, or park at once when told to
    /// <see cref="Rest"/> (a scheduler's tick has ended): a spinner steals the game's cores. Items are handed out in
    /// chunks; which thread computes an item never changes its result, so output is identical for any thread count.
    /// </summary>
    /// <remarks>
    /// A job ends when its items are done, not when every helper has checked in: a helper that is parked or descheduled
    /// (the game's own threads compete for the same cores) costs nothing, because the threads that are running take its
    /// share. Chunks are claimed with one compare-and-swap on <see cref="_state"/>, which packs the job's generation
    /// (high 32 bits; odd = no job open) with the next unclaimed item (low 32 bits), so a helper that wakes late can never
    /// claim items of a job that has ended.
    /// </remarks>
    internal sealed class WorkerPool : IDisposable
    {
        /// <summary>How long a helper spins for the next job before it parks.</summary>
        private static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 4000;
        private readonly Thread[] _threads;
        private readonly object _gate = new object();
        private readonly object _runGate = new object();
        private IRangeWork? _work;
        private int _count;
        private int _chunk;
        private long _state = 1L << 32;
        private int _done;
        private volatile bool _disposed;
        private volatile bool _resting;
        private int _parked; // guarded by _gate
        private Exception? _failure;

        public WorkerPool(int threadCount)
        {
            if (threadCount < 1) throw new ArgumentOutOfRangeException(nameof(threadCount), threadCount, "at least 1 thread");
            ThreadCount = threadCount;
            _threads = new Thread[threadCount - 1];
            for (int i = 0; i < _threads.Length; i++)
            {
                _threads[i] = new Thread(WorkerLoop) { IsBackground = true, Name = $"NpcSdk worker {i + 1}" };
                _threads[i].Start();
            }
        }

        /// <summary>Total threads that compute, the caller included.</summary>
        public int ThreadCount { get; }

        /// <summary>The default for a game: physical cores − 1 (the game keeps one), at least 1.</summary>
        public static int DefaultThreadCount => Math.Max(1, Environment.ProcessorCount - 1);

        /// <summary>Runs <paramref name="work"/> over [0, count) on all threads; returns when every item is done.</summary>
        /// <param name="count">Number of items.</param>
        /// <param name="work">What to do with a range of items.</param>
        /// <param name="minChunk">Smallest number of items worth handing to one thread.</param>
        public void Run(int count, IRangeWork work, int minChunk = 1)
        {
            if (count <= 0) return;
            if (ThreadCount == 1 || count <= minChunk)
            {
                work.Execute(0, count);
                return;
            }
            // One job at a time: sessions of one model may be driven from two threads (a worker scheduler and the game).
            lock (_runGate) RunLocked(count, work, minChunk);
        }

        private void RunLocked(int count, IRangeWork work, int minChunk)
        {
            // The job is closed (odd generation) here, so no helper reads these fields while they change.
            _work = work;
            _count = count;
            _chunk = Math.Max(minChunk, (count + ThreadCount * 4 - 1) / (ThreadCount * 4));
            _failure = null;
            _resting = false;
            Volatile.Write(ref _done, 0);
            long generation = (Volatile.Read(ref _state) >> 32) + 1;
            Interlocked.Exchange(ref _state, generation << 32);
            lock (_gate) Monitor.PulseAll(_gate);
            Drain(generation);
            // Never SpinWait.SpinOnce here: it escalates to Sleep(1), a whole millisecond lost per matrix.
            int spins = 0;
            while (Volatile.Read(ref _done) < count)
            {
                if (++spins % 64 == 0) Thread.Yield();
                else Thread.SpinWait(10);
            }
            Interlocked.Exchange(ref _state, (generation + 1) << 32);
            _work = null;
            if (_failure != null) throw new AggregateException("a worker thread failed", _failure);
        }

        /// <summary>Claims and runs chunks of job <paramref name="generation"/> until none is left or the job has ended.</summary>
        private void Drain(long generation)
        {
            while (true)
            {
                long state = Volatile.Read(ref _state);
                if (state >> 32 != generation) return;
                // Read before the claim: if the claim succeeds the job was still open, so these are its fields.
                var work = _work;
                int count = _count;
                int start = (int)state;
                if (work == null || start >= count) return;
                int end = Math.Min(count, start + _chunk);
                if (Interlocked.CompareExchange(ref _state, state + (end - start), state) != state) continue;
                try
                {
                    work.Execute(start, end);
                }
                catch (Exception e)
                {
                    _failure = e;
                }
                Interlocked.Add(ref _done, end - start);
            }
        }

        private void WorkerLoop()
        {
            long seen = 1;
            while (true)
            {
                long spinUntil = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
                long generation;
                while (!IsNewJob(generation = Volatile.Read(ref _state) >> 32, seen) && !_disposed)
                {
                    if (!_resting && System.Diagnostics.Stopwatch.GetTimestamp() < spinUntil)
                    {
                        Thread.SpinWait(20);
                        continue;
                    }
                    lock (_gate)
                    {
                        _parked++;
                        while (!IsNewJob(Volatile.Read(ref _state) >> 32, seen) && !_disposed) Monitor.Wait(_gate);
                        _parked--;
                    }
                }
                if (_disposed) return;
                seen = generation;
                Drain(generation);
            }
        }

        /// <summary>
        /// Parks the helpers now rather than after their spin: for the end of a scheduler's tick, when no job follows for
        /// the rest of the frame. The next job wakes them.
        /// </summary>
        public void Rest() => _resting = true;

        /// <summary>Helpers parked now (for tests).</summary>
        internal int ParkedHelpers
        {
            get
            {
                lock (_gate) return _parked;
            }
        }

        private static bool IsNewJob(long generation, long seen) => (generation & 1) == 0 && generation != seen;

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            lock (_gate) Monitor.PulseAll(_gate);
            foreach (var t in _threads) t.Join();
        }
    }
}
