using System;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Tensors;

public class TiledMatMulTests
{
    /// <summary>The tiled Q8_0 kernels (8 or 4 activations per row, 2x4 tiles, one-token passes) must give each output exactly what ggml_vec_dot_q8_0_q8_0 gives it alone.</summary>
    [Fact]
    public void Tiled_Q8_0_Equals_One_VecDot_Per_Output_Bit_For_Bit()
    {
        var rng = new Random(7);
        foreach (int cols in new[] { 32, 96, 384 })
        for (int rows = 1; rows <= 9; rows++)
        for (int tokens = 1; tokens <= 9; tokens++)
        {
            var weights = Quantized(rng, rows, cols);
            var activations = Quantized(rng, tokens, cols);
            long rowBytes = TensorTypeInfo.RowBytes(TensorType.Q8_0, cols);
            int stride = rows + 3;
            var tiled = new float[tokens * stride];
            if (!MatVec.TryComputeTiled(MatMulKernel.VecDot, TensorType.Q8_0, weights, rows, cols, activations, tokens, tiled, stride))
            {
                Assert.True(tokens < 2 || !System.Runtime.Intrinsics.X86.Avx2.IsSupported, "no tiled kernel on an AVX2 machine");
                continue;
            }
            for (int t = 0; t < tokens; t++)
            {
                var expected = new float[rows];
                MatVec.ComputeWith(MatMulKernel.VecDot, TensorType.Q8_0, weights, cols, activations.AsSpan((int)(t * rowBytes), (int)rowBytes), expected, 0, rows);
                for (int r = 0; r < rows; r++)
                    Assert.True(BitConverter.SingleToInt32Bits(expected[r]) == BitConverter.SingleToInt32Bits(tiled[t * stride + r]),
                        $"cols {cols}, {rows}x{tokens}: row {r}, token {t}: {tiled[t * stride + r]:R} vs {expected[r]:R}");
            }
        }
    }

