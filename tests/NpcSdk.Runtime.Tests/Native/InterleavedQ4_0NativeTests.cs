using System;
using System.Collections.Generic;
using NpcSdk.Native;
using NpcSdk.Runtime.Tests.Tensors;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Native;

/// <summary>
/// The native interleaved Q4_0 product (<c>npc_matmul_q4_0x8</c>) against the managed <see cref="Q4_0Interleaved"/>, bit
/// for bit, on every path the library can run here (AVX2, NEON and plain C all promise the same bits), and against the
/// scalar repacked kernel on the row-major weights.
/// </summary>
[Collection(NativeCollection.Name)]
public unsafe class InterleavedQ4_0NativeTests
{
    [Fact]
    public void Unsupported_Without_The_Kernel_In_The_Library()
    {
        // The library built from this tree has it (ABI version 4); a missing or older library does not.
        Assert.True(NativeKernels.SupportsQ4_0Interleaved == (NativeKernels.IsAvailable && NativeLibraryBinding.HasQ4_0Interleaved));
        if (!NativeKernels.SupportsQ4_0Interleaved)
        {
            Assert.Throws<InvalidOperationException>(() => NativeKernels.MatMulQ4_0Interleaved(null, 32, 1, null, 34, 1, null, 8));
        }
    }

    [NativeTheory(Needs = NativeFeature.Q4_0Interleaved)]
    [InlineData(24, 96, 1)]
    [InlineData(24, 96, 4)]
    [InlineData(8, 2048, 3)]
    [InlineData(16, 4864, 9)]
    [InlineData(16, 4864, 40)] // more per-block activation values than the native stack buffer: windows of tokens and blocks
    [InlineData(8, 2048, 70)]
    public void Matches_The_Managed_Interleaved_Kernel_Bit_For_Bit(int rows, int cols, int tokens)
    {
        Assert.True(Q4_0Interleaved.CanRepack(rows, cols));
        InterleavedTestData.AssertNativeMatchesManaged(TensorType.Q4_0, rows, cols, tokens, Q4_0Interleaved.GroupRows, seed: 3 * rows + cols, actSeed: cols + tokens,
            lastBlock127: false, &Q4_0Interleaved.Repack, &Q4_0Interleaved.Compute, Q4_0Interleaved.IsSupported, &VecDotScalar.Repacked,
            &NativeKernels.MatMulQ4_0Interleaved);
    }

    [NativeFact(Needs = NativeFeature.Q4_0Interleaved)]
    public void Rejects_Arguments_The_Native_Call_Would_Ignore()
    {
        byte* dummy = stackalloc byte[144];
        float* output = stackalloc float[8];
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeKernels.MatMulQ4_0Interleaved(dummy, 48, 1, dummy, 34, 1, output, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeKernels.MatMulQ4_0Interleaved(dummy, 32, 1, dummy, 20, 2, output, 8));
        Assert.Throws<ArgumentNullException>(() => NativeKernels.MatMulQ4_0Interleaved(dummy, 32, 1, null, 34, 1, output, 8));
        NativeKernels.MatMulQ4_0Interleaved(null, 32, 0, null, 34, 1, null, 8); // no groups: nothing to do
    }
}
