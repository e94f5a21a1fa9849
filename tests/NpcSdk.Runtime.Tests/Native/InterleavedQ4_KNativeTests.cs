using System;
using System.Collections.Generic;
using NpcSdk.Native;
using NpcSdk.Runtime.Tests.Tensors;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Native;

/// <summary>
/// The native interleaved Q4_K product (<c>npc_matmul_q4_Kx8</c>) against the managed <see cref="Q4_KInterleaved"/>, bit
/// for bit, on every path the library can run here (AVX2, NEON and plain C all promise the same bits), and against the
/// scalar repacked gemv / gemm kernels on the row-major weights.
/// </summary>
[Collection(NativeCollection.Name)]
public unsafe class InterleavedQ4_KNativeTests
{
    [Fact]
    public void Unsupported_Without_The_Kernel_In_The_Library()
    {
        // The library built from this tree has it (ABI version 6); a missing or older library (version 5: old layout) does not.
        Assert.True(NativeKernels.SupportsQ4_KInterleaved == (NativeKernels.IsAvailable && NativeLibraryBinding.HasQ4_KInterleaved));
        if (!NativeKernels.SupportsQ4_KInterleaved)
        {
            Assert.Throws<InvalidOperationException>(() => NativeKernels.MatMulQ4_KInterleaved(null, 256, 1, null, 292, 1, 0, 0, null, 8));
        }
    }