    /// <summary>Q5_K and Q6_K rows against four activations at a time must give each output the scalar vec_dot's bits.</summary>
    [Theory]
    [InlineData(TensorType.Q5_K)]
    [InlineData(TensorType.Q6_K)]
    public unsafe void Tiled_K_Quants_Equal_The_Scalar_VecDot_Bit_For_Bit(TensorType type)
    {
        foreach (int cols in new[] { 256, 768 })
        for (int rows = 1; rows <= 5; rows += 2)
        for (int tokens = 1; tokens <= 9; tokens++)
        {
            long rowBytes = TensorTypeInfo.RowBytes(type, cols), actBytes = TensorTypeInfo.RowBytes(TensorType.Q8_K, cols);
            var weights = new byte[rows * rowBytes];
            for (int r = 0; r < rows; r++)
                Quantizer.QuantizeRowReference(type, TestData.Gaussian(cols, 31 * r + cols, 0.05f), weights.AsSpan((int)(r * rowBytes), (int)rowBytes));
            var activations = new byte[tokens * actBytes];
            for (int t = 0; t < tokens; t++)
                TestData.Quantize(TensorType.Q8_K, TestData.Gaussian(cols, 7 * t + rows, t % 3 == 0 ? 10f : 1f)).CopyTo(activations, (int)(t * actBytes));
            int stride = rows + 3;
            var tiled = new float[tokens * stride];
            if (!MatVec.TryComputeTiled(MatMulKernel.VecDot, type, weights, rows, cols, activations, tokens, tiled, stride))
            {
                Assert.True(tokens < 4 || !System.Runtime.Intrinsics.X86.Avx2.IsSupported, "no tiled kernel on an AVX2 machine");
                continue;
            }
            fixed (byte* w = weights)
            fixed (byte* a = activations)
            {
                for (int t = 0; t < tokens; t++)
                    for (int r = 0; r < rows; r++)
                    {
                        float expected = VecDotScalar.Dot(type, w + r * rowBytes, a + t * actBytes, cols);
                        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(tiled[t * stride + r]),
                            $"{type} cols {cols}, {rows}x{tokens}: row {r}, token {t}: {tiled[t * stride + r]:R} vs {expected:R}");
                    }
            }
        }
    }

    /// <summary>One token's Q8_0 rows four at a time (with prefetching) must equal ggml_vec_dot_q8_0_q8_0 row by row.</summary>
    [Fact]
    public void Q8_0_Rows_Four_At_A_Time_Equal_One_Row_At_A_Time_Bit_For_Bit()
    {
        var rng = new Random(17);
        foreach (int cols in new[] { 32, 384, 1024, 1056 })
        foreach (int rows in new[] { 4, 13 })
        {
            var weights = Quantized(rng, rows, cols);
            var activation = Quantized(rng, 1, cols);
            var together = new float[rows];
            MatVec.ComputeWith(MatMulKernel.VecDot, TensorType.Q8_0, weights, cols, activation, together, 0, rows);
            for (int r = 0; r < rows; r++)
            {
                var alone = new float[1];
                MatVec.ComputeWith(MatMulKernel.VecDot, TensorType.Q8_0, weights, cols, activation, alone, r, r + 1);
                Assert.True(BitConverter.SingleToInt32Bits(alone[0]) == BitConverter.SingleToInt32Bits(together[r]),
                    $"cols {cols}, rows {rows}: row {r}: {together[r]:R} vs {alone[0]:R}");
            }
        }
    }

    /// <summary>Repacked rows several at once (the lanes of ggml's 8x8 kernels) must equal the one-row emulation.</summary>
    [Theory]
    [InlineData(TensorType.Q4_0, false)]
    [InlineData(TensorType.Q4_0, true)]
    [InlineData(TensorType.Q4_K, false)]
    [InlineData(TensorType.Q4_K, true)]
    public void Repacked_Rows_Together_Equal_One_Row_At_A_Time_Bit_For_Bit(TensorType type, bool gemm)
    {
        var kernel = gemm ? MatMulKernel.RepackedGemm : MatMulKernel.Repacked;
        var rng = new Random(11);
        foreach (int cols in new[] { 256, 768 })
        foreach (int rows in new[] { 8, 13, 24 })
        {
            var weights = Quantized(rng, rows, cols, type);
            var activation = Quantized(rng, 1, cols, TensorTypeInfo.VecDotType(type));
            var together = new float[rows];
            MatVec.ComputeWith(kernel, type, weights, cols, activation, together, 0, rows);
            for (int r = 0; r < rows; r++)
            {
                var alone = new float[1];
                MatVec.ComputeWith(kernel, type, weights, cols, activation, alone, r, r + 1);
                Assert.True(BitConverter.SingleToInt32Bits(alone[0]) == BitConverter.SingleToInt32Bits(together[r]),
                    $"cols {cols}, rows {rows}: row {r}: {together[r]:R} vs {alone[0]:R}");
            }
        }
    }

    /// <summary>Repacked Q4_0 tiled over activations (ggml_gemm_q4_0_8x8) must equal each activation's own gemv.</summary>
    [Fact]
    public void Tiled_Repacked_Q4_0_Equals_One_Activation_At_A_Time_Bit_For_Bit()
    {
        var rng = new Random(13);
        foreach (int cols in new[] { 32, 256 })
        foreach (int rows in new[] { 8, 19 })
        for (int tokens = 2; tokens <= 9; tokens++)
        {
            var weights = Quantized(rng, rows, cols, TensorType.Q4_0);
            var activations = Quantized(rng, tokens, cols);
            long activationBytes = TensorTypeInfo.RowBytes(TensorType.Q8_0, cols);
            var tiled = new float[tokens * rows];
            if (!MatVec.TryComputeTiled(MatMulKernel.Repacked, TensorType.Q4_0, weights, rows, cols, activations, tokens, tiled, rows)) return;
            for (int t = 0; t < tokens; t++)
            {
                var expected = new float[rows];
                for (int r = 0; r < rows; r++)
                    MatVec.ComputeWith(MatMulKernel.Repacked, TensorType.Q4_0, weights, cols, activations.AsSpan((int)(t * activationBytes), (int)activationBytes), expected.AsSpan(r, 1), r, r + 1);
                for (int r = 0; r < rows; r++)
                    Assert.True(BitConverter.SingleToInt32Bits(expected[r]) == BitConverter.SingleToInt32Bits(tiled[t * rows + r]),
                        $"cols {cols}, {rows}x{tokens}: row {r}, token {t}: {tiled[t * rows + r]:R} vs {expected[r]:R}");
            }
        }
    }

    private static byte[] Quantized(Random rng, int rows, int cols, TensorType type = TensorType.Q8_0)
    {
        long rowBytes = TensorTypeInfo.RowBytes(type, cols);
        var bytes = new byte[rows * rowBytes];
        var row = new float[cols];
        for (int r = 0; r < rows; r++)
        {
            for (int i = 0; i < cols; i++) row[i] = (float)(rng.NextDouble() * 2 - 1) * (1 + r);
            Quantizer.QuantizeRow(type, row, bytes.AsSpan((int)(r * rowBytes), (int)rowBytes));
        }
        return bytes;
    }
}
