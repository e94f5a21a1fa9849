using System;
using NpcSdk.Native;
using NpcSdk.Runtime.Tests.Tensors;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Native;

/// <summary>
/// The native interleaved Q5_0 product (<c>npc_matmul_q5_0x4</c>) against the managed <see cref="Q5_0Interleaved"/>, bit
/// for bit, on every path the library can run here (AVX2, NEON and plain C all promise ggml_vec_dot_q5_0_q8_0's bits),
/// and against the scalar vec_dot on the row-major weights.
/// </summary>
[Collection(NativeCollection.Name)]
public unsafe class InterleavedQ5_0NativeTests
{
    [Fact]
    public void Unsupported_Without_The_Kernel_In_The_Library()
    {
        // The library built from this tree has it (ABI version 7); a missing or older library does not.
        Assert.True(NativeKernels.SupportsQ5_0Interleaved == (NativeKernels.IsAvailable && NativeLibraryBinding.HasQ5_0Interleaved));
        if (!NativeKernels.SupportsQ5_0Interleaved)
        {
            Assert.Throws<InvalidOperationException>(() => NativeKernels.MatMulQ5_0Interleaved(null, 256, 1, null, 272, 1, null, 4));
        }
    }

    [NativeTheory(Needs = NativeFeature.Q5_0Interleaved)]
    [InlineData(12, 256, 1)]
    [InlineData(12, 896, 2)]  // 3 chunks of 8 blocks + 4 in Q5_0
    [InlineData(8, 992, 3)]   // 3 chunks + 7
    [InlineData(12, 4864, 4)] // 19 chunks, no tail
    [InlineData(8, 288, 5)]   // 1 chunk + 1
    [InlineData(16, 896, 9)]  // tiles of groups, 4 activations at a time
    [InlineData(4, 4864, 30)] // more activation scales than the native stack buffer: windows of tokens
    public void Matches_The_Managed_Interleaved_Kernel_Bit_For_Bit(int rows, int cols, int tokens)
    {
        Assert.True(Q5_0Interleaved.CanRepack(rows, cols));
        InterleavedTestData.AssertNativeMatchesManaged(TensorType.Q5_0, rows, cols, tokens, Q5_0Interleaved.GroupRows, seed: 5 * rows + cols, actSeed: cols + 2 * tokens,
            lastBlock127: true, &Q5_0Interleaved.Repack, &Q5_0Interleaved.Compute, Q5_0Interleaved.IsSupported, &VecDotScalar.Dot,
            &NativeKernels.MatMulQ5_0Interleaved);
    }

    [NativeFact(Needs = NativeFeature.Q5_0Interleaved)]
    public void Rejects_Arguments_The_Native_Call_Would_Ignore()
    {
        byte* dummy = stackalloc byte[4 * 176];
        float* output = stackalloc float[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeKernels.MatMulQ5_0Interleaved(dummy, 48, 1, dummy, 34, 1, output, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeKernels.MatMulQ5_0Interleaved(dummy, 256, 1, dummy, 200, 2, output, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeKernels.MatMulQ5_0Interleaved(dummy, 256, 2, dummy, 272, 2, output, 4));
        Assert.Throws<ArgumentNullException>(() => NativeKernels.MatMulQ5_0Interleaved(dummy, 256, 1, null, 272, 1, output, 4));
        NativeKernels.MatMulQ5_0Interleaved(null, 256, 0, null, 272, 1, null, 4); // no groups: nothing to do
    }
}
