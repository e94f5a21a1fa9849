using System;
using System.Collections.Generic;
using System.Linq;
using NpcSdk.Generation;
using NpcSdk.Models;
using NpcSdk.Tests;
using Xunit;

namespace NpcSdk.Runtime.Tests.ComputeKernels; // not "...Tests.Compute": that would shadow NpcSdk.Compute for sibling test namespaces

/// <summary>
/// Logits must not depend on the thread count, nor on how an evaluation is sliced into forward steps: every output
/// element is computed by one fixed sequence of operations.
/// </summary>
public class DeterminismTests
{
    private static readonly int[] Prompt = { 1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 300, 301, 302 };

    /// <summary>Logits after the prompt (at every position when <paramref name="everyPosition"/>) and after three greedy tokens.</summary>
    private static List<float[]> SessionLogits(string modelFile, int threads, int batchSize, bool everyPosition = true)
    {
        using var model = Model.Load(TestPaths.Model(modelFile), new ModelOptions { Threads = threads });
        using var session = model.CreateSession(new SessionOptions { KvCacheType = KvCacheType.F32, ContextLength = 512, BatchSize = batchSize });
        var all = new List<float[]>();
        if (everyPosition) session.Evaluate(Prompt, (pos, logits) => all.Add((float[])logits.Clone()));
        else
        {
            session.Evaluate(Prompt);
            all.Add(session.Logits.ToArray());
        }
        for (int i = 0; i < 3; i++)
        {
            session.Evaluate(new[] { NpcSdk.Compute.VectorOps.ArgMax(session.Logits) });
            all.Add(session.Logits.ToArray());
        }

        return all;
    }

    [Theory]
    [InlineData("fx-llama-Q4_K_M.gguf")] // repacked gemm and gemv
    [InlineData("fx-llama-F16.gguf")]    // tinyBLAS and vec_dot
    [InlineData("fx-qwen2-Q8_0.gguf")]
    public void Logits_Do_Not_Depend_On_The_Thread_Count(string modelFile)
    {
        var one = SessionLogits(modelFile, threads: 1, batchSize: 64);
        var three = SessionLogits(modelFile, threads: 3, batchSize: 64);
        Assert.Equal(one.Count, three.Count);
        for (int i = 0; i < one.Count; i++) Assert.Equal(one[i], three[i]);
    }

    [Theory]
    [InlineData("fx-llama-F16.gguf")]
    [InlineData("fx-qwen2-Q8_0.gguf")]
    public void A_Prompt_Sliced_Into_Single_Tokens_Gives_The_Batched_Logits(string modelFile)
    {
        var whole = SessionLogits(modelFile, threads: 1, batchSize: 64, everyPosition: false);
        var single = SessionLogits(modelFile, threads: 1, batchSize: 1, everyPosition: false);
        for (int i = 0; i < whole.Count; i++) Assert.Equal(whole[i], single[i]);
    }

    [Theory]
    [InlineData("fx-llama-Q4_K_M.gguf")]
    [InlineData("fx-llama-F16.gguf")]
    [InlineData("fx-llama-Q8_0.gguf")]
    public void Steps_That_State_Their_Place_In_The_Evaluation_Give_The_Whole_Evaluation_Logits(string modelFile)
    {
        using var model = Model.Load(TestPaths.Model(modelFile), new ModelOptions { Threads = 2 });
        var c = model.Config;
        float[][] Run(int[] slices)
        {
            var cache = new KvCache(c.LayerCount, 512, c.KvDim, c.HeadDim, KvCacheType.F32);
            var pass = new ForwardPass(model.Transformer, 16, model.Pool);
            var logits = new float[Prompt.Length][];
            int offset = 0;
            foreach (int n in slices)
            {
                pass.Begin(Prompt.AsSpan(offset, n), offset, offset, Prompt.Length);
                while (!pass.LayersDone) pass.RunNextLayer(cache);
                for (int i = 0; i < n; i++)
                {
                    logits[offset + i] = new float[c.VocabSize];
                    pass.ComputeLogits(i, logits[offset + i]);
                }

                offset += n;
            }

            return logits;
        }

        var whole = Run(new[] { Prompt.Length });
        var sliced = Run(new[] { 3, 1, 5, 4 });
        for (int i = 0; i < Prompt.Length; i++) Assert.Equal(whole[i], sliced[i]);
    }
}
