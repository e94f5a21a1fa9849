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
        int rowBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q4_0, cols);
        int actBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q8_0, cols) + 6; // padded activation stride
        int groups = rows / Q4_0Interleaved.GroupRows, stride = rows + 3;
        byte[] weights = InterleavedTestData.Weights(TensorType.Q4_0, rows, cols, seed: 3 * rows + cols);
        byte[] act = InterleavedTestData.Activations(cols, tokens, actBytes, seed: cols + tokens);
        var packed = new byte[rows * rowBytes];
        var expected = new float[tokens * stride];
        fixed (byte* w = weights)
        fixed (byte* p = packed)
        fixed (byte* a = act)
        fixed (float* e = expected)
        {
            Assert.True(Q4_0Interleaved.CanRepack(rows, cols));
            Assert.True(Q4_0Interleaved.Repack(w, cols, p, 0, groups));
            if (Q4_0Interleaved.IsSupported)
            {
                Q4_0Interleaved.Compute(p, cols, groups, a, actBytes, tokens, e, stride);
            }

            // The chain the interleaved kernels promise, on the row-major weights (also where the managed kernel needs AVX2).
            for (int t = 0; t < tokens; t++)
            {
                for (int r = 0; r < rows; r++)
                {
                    float repacked = VecDotScalar.Repacked(TensorType.Q4_0, w + r * rowBytes, a + t * actBytes, cols);
                    if (Q4_0Interleaved.IsSupported)
                    {
                        NativeTests.AssertSameBits(repacked, e[t * stride + r], $"managed interleaved vs scalar repacked, token {t} row {r}");
                    }

                    e[t * stride + r] = repacked;
                }
            }

            byte* pp = p, pa = a;
            NativeTests.AssertInterleavedOnEveryPath(rows, cols, tokens, stride, expected, (g, o) => NativeKernels.MatMulQ4_0Interleaved(pp + g * Q4_0Interleaved.GroupBytes(cols), cols, groups - g, pa, actBytes, tokens, o, stride));
        }
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
