using System;
using NpcSdk.Gguf;
using NpcSdk.Models;
using NpcSdk.Tests;
using Xunit;

namespace NpcSdk.Runtime.Tests.Models;

/// <summary>
/// Attention takes a token's query heads that share a kv head together (each cached key and value read once for the
/// group); one head per call takes the per-head path that the llama.cpp reference tests check. Both must give the
/// same bits, in one-token steps and in batches (tinyBLAS scores and eight value classes for an F16 cache).
/// </summary>
public class GroupedAttentionTests
{
    [Theory]
    [InlineData("npc-q8_0.gguf", KvCacheType.F16)] // 6 heads over 2 kv heads of 64: groups of 3
    [InlineData("npc-q8_0.gguf", KvCacheType.F32)]
    [InlineData("npc-q8_0.gguf", KvCacheType.Q8_0)]
    [InlineData("fx-qwen2-Q8_0.gguf", KvCacheType.F16)] // 4 over 2 of 64: groups of 2
    [InlineData("fx-llama-Q8_0.gguf", KvCacheType.F16)] // 8 over 2 of 32: groups of 4, taken as 3 + 1
    [InlineData("fx-llama-Q8_0.gguf", KvCacheType.F32)]
    [InlineData("fx-llama-Q8_0.gguf", KvCacheType.Q8_0)]
    public void Grouped_Heads_Give_The_Bits_Of_One_Head_At_A_Time(string model, KvCacheType type)
    {
        using var file = GgufFile.Open(TestPaths.Model(model));
        var c = ModelConfig.FromGguf(file);
        Assert.True(c.HeadCount > c.KvHeadCount);
        var rng = new Random(7);
        var cache = new KvCache(1, 300, c.KvDim, c.HeadDim, type);
        var k = new float[c.KvDim];
        var v = new float[c.KvDim];
        var q = new float[3 * c.QueryDim];
        // Lengths below one 8-key step, with leftovers, and past 32 classes of values.
        foreach (int len in new[] { 1, 5, 8, 13, 40, 257 })
        {
            for (int p = 0; p < len; p++)
            {
                for (int i = 0; i < k.Length; i++)
                {
                    k[i] = (float)(rng.NextDouble() * 4 - 2);
                    v[i] = (float)(rng.NextDouble() * 4 - 2);
                }
                cache.Store(0, p, k, v);
            }
            for (int i = 0; i < q.Length; i++) q[i] = (float)(rng.NextDouble() * 4 - 2);

            // The last token alone (a decode step), and the last three as a batch (a prompt chunk's arithmetic).
            foreach (int tokens in new[] { 1, 3 })
            {
                if (tokens > len) continue;
                int items = tokens * c.HeadCount;
                var grouped = new float[tokens * c.QueryDim];
                var attention = new Attention(c);
                attention.Set(cache, 0, q, grouped, len - tokens, tokens, batched: tokens > 1, native: false);
                attention.Execute(0, items);

                var alone = new float[tokens * c.QueryDim];
                attention.Set(cache, 0, q, alone, len - tokens, tokens, batched: tokens > 1, native: false);
                for (int item = 0; item < items; item++) attention.Execute(item, item + 1);

                for (int i = 0; i < alone.Length; i++)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(alone[i]) == BitConverter.SingleToInt32Bits(grouped[i]),
                        $"{model} {type} len {len}, {tokens} tokens: element {i} (head {i / c.HeadDim}) {grouped[i]:R} grouped vs {alone[i]:R} alone");
                }
                Assert.Contains(alone, x => x != 0);
            }
        }
    }
}
