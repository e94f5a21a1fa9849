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
    /// A small persistent thread pool: the calling thread works too; helpers spin briefly for the next job, then park
    /// (a never-parking spinner steals the game's cores). Items are handed out in chunks; which thread computes an item
    /// never changes its result, so output is identical for any thread count.
    /// </summary>
    internal sealed class WorkerPool : IDisposable
    {
        private const int SpinIterations = 20000;
        private readonly Thread[] _threads;
        private readonly object _gate = new object();
        private IRangeWork? _work;
        private int _count;
        private int _chunk;
        private int _next;
        private int _pending;
        private long _generation;
        private volatile bool _disposed;
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

        private readonly object _runGate = new object();

        private void RunLocked(int count, IRangeWork work, int minChunk)
        {
            int chunk = Math.Max(minChunk, (count + ThreadCount * 4 - 1) / (ThreadCount * 4));
            _work = work;
            _count = count;
            _chunk = chunk;
            _failure = null;
            Volatile.Write(ref _next, 0);
            Volatile.Write(ref _pending, _threads.Length);
            lock (_gate)
            {
                Interlocked.Increment(ref _generation);
                Monitor.PulseAll(_gate);
            }
            try
            {
                Drain();
            }
            catch (Exception e)
            {
                _failure = e;
                Volatile.Write(ref _next, int.MaxValue / 2);
            }
            // Never SpinWait.SpinOnce here: it escalates to Sleep(1), a whole millisecond lost per matrix.
            int spins = 0;
            while (Volatile.Read(ref _pending) != 0)
            {
                if (++spins % 64 == 0) Thread.Yield();
                else Thread.SpinWait(10);
            }
            _work = null;
            if (_failure != null) throw new AggregateException("a worker thread failed", _failure);
        }

        private void Drain()
        {
            var work = _work!;
            while (true)
            {
                int start = Interlocked.Add(ref _next, _chunk) - _chunk;
                if (start >= _count) return;
                work.Execute(start, Math.Min(_count, start + _chunk));
            }
        }

        private void WorkerLoop()
        {
            long seen = 0;
            while (true)
            {
                int spins = 0;
                while (Interlocked.Read(ref _generation) == seen && !_disposed)
                {
                    if (++spins < SpinIterations)
                    {
                        Thread.SpinWait(20);
                        continue;
                    }
                    lock (_gate)
                    {
                        while (Interlocked.Read(ref _generation) == seen && !_disposed) Monitor.Wait(_gate);
                    }
                }
                if (_disposed) return;
                seen = Interlocked.Read(ref _generation);
                try
                {
                    Drain();
                }
                catch (Exception e)
                {
                    _failure = e;
                    Volatile.Write(ref _next, int.MaxValue / 2);
                }
                Interlocked.Decrement(ref _pending);
            }
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            lock (_gate) Monitor.PulseAll(_gate);
            foreach (var t in _threads) t.Join();
        }
    }
}
