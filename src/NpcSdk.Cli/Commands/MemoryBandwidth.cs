using System;
using System.Diagnostics;
using System.Linq;
using System.Runtime.Intrinsics;
using System.Threading;

namespace NpcSdk.Cli.Commands
{
    /// <summary>
    /// This machine's read-bandwidth ceiling, measured like ../shared/bench/membw.c: sum a buffer far larger than the
    /// caches with wide loads, best of several passes. Batch-1 decode cannot beat bandwidth / bytes of weights.
    /// With <c>hugePages</c> the buffer is a <see cref="NpcSdk.Native.WeightArena"/> on 2 MiB pages, as a model's
    /// weights are where Linux offers them: reads run faster there (fewer TLB misses, prefetchers not stopped every 4 KiB),
    /// so that is the ceiling such weights are held to.
    /// </summary>
    internal sealed unsafe class MemoryBandwidth : IDisposable
    {
        private readonly NpcSdk.Native.WeightArena _arena;
        private readonly long* _data;
        private readonly long _n;

        /// <summary>Allocates and fills the buffer (<paramref name="megabytes"/> MiB), kept for every measurement.</summary>
        public MemoryBandwidth(bool hugePages = false, int megabytes = 512)
        {
            _n = (long)megabytes * 1024 * 1024 / sizeof(long);
            _arena = new NpcSdk.Native.WeightArena(_n * sizeof(long), hugePages);
            _data = (long*)_arena.TryAllocate(_n * sizeof(long));
            for (long i = 0; i < _n; i++) _data[i] = i;
        }

        public void Dispose() => _arena.Dispose();

        /// <summary>GB/s read by <paramref name="threads"/> threads, best of <paramref name="passes"/> passes over the buffer.</summary>
        public double MeasureGBps(int threads, int passes = 8)
        {
            long* data = _data;
            long n = _n;
            long chunk = n / threads;
            long total = 0;
            var starts = new long[threads];
            var ends = new long[threads];
            double best = 0;
            // Threads of their own, each timing its own sum: a pass lasts from the first start to the last end. (With
            // thread-pool workers the second one sometimes started late, and the 2-thread figure came out anywhere from
            // 31 to 58 GB/s; timing from the coordinating thread instead counts its own wake-up, in either direction.)
            using var start = new Barrier(threads + 1);
            using var done = new Barrier(threads + 1);
            var workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                int id = t;
                workers[t] = new Thread(() =>
                {
                    for (int p = 0; p < passes; p++)
                    {
                        start.SignalAndWait();
                        starts[id] = Stopwatch.GetTimestamp();
                        long s = Sum(data, id * chunk, id == threads - 1 ? n : (id + 1) * chunk);
                        ends[id] = Stopwatch.GetTimestamp();
                        Interlocked.Add(ref total, s);
                        done.SignalAndWait();
                    }
                }) { IsBackground = true };
                workers[t].Start();
            }
            for (int p = 0; p < passes; p++)
            {
                start.SignalAndWait();
                done.SignalAndWait();
                double seconds = (double)(ends.Max() - starts.Min()) / Stopwatch.Frequency;
                best = Math.Max(best, n * sizeof(long) / seconds / 1e9);
            }
            foreach (var w in workers) w.Join();
            if (total == 42) Console.Write(""); // keep the sums alive
            return best;
        }

        private static long Sum(long* data, long start, long end)
        {
            var acc0 = Vector256<long>.Zero;
            var acc1 = Vector256<long>.Zero;
            long i = start;
            for (; i + 8 <= end; i += 8)
            {
                acc0 += Vector256.Load(data + i);
                acc1 += Vector256.Load(data + i + 4);
            }
            long s = Vector256.Sum(acc0 + acc1);
            for (; i < end; i++) s += data[i];
            return s;
        }
    }
}