    [NativeTheory(Needs = NativeFeature.Q4_KInterleaved)]
    [InlineData(24, 256, 1, 0, 0)]
    [InlineData(24, 256, 4, 0, 4)]
    [InlineData(8, 2048, 3, 0, 0)]
    [InlineData(16, 2048, 9, 0, 8)] // llama.cpp's split: whole 4s through the gemm, the last row through the gemv
    [InlineData(16, 2048, 9, 5, 8)] // a batch's later rows: the gemm ends inside
    [InlineData(24, 8192, 6, 0, 1 << 30)]
    [InlineData(16, 8192, 70, 0, 68)] // more pair sums than the native stack buffer: windows of tokens
    [InlineData(8, 16640, 33, 2, 30)]
    [InlineData(16, 256 * 2049, 2, 0, 1)] // rows longer than the buffer: windows of blocks
    public void Matches_The_Managed_Interleaved_Kernel_Bit_For_Bit(int rows, int cols, int tokens, int firstRow, int gemmRows)
    {
        int rowBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q4_K, cols);
        int actBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q8_K, cols) + 8; // padded activation stride
        int groups = rows / Q4_KInterleaved.GroupRows, stride = rows + 3;
        byte[] weights = Weights(rows, cols, seed: 3 * rows + cols);
        byte[] act = Activations(cols, tokens, actBytes, seed: cols + tokens);
        var packed = new byte[groups * Q4_KInterleaved.GroupBytes(cols)];
        var expected = new float[tokens * stride];
        fixed (byte* w = weights)
        fixed (byte* p = packed)
        fixed (byte* a = act)
        fixed (float* e = expected)
        {
            Assert.True(Q4_KInterleaved.CanRepack(rows, cols));
            Assert.True(Q4_KInterleaved.Repack(w, cols, p, 0, groups));
            if (Q4_KInterleaved.IsSupported)
            {
                Q4_KInterleaved.Compute(p, cols, groups, a, actBytes, tokens, firstRow, gemmRows, e, stride);
            }

            // The chains the interleaved kernels promise, on the row-major weights (also where the managed kernel needs AVX2).
            for (int t = 0; t < tokens; t++)
            {
                for (int r = 0; r < rows; r++)
                {
                    float repacked = firstRow + t < gemmRows
                        ? VecDotScalar.RepackedGemm(TensorType.Q4_K, w + r * rowBytes, a + t * actBytes, cols)
                        : VecDotScalar.Repacked(TensorType.Q4_K, w + r * rowBytes, a + t * actBytes, cols);
                    if (Q4_KInterleaved.IsSupported)
                    {
                        NativeTests.AssertSameBits(repacked, e[t * stride + r], $"managed interleaved vs scalar repacked, token {t} row {r}");
                    }

                    e[t * stride + r] = repacked;
                }
            }

            byte* pp = p, pa = a;
            NativeTests.AssertInterleavedOnEveryPath(rows, cols, tokens, stride, expected, (g, o) => NativeKernels.MatMulQ4_KInterleaved(pp + g * Q4_KInterleaved.GroupBytes(cols), cols, groups - g, pa, actBytes, tokens, firstRow, gemmRows, o, stride));
        }
    }

    [NativeFact(Needs = NativeFeature.Q4_KInterleaved)]
    public void Rejects_Arguments_The_Native_Call_Would_Ignore()
    {
        byte* dummy = stackalloc byte[Q4_KInterleaved.GroupBlockBytes];
        float* output = stackalloc float[8];
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeKernels.MatMulQ4_KInterleaved(dummy, 128, 1, dummy, 292, 1, 0, 0, output, 8));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeKernels.MatMulQ4_KInterleaved(dummy, 256, 1, dummy, 200, 2, 0, 0, output, 8));
        Assert.Throws<ArgumentNullException>(() => NativeKernels.MatMulQ4_KInterleaved(dummy, 256, 1, null, 292, 1, 0, 0, output, 8));
        NativeKernels.MatMulQ4_KInterleaved(null, 256, 0, null, 292, 1, 0, 0, null, 8); // no groups: nothing to do
    }

    /// <summary>
    /// Q4_K rows with the cases the kernels must carry exactly: special d and dmin, and super-blocks whose quant and scale
    /// bytes are all 0xFF (every nibble 15, every scale and min 63). Rows longer than 64K columns get random bytes (the
    /// reference quantizer would take seconds).
    /// </summary>
    private static byte[] Weights(int rows, int cols, int seed)
    {
        int rowBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q4_K, cols);
        int blocks = cols / 256;
        var bytes = new byte[rows * rowBytes];
        if (cols <= 65536)
        {
            for (int r = 0; r < rows; r++)
            {
                Quantizer.QuantizeRowReference(TensorType.Q4_K, TestData.Gaussian(cols, seed + r, 0.05f), bytes.AsSpan(r * rowBytes, rowBytes));
            }
        }
        else
        {
            var rng = new Random(seed);
            rng.NextBytes(bytes);
            for (int b = 0; b < rows * blocks; b++)
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(b * 144), (ushort)(0x1C00 + rng.Next(0x400)));
                BitConverter.TryWriteBytes(bytes.AsSpan(b * 144 + 2), (ushort)(0x1C00 + rng.Next(0x400)));
            }
        }

        // Zero, the smallest and largest denormals, negative ones, the largest finite; as d and as dmin.
        ushort[] halves = { 0x0000, 0x0001, 0x03FF, 0x8001, 0x83FF, 0xBC00, 0x7BFF, 0xFBFF };
        for (int i = 0; i < halves.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan((i % rows) * rowBytes + (i * 5 % blocks) * 144), halves[i]);
            BitConverter.TryWriteBytes(bytes.AsSpan(((i + 3) % rows) * rowBytes + (i * 3 % blocks) * 144 + 2), halves[(i + 4) % halves.Length]);
        }

        bytes.AsSpan(rowBytes + 4, 140).Fill(0xFF);
        bytes.AsSpan(2 * rowBytes + (blocks - 1) * 144 + 4, 140).Fill(0xFF);
        return bytes;
    }

    /// <summary>
    /// <paramref name="tokens"/> Q8_K rows <paramref name="stride"/> bytes apart, with super-blocks of +-127 and -128
    /// (their bsums made to match) and zero, denormal and negative scales.
    /// </summary>
    private static byte[] Activations(int cols, int tokens, int stride, int seed)
    {
        int rowBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q8_K, cols);
        int blocks = cols / 256;
        var act = new byte[tokens * stride];
        for (int t = 0; t < tokens; t++)
        {
            TestData.Quantize(TensorType.Q8_K, TestData.Gaussian(cols, seed + t)).CopyTo(act, t * stride);
            int b0 = t * stride + (t % blocks) * 292, b1 = t * stride + ((t + 1) % blocks) * 292, b2 = t * stride + ((t + 2) % blocks) * 292;
            for (int i = 0; i < 256; i++) act[b0 + 4 + i] = unchecked((byte)(sbyte)(i % 2 == 0 ? 127 : -127));
            if (blocks > 1) act.AsSpan(b1 + 4, 256).Fill(unchecked((byte)(sbyte)-127));
            if (blocks > 2) act.AsSpan(b2 + 4, 256).Fill(unchecked((byte)(sbyte)-128));
            foreach (int b in new[] { b0, b1, b2 })
            {
                for (int j = 0; j < 16; j++)
                {
                    int sum = 0;
                    for (int i = 0; i < 16; i++) sum += (sbyte)act[b + 4 + 16 * j + i];
                    BitConverter.TryWriteBytes(act.AsSpan(b + 260 + 2 * j), (short)sum);
                }
            }

            if (blocks > 3)
            {
                float[] scales = { 0f, 1e-40f, -0.0078125f, -3.5e-3f };
                BitConverter.TryWriteBytes(act.AsSpan(t * stride + ((t + 3) % blocks) * 292), scales[t % 4]);
            }

            act.AsSpan(t * stride + rowBytes, stride - rowBytes).Fill(0xEE);
        }

        return act;
    }
}
