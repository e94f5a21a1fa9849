using System;
using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Threading;

namespace NpcSdk.Cli.Commands
{
    /// <summary>
    /// This machine's read-bandwidth ceiling, measured like ../shared/bench/membw.c: sum a buffer far larger than the
    /// caches with wide loads, best of several passes. Batch-1 decode cannot beat bandwidth / bytes of weights.
    /// </summary>
    internal static class MemoryBandwidth
    {
        public static double MeasureGBps(int threads, int megabytes = 512, int passes = 8)
        {
            long n = (long)megabytes * 1024 * 1024 / sizeof(long);
            var data = GC.AllocateUninitializedArray<long>((int)n);
            for (long i = 0; i < n; i++) data[i] = i;
            long chunk = n / threads;
            long total = 0;
            double best = 0;
            // Threads of their own, started and waiting before the clock starts: with thread-pool workers the second
            // one sometimes started late, and the 2-thread figure came out anywhere from 31 to 58 GB/s.
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
                        long s = Sum(data, id * chunk, id == threads - 1 ? n : (id + 1) * chunk);
                        Interlocked.Add(ref total, s);
                        done.SignalAndWait();
                    }
                }) { IsBackground = true };
                workers[t].Start();
            }
            for (int p = 0; p < passes; p++)
            {
                start.SignalAndWait();
                var sw = Stopwatch.StartNew();
                done.SignalAndWait();
                double seconds = sw.Elapsed.TotalSeconds;
                best = Math.Max(best, n * sizeof(long) / seconds / 1e9);
            }
            foreach (var w in workers) w.Join();
            if (total == 42) Console.Write(""); // keep the sums alive
            return best;
        }

        private static long Sum(long[] data, long start, long end)
        {
            var acc0 = Vector256<long>.Zero;
            var acc1 = Vector256<long>.Zero;
            long i = start;
            var span = data.AsSpan();
            for (; i + 8 <= end; i += 8)
            {
                acc0 += Vector256.Create<long>(span.Slice((int)i, 4));
                acc1 += Vector256.Create<long>(span.Slice((int)i + 4, 4));
            }
            long s = Vector256.Sum(acc0 + acc1);
            for (; i < end; i++) s += data[i];
            return s;
        }
    }
}
