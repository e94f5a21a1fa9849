using System;
using System.Collections.Generic;
using System.Linq;
using NpcSdk.Sampling;
using Xunit;

namespace NpcSdk.Tests.Sampling
{
    public sealed class SamplerTests
    {
        private static readonly int[] NoHistory = Array.Empty<int>();

        private static float[] Logits(params float[] values) => values;

        private static int[] Survivors(ISampler sampler, float[] logits, IReadOnlyList<int>? history = null)
        {
            var c = new TokenCandidates();
            c.Reset(logits);
            sampler.Apply(c, history ?? NoHistory);
            return c.Ids.ToArray().OrderBy(i => i).ToArray();
        }

        [Fact]
        public void Greedy_Picks_Argmax_And_Lowest_Id_On_Ties()
        {
            var chain = new SamplerChain(SamplingOptions.Greedy);
            Assert.Equal(2, chain.Sample(Logits(0f, 1f, 3f, 2f), NoHistory));
            Assert.Equal(1, chain.Sample(Logits(0f, 3f, 3f, 2f), NoHistory));
        }

        [Fact]
        public void TopK_Keeps_The_K_Best()
        {
            Assert.Equal(new[] { 1, 3 }, Survivors(new TopKSampler(2), Logits(0f, 5f, 1f, 4f)));
        }

        [Fact]
        public void TopP_Keeps_The_Smallest_Set_Reaching_P()
        {
            // probabilities ~ 0.665, 0.245, 0.090
            var logits = Logits(MathF.Log(0.665f), MathF.Log(0.245f), MathF.Log(0.090f));
            Assert.Equal(new[] { 0 }, Survivors(new TopPSampler(0.6f), logits));
            Assert.Equal(new[] { 0, 1 }, Survivors(new TopPSampler(0.8f), logits));
            Assert.Equal(new[] { 0, 1, 2 }, Survivors(new TopPSampler(0.95f), logits));
        }

        [Fact]
        public void MinP_Drops_Tokens_Below_P_Times_The_Best()
        {
            var logits = Logits(MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.04f));
            Assert.Equal(new[] { 0, 1 }, Survivors(new MinPSampler(0.1f), logits));
            Assert.Equal(new[] { 0 }, Survivors(new MinPSampler(0.7f), logits));
        }

        [Fact]
        public void Penalties_Lower_Seen_Tokens_Only()
        {
            var c = new TokenCandidates();
            c.Reset(Logits(2f, 2f, -2f, 2f));
            new PenaltySampler(lastN: 64, repeat: 2f, presence: 0.5f, frequency: 0.25f).Apply(c, new[] { 0, 0, 2 });
            var byId = c.Ids.ToArray().Zip(c.Logits.ToArray()).ToDictionary(p => p.First, p => p.Second);
            Assert.Equal(2f / 2f - 2 * 0.25f - 0.5f, byId[0], 5);
            Assert.Equal(2f, byId[1]);
            Assert.Equal(-2f * 2f - 0.25f - 0.5f, byId[2], 5);
        }

        [Fact]
        public void Logit_Bias_Can_Ban_A_Token()
        {
            var options = SamplingOptions.Greedy;
            options.LogitBias = new Dictionary<int, float> { [2] = float.NegativeInfinity };
            Assert.Equal(3, new SamplerChain(options).Sample(Logits(0f, 1f, 3f, 2f), NoHistory));
        }

        [Fact]
        public void Same_Seed_Gives_Same_Draws_And_Different_Seeds_Differ()
        {
            var rng = new Random(7);
            var rows = Enumerable.Range(0, 200).Select(_ => Enumerable.Range(0, 50).Select(__ => (float)rng.NextDouble() * 4).ToArray()).ToArray();
            int[] Draw(ulong seed)
            {
                var chain = new SamplerChain(new SamplingOptions { Temperature = 1.0f, TopK = 0, TopP = 1f, MinP = 0f, Seed = seed });
                return rows.Select(r => chain.Sample(r, NoHistory)).ToArray();
            }
            Assert.Equal(Draw(42), Draw(42));
            Assert.NotEqual(Draw(42), Draw(43));
        }

        [Fact]
        public void Sampling_Follows_The_Softmax_Distribution()
        {
            var chain = new SamplerChain(new SamplingOptions { Temperature = 1.0f, TopK = 0, TopP = 1f, MinP = 0f, Seed = 1 });
            var logits = Logits(MathF.Log(0.6f), MathF.Log(0.3f), MathF.Log(0.1f));
            var counts = new int[3];
            for (int i = 0; i < 20000; i++) counts[chain.Sample(logits, NoHistory)]++;
            Assert.InRange(counts[0] / 20000.0, 0.58, 0.62);
            Assert.InRange(counts[1] / 20000.0, 0.28, 0.32);
            Assert.InRange(counts[2] / 20000.0, 0.08, 0.12);
        }

        [Fact]
        public void Low_Temperature_Sharpens_The_Distribution()
        {
            var chain = new SamplerChain(new SamplingOptions { Temperature = 0.1f, TopK = 0, TopP = 1f, MinP = 0f, Seed = 3 });
            var logits = Logits(1.0f, 0.5f);
            int first = Enumerable.Range(0, 1000).Count(_ => chain.Sample(logits, NoHistory) == 0);
            Assert.True(first > 980, $"{first}/1000");
        }

        [Fact]
        public void Random_State_Round_Trips()
        {
            var a = new SamplerRandom(99);
            a.NextUInt64();
            var b = new SamplerRandom(0);
            b.SetState(a.GetState());
            Assert.Equal(a.NextUInt64(), b.NextUInt64());
        }
    }
}

namespace NpcSdk.Tests.Sampling
{
    public sealed class TopKSelectionTests
    {
        [Fact]
        public void Heap_Selection_Equals_A_Full_Sort_Including_Ties()
        {
            var rng = new System.Random(11);
            foreach (int n in new[] { 50, 4096, 30000 })
                foreach (int k in new[] { 1, 5, 40 })
                {
                    // Few distinct values, so ties are everywhere.
                    var logits = Enumerable.Range(0, n).Select(_ => (float)rng.Next(0, 64) / 8f).ToArray();
                    var fast = new TokenCandidates();
                    fast.Reset(logits);
                    fast.KeepTop(k);
                    var slow = new TokenCandidates();
                    slow.Reset(logits);
                    slow.Sort();
                    slow.Truncate(k);
                    Assert.Equal(slow.Ids.ToArray(), fast.Ids.ToArray());
                    Assert.Equal(slow.Logits.ToArray(), fast.Logits.ToArray());
                }
        }
    }
}

namespace NpcSdk.Tests.Sampling
{
    public sealed class SamplerAllocationTests
    {
        [Fact]
        public void A_Chain_Per_Request_Does_Not_Allocate_Vocabulary_Sized_Buffers()
        {
            const int vocab = 150_000;
            var rng = new Random(4);
            var logits = Enumerable.Range(0, vocab).Select(_ => (float)(rng.NextDouble() * 10)).ToArray();
            var history = new List<int> { 1, 2, 3 };
            var options = new SamplingOptions { Temperature = 0.8f, Seed = 9, TopK = 40 };
            new SamplerChain(options).Sample(logits, history); // this thread's candidate list exists from now on
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 5; i++) new SamplerChain(options).Sample(logits, history);
            long perRequest = (GC.GetAllocatedBytesForCurrentThread() - before) / 5;
            // One float array of the vocabulary alone would be 600 KB.
            Assert.True(perRequest < 64 * 1024, $"{perRequest} bytes per request");
        }
    }
}
