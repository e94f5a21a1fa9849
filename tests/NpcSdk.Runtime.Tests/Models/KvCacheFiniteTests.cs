using System;
using System.Linq;
using NpcSdk.Gguf;
using NpcSdk.Models;
using NpcSdk.Tests;
using Xunit;

namespace NpcSdk.Runtime.Tests.Models;

/// <summary>
/// Attention widens an F16 cache with arithmetic exact for finite values only while the cache knows its values are
/// finite (<see cref="KvCache.FiniteHalves"/>); a key beyond F16's range (stored as an infinity) must switch it back to
/// the exact conversion.
/// </summary>
public class KvCacheFiniteTests
{
    private static ModelConfig NpcConfig()
    {
        using var file = GgufFile.Open(TestPaths.Model("npc-q8_0.gguf"));
        return ModelConfig.FromGguf(file);
    }

    [Fact]
    public void A_Value_Beyond_F16_Range_Clears_FiniteHalves_Until_The_Cache_Is_Cleared()
    {
        var c = NpcConfig();
        var cache = new KvCache(2, 64, c.KvDim, c.HeadDim, KvCacheType.F16);
        var k = Enumerable.Range(0, c.KvDim).Select(i => (float)Math.Sin(i)).ToArray();
        var v = Enumerable.Range(0, c.KvDim).Select(i => (float)Math.Cos(i) * 60000).ToArray(); // large, still finite in F16
        cache.Store(0, 0, k, v);
        cache.Store(1, 0, k, v);
        Assert.True(cache.FiniteHalves);

        v[c.KvDim - 1] = 70000; // rounds to an F16 infinity; the last element, past every whole vector of the row
        cache.Store(1, 1, k, v);
        Assert.False(cache.FiniteHalves);

        // A session sharing this cache as its prefix reads that infinity too.
        var session = new KvCache(2, 64, c.KvDim, c.HeadDim, KvCacheType.F16);
        session.AttachShared(cache, 2);
        Assert.False(session.FiniteHalves);

        cache.Clear();
        Assert.True(cache.FiniteHalves);
        k[3] = float.NaN;
        cache.LoadRow(0, 0, keys: true, SavedRow(c, k));
        Assert.False(cache.FiniteHalves);
    }

    [Fact]
    public void Q8_0_And_F32_Caches_Never_Claim_Finite_Halves()
    {
        var c = NpcConfig();
        var k = new float[c.KvDim];
        k[0] = 1e30f;
        foreach (var type in new[] { KvCacheType.F32, KvCacheType.Q8_0 })
        {
            var cache = new KvCache(1, 16, c.KvDim, c.HeadDim, type);
            cache.Store(0, 0, k, k);
            Assert.False(cache.FiniteHalves);
        }
    }

    [Fact]
    public void An_Infinite_Key_Reaches_The_Scores_As_An_Infinity()
    {
        var c = NpcConfig();
        var rng = new Random(3);
        var cache = new KvCache(1, 64, c.KvDim, c.HeadDim, KvCacheType.F16);
        var k = new float[c.KvDim];
        var v = new float[c.KvDim];
        for (int p = 0; p < 20; p++)
        {
            for (int i = 0; i < k.Length; i++)
            {
                k[i] = (float)(rng.NextDouble() * 2 - 1);
                v[i] = (float)(rng.NextDouble() * 2 - 1);
            }
            if (p == 7) Array.Fill(k, 1e6f, 0, c.HeadDim); // every element of kv head 0's key: an F16 infinity
            cache.Store(0, p, k, v);
        }
        var q = Enumerable.Range(0, c.QueryDim).Select(i => 0.5f + (float)rng.NextDouble()).ToArray(); // positive
        var output = new float[c.QueryDim];
        var attention = new Attention(c);
        attention.Set(cache, 0, q, output, 19, 1, batched: false, native: false);
        attention.Execute(0, c.HeadCount);
        // The heads of kv head 0 score +infinity there, so their softmax is NaN, as in llama.cpp; a finite-only
        // widening would have read the key as 2^16-ish and given a finite, one-hot answer.
        int headsPerKv = c.HeadCount / c.KvHeadCount;
        for (int h = 0; h < c.HeadCount; h++)
        {
            var head = output.AsSpan(h * c.HeadDim, c.HeadDim).ToArray();
            if (h < headsPerKv) Assert.Contains(head, float.IsNaN);
            else Assert.All(head, x => Assert.True(float.IsFinite(x)));
        }
    }

    private static byte[] SavedRow(ModelConfig c, float[] values)
    {
        var row = new byte[2 * c.KvDim];
        NpcSdk.Tensors.Quantizer.QuantizeRow(NpcSdk.Tensors.TensorType.F16, values, row);
        return row;
    }
}
