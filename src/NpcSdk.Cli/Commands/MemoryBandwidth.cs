using System;
using System.Diagnostics;
using System.Runtime.Intrinsics;
using System.Threading.Tasks;

namespace NpcSdk.Cli.Commands
{
    /// <summary>
    /// This machine's read-bandwidth ceiling, measured like ../shared/bench/membw.c: sum a buffer far larger than the
    /// caches with wide loads, best of several passes. Batch-1 decode cannot beat bandwidth / bytes of weights.
    /// </summary>
    internal static class MemoryBandwidth
    {
        public static double MeasureGBps(int threads, int megabytes = 512, int passes = 5)
        {
            long n = (long)megabytes * 1024 * 1024 / sizeof(long);
            var data = GC.AllocateUninitializedArray<long>((int)n);
            for (long i = 0; i < n; i++) data[i] = i;
            double best = 0;
            for (int p = 0; p < passes; p++)
            {
                var sw = Stopwatch.StartNew();
                long chunk = n / threads;
                long total = 0;
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    long s = Sum(data, t * chunk, t == threads - 1 ? n : (t + 1) * chunk);
                    System.Threading.Interlocked.Add(ref total, s);
                });
                double seconds = sw.Elapsed.TotalSeconds;
                if (total == 42) Console.Write(""); // keep the sum alive
                best = Math.Max(best, n * sizeof(long) / seconds / 1e9);
            }
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
