using System;
using System.IO;
using System.Linq;
using NpcSdk.Compute;
using NpcSdk.Gguf;
using NpcSdk.Models;
using NpcSdk.Tensors;
using NpcSdk.Tests;
using Xunit;

namespace NpcSdk.Runtime.Tests.Models;

/// <summary>When weights are laid out again at load, and that the row-major bytes stay as they were.</summary>
public unsafe class InterleavedWeightsTests
{
    private static readonly string Fixture = TestPaths.Data("fixtures", "fx-llama-Q4_0.gguf");

    [Fact]
    public void A_Q4_0_Matrix_With_An_Infinite_Scale_Keeps_Its_Row_Major_Layout()
    {
        var bytes = File.ReadAllBytes(Fixture);
        using var probe = GgufFile.FromBytes(bytes);
        var q = probe.GetTensor("blk.0.attn_q.weight");
        // The second block's scale of the first row becomes +inf.
        BitConverter.TryWriteBytes(bytes.AsSpan((int)(probe.DataOffset + q.Offset + 18)), (ushort)0x7C00);
        using var file = GgufFile.FromBytes(bytes);
        using var pool = new WorkerPool(1);
        var bad = WeightMatrix.From(file, "blk.0.attn_q.weight", 256, 256);
        var good = WeightMatrix.From(file, "blk.0.attn_k.weight", 256, 64);
        var before = bad.RowSpan(0, bad.Rows).ToArray();
        using var arena = new NpcSdk.Native.WeightArena(bad.InterleavedBytes + good.InterleavedBytes, hugePages: false);
        Assert.False(bad.Mapped);
        Assert.False(bad.TryInterleave(pool, arena));
        Assert.True(bad.Interleaved == null);
        // Weights held in memory (not a file mapping) are never released: the row-major bytes are intact.
        Assert.True(bad.RowSpan(0, bad.Rows).SequenceEqual(before));
        // ... nor copied.
        Assert.False(bad.TryCopy(pool, arena));
#if NET
        Assert.Equal(Q4_0Interleaved.IsSupported, good.TryInterleave(pool, arena));
#endif
    }

    [Fact]
    public void A_Copied_Matrix_Reads_The_Files_Bytes_From_The_Arena_And_A_Full_Arena_Refuses()
    {
        using var file = GgufFile.Open(Fixture);
        using var pool = new WorkerPool(2);
        var output = WeightMatrix.From(file, "output.weight", 256, 512); // Q6_K
        var down = WeightMatrix.From(file, "blk.0.ffn_down.weight", 512, 256);
        Assert.True(output.Mapped);
        byte* mapped = output.Data;
        var expected = output.RowSpan(0, output.Rows).ToArray();
        using var arena = new NpcSdk.Native.WeightArena(output.Bytes, hugePages: true);
        Assert.True(output.TryCopy(pool, arena));
        Assert.False(output.Mapped);
        Assert.True(output.Data != mapped);
        Assert.Equal(0, (long)output.Data % 64);
        Assert.True(output.RowSpan(0, output.Rows).SequenceEqual(expected));
        // The arena was sized for one matrix: the next one stays in the file mapping.
        Assert.False(down.TryCopy(pool, arena));
        Assert.True(down.Mapped);
    }

    [Fact]
    public void Loading_Lays_Out_Q4_0_Matrices_For_The_Managed_Kernels_And_Keeps_The_Embedding_Rows_Readable()
    {
        using var model = Model.Load(Fixture, new ModelOptions { Threads = 1, Backend = KernelBackend.Managed });
        var w = model.Transformer.Weights;
#if NET
        Assert.Equal(Q4_0Interleaved.IsSupported, w.Layers[0].Wq.Interleaved != null);
#endif
        Assert.True(w.Output.Interleaved == null); // Q6_K
        // The embedding table was laid out (its file pages released) and lookups still read the file's rows.
        using var file = GgufFile.Open(Fixture);
        var fresh = WeightMatrix.From(file, "token_embd.weight", model.Config.Dim, model.Config.VocabSize);
        Assert.True(w.TokenEmbedding.RowSpan(0, w.TokenEmbedding.Rows).SequenceEqual(fresh.RowSpan(0, fresh.Rows)));
    }
}
