using System;
using System.Threading;
using NpcSdk.Compute;
using Xunit;

namespace NpcSdk.Runtime.Tests.ComputeKernels
{
    public sealed class WorkerPoolTests
    {
        private sealed class CountingWork : IRangeWork
        {
            public int[] Hits = Array.Empty<int>();

            public void Execute(int start, int end)
            {
                for (int i = start; i < end; i++) Interlocked.Increment(ref Hits[i]);
            }
        }

        private sealed class FailingWork : IRangeWork
        {
            public void Execute(int start, int end)
            {
                if (start <= 5 && 5 < end) throw new InvalidOperationException("item 5");
            }
        }

        [Theory]
        [InlineData(2)]
        [InlineData(3)]
        [InlineData(4)]
        public void Every_Item_Of_Every_Job_Runs_Exactly_Once(int threads)
        {
            using var pool = new WorkerPool(threads);
            var rng = new Random(threads);
            var work = new CountingWork();
            // Thousands of short jobs back to back: a helper that wakes late must never run items of a job that ended.
            for (int job = 0; job < 5000; job++)
            {
                int count = rng.Next(1, 300);
                work.Hits = new int[count];
                pool.Run(count, work, minChunk: rng.Next(1, 8));
                for (int i = 0; i < count; i++) Assert.True(work.Hits[i] == 1, $"job {job}: item {i} ran {work.Hits[i]} times");
            }
        }

        [Fact]
        public void A_Failing_Item_Surfaces_As_An_Exception_And_The_Pool_Keeps_Working()
        {
            using var pool = new WorkerPool(2);
            var e = Assert.Throws<AggregateException>(() => pool.Run(64, new FailingWork()));
            Assert.Contains("item 5", e.InnerException!.Message);
            var work = new CountingWork { Hits = new int[100] };
            pool.Run(100, work);
            Assert.All(work.Hits, h => Assert.Equal(1, h));
        }

        [Fact]
        public void Rest_Parks_The_Helpers_And_The_Next_Job_Wakes_Them()
        {
            using var pool = new WorkerPool(3);
            var work = new CountingWork();
            for (int round = 0; round < 20; round++)
            {
                work.Hits = new int[500];
                pool.Run(500, work);
                Assert.All(work.Hits, h => Assert.Equal(1, h));
                pool.Rest();
                var wait = System.Diagnostics.Stopwatch.StartNew();
                while (pool.ParkedHelpers < 2 && wait.ElapsedMilliseconds < 5000) Thread.Sleep(1);
                Assert.Equal(2, pool.ParkedHelpers);
            }
        }

        [Fact]
        public void Jobs_Finish_While_A_Helper_Is_Parked()
        {
            using var pool = new WorkerPool(2);
            var work = new CountingWork { Hits = new int[1000] };
            pool.Run(1000, work);
            Thread.Sleep(200); // long enough for the helper to stop spinning and park
            work.Hits = new int[1000];
            pool.Run(1000, work);
            Assert.All(work.Hits, h => Assert.Equal(1, h));
        }
    }
}
