using System;
using NpcSdk.Native;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Native;

/// <summary>
/// The native 8-row interleaved Q5_0 product (<c>npc_matmul_q5_0x8</c>) against the managed
/// <see cref="Q5_0Interleaved"/>, bit for bit, on every path the library can run here (AVX2, NEON and plain C all
/// promise the repacked kernels' arithmetic), and against <see cref="VecDotScalar.Repacked"/> on the row-major weights.
/// </summary>
[Collection(NativeCollection.Name)]
public unsafe class InterleavedQ5_0NativeTests
{
    [Fact]
    public void Unsupported_Without_The_Kernel_In_The_Library()
    {
        // The library built from this tree has it (ABI version 8); a missing or older library does not.
        Assert.True(NativeKernels.SupportsQ5_0Interleaved == (NativeKernels.IsAvailable && NativeLibraryBinding.HasQ5_0Interleaved));
        if (!NativeKernels.SupportsQ5_0Interleaved)
        {
            Assert.Throws<InvalidOperationException>(() => NativeKernels.MatMulQ5_0Interleaved(null, 256, 1, null, 272, 1, null, 8));
        }
    }

    [NativeTheory(Needs = NativeFeature.Q5_0Interleaved)]
    [InlineData(16, 64, 1)]
    [InlineData(16, 896, 2)]
    [InlineData(8, 992, 3)]
    [InlineData(24, 4864, 4)]
    [InlineData(16, 896, 9)]  // tiles of groups, 4 activations at a time
    [InlineData(8, 4864, 40)] // more activation values than the native stack buffer: windows of tokens and blocks
    public void Matches_The_Managed_Interleaved_Kernel_Bit_For_Bit(int rows, int cols, int tokens)
    {
        Assert.True(Q5_0Interleaved.CanRepack(rows, cols));
        InterleavedTestData.AssertNativeMatchesManaged(TensorType.Q5_0, rows, cols, tokens, Q5_0Interleaved.GroupRows, seed: 7 * rows + cols, actSeed: cols + 3 * tokens,
            lastBlock127: true, &Q5_0Interleaved.Repack, &Q5_0Interleaved.Compute, Q5_0Interleaved.IsSupported, &VecDotScalar.Repacked,
            &NativeKernels.MatMulQ5_0Interleaved);
    }

    [NativeFact(Needs = NativeFeature.Q5_0Interleaved)]
    public void Rejects_Arguments_The_Native_Call_Would_Ignore()
    {
        byte* dummy = stackalloc byte[8 * 176];
        float* output = stackalloc float[8];
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeKernels.MatMulQ5_0Interleaved(dummy, 48, 1, dummy, 34, 1, output, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeKernels.MatMulQ5_0Interleaved(dummy, 256, 1, dummy, 200, 2, output, 8));
        Assert.Throws<ArgumentNullException>(() => NativeKernels.MatMulQ5_0Interleaved(dummy, 256, 1, null, 272, 1, output, 8));
        NativeKernels.MatMulQ5_0Interleaved(null, 256, 0, null, 272, 1, null, 8); // no groups: nothing to do
    }
}
