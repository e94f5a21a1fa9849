using System;
using NpcSdk.Runtime.Tests.Tensors;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.ComputeKernels; // not "...Tests.Compute": that would shadow NpcSdk.Compute for sibling test namespaces

/// <summary>
/// The llama.cpp kernel flavours (vec_dot, tinyBLAS, repacked gemv/gemm) and how they are chosen: every flavour must
/// give the same bits on the AVX2 and the scalar path, and a tiled kernel must give the bits of its one-element form.
/// </summary>
public unsafe class KernelArithmeticTests
{
    private static byte[] QuantizedRows(TensorType t, int rows, int cols, int seed)
    {
        int rowBytes = (int)TensorTypeInfo.RowBytes(t, cols);
        var bytes = new byte[rows * rowBytes];
        for (int r = 0; r < rows; r++)
            Quantizer.QuantizeRowReference(t, TestData.Gaussian(cols, seed + r, 0.05f), bytes.AsSpan(r * rowBytes, rowBytes));
        return bytes;
    }

    [Theory]
    [InlineData(TensorType.F32)]
    [InlineData(TensorType.F16)]
    [InlineData(TensorType.BF16)]
    public void TinyBlas_Tiles_Give_The_Bits_Of_The_Single_Element_Form(TensorType t)
    {
        int rows = 9, cols = 136, batch = 7;
        var weights = QuantizedRows(t, rows, cols, 10);
        var act = new float[batch * cols];
        for (int j = 0; j < batch; j++)
        {
            // Activations representable in the weight type, as ggml rounds them before tinyBLAS.
            var rounded = TestData.Quantize(t, TestData.Gaussian(cols, 100 + j));
            Dequantizer.DequantizeRow(t, rounded, act.AsSpan(j * cols, cols));
        }

        var output = new float[batch * rows];
        var finite = new float[batch * rows];
        FloatGemm.Compute(t, weights, rows, cols, act, cols, batch, output, rows);
        // F16 weights known finite take the short widening: the same bits.
        FloatGemm.Compute(t, weights, rows, cols, act, cols, batch, finite, rows, finiteHalves: true);
        long rowBytes = TensorTypeInfo.RowBytes(t, cols);
        fixed (byte* w = weights)
        fixed (float* a = act)
        {
            for (int j = 0; j < batch; j++)
                for (int r = 0; r < rows; r++)
                {
                    Assert.Equal(FloatGemm.Dot(t, w + r * rowBytes, a + j * cols, cols), output[j * rows + r]);
                    Assert.Equal(output[j * rows + r], finite[j * rows + r]);
                }
        }
    }

    [Theory]
    [InlineData(TensorType.Q4_0)]
    [InlineData(TensorType.Q4_K)]
    public void Repacked_Kernels_Agree_Between_Avx2_And_Scalar_And_Approximate_The_Dot_Product(TensorType t)
    {
        int cols = 512;
        var weights = QuantizedRows(t, 16, cols, 20);
        int rowBytes = (int)TensorTypeInfo.RowBytes(t, cols);
        var x = TestData.Gaussian(cols, 30);
        var act = TestData.Quantize(TensorTypeInfo.VecDotType(t), x);
        var row = new float[cols];
        var xq = new float[cols];
        Dequantizer.DequantizeRow(TensorTypeInfo.VecDotType(t), act, xq);
        fixed (byte* w0 = weights)
        fixed (byte* a = act)
        {
            for (int r = 0; r < 16; r++)
            {
                byte* w = w0 + r * rowBytes;
                float gemv = VecDot.Dot(MatMulKernel.Repacked, t, w, a, cols);
                float gemm = VecDot.Dot(MatMulKernel.RepackedGemm, t, w, a, cols);
                Assert.Equal(VecDotScalar.Repacked(t, w, a, cols), gemv);
                Assert.Equal(VecDotScalar.RepackedGemm(t, w, a, cols), gemm);
                if (t == TensorType.Q4_0) Assert.Equal(gemv, gemm); // one FMA per 32-element block in both

                // Against the exact product of the dequantized rows: only the float rounding of the scales differs.
                Dequantizer.DequantizeRow(t, weights.AsSpan(r * rowBytes, rowBytes), row);
                double exact = 0, magnitude = 0;
                for (int i = 0; i < cols; i++)
                {
                    exact += (double)row[i] * xq[i];
                    magnitude += Math.Abs((double)row[i] * xq[i]);
                }

                Assert.Equal(exact, gemv, 1e-5 * magnitude);
                Assert.Equal(exact, gemm, 1e-5 * magnitude);
            }
        }
    }

    [Theory]
    [InlineData(TensorType.F32, 300)]
    [InlineData(TensorType.F16, 300)]
    [InlineData(TensorType.BF16, 300)]
    [InlineData(TensorType.Q4_0, 512)]
    [InlineData(TensorType.Q4_1, 512)]
    [InlineData(TensorType.Q5_0, 512)]
    [InlineData(TensorType.Q5_1, 512)]
    [InlineData(TensorType.Q8_0, 512)]
    [InlineData(TensorType.Q2_K, 768)]
    [InlineData(TensorType.Q3_K, 768)]
    [InlineData(TensorType.Q4_K, 768)]
    [InlineData(TensorType.Q5_K, 768)]
    [InlineData(TensorType.Q6_K, 768)]
    public void Scalar_Dot_Products_Give_The_Bits_Of_The_Avx2_Kernels(TensorType t, int n)
    {
        if (!VecDotAvx2.IsSupported) return;
        var weights = QuantizedRows(t, 12, n, 40);
        int rowBytes = (int)TensorTypeInfo.RowBytes(t, n);
        for (int r = 0; r < 12; r++)
        {
            var act = TestData.Quantize(TensorTypeInfo.VecDotType(t), TestData.Gaussian(n, 50 + r, r % 3 == 0 ? 10f : 1f));
            var row = weights.AsSpan(r * rowBytes, rowBytes);
            Assert.Equal(BitConverter.SingleToInt32Bits(VecDotAvx2.Dot(t, row, act, n)), BitConverter.SingleToInt32Bits(VecDotScalar.Dot(t, row, act, n)));
        }

        if (t == TensorType.Q8_0)
        {
            var act = TestData.Quantize(t, TestData.Gaussian(n, 60));
            var four = new float[4];
            fixed (byte* w = weights)
            fixed (byte* a = act)
            fixed (float* o = four)
            {
                VecDotAvx2.Q8_0x4(w + 4 * rowBytes, rowBytes, a, n / 32, o);
                for (int i = 0; i < 4; i++) Assert.Equal(VecDotAvx2.Q8_0(w + (4 + i) * rowBytes, a, n / 32), four[i]);
            }
        }
    }

    [Fact]
    public void Kernel_Choice_Follows_LlamaCpp()
    {
        Assert.Equal(MatMulKernel.VecDot, MatMulKernels.Select(TensorType.F16, 64, 256, 1));
        Assert.Equal(MatMulKernel.TinyBlas, MatMulKernels.Select(TensorType.F16, 64, 256, 2));
        Assert.Equal(MatMulKernel.VecDot, MatMulKernels.Select(TensorType.F32, 66, 256, 5)); // rows not a multiple of 4
        Assert.Equal(MatMulKernel.Repacked, MatMulKernels.Select(TensorType.Q4_0, 64, 256, 1));
        Assert.Equal(MatMulKernel.VecDot, MatMulKernels.Select(TensorType.Q4_K, 60, 256, 8)); // rows not a multiple of 8
        Assert.Equal(MatMulKernel.VecDot, MatMulKernels.Select(TensorType.Q6_K, 64, 256, 64));
        Assert.Equal(MatMulKernel.VecDot, MatMulKernels.Select(TensorType.Q8_0, 64, 256, 64));

        // A 10-row batch: rows 0..7 in two 4-row gemm groups, rows 8 and 9 through gemv.
        for (int row = 0; row < 10; row++)
            Assert.Equal(row < 8 ? MatMulKernel.RepackedGemm : MatMulKernel.Repacked, MatMulKernels.ForRow(MatMulKernel.Repacked, row, 10));
        Assert.Equal(MatMulKernel.Repacked, MatMulKernels.ForRow(MatMulKernel.Repacked, 0, 1));
        Assert.Equal(MatMulKernel.VecDot, MatMulKernels.ForRow(MatMulKernel.VecDot, 0, 8));
    }

#if NET
    [Theory]
    [InlineData(24, 96, 1)]
    [InlineData(24, 96, 4)]
    [InlineData(16, 4864, 9)]
    [InlineData(8, 2048, 3)]
    public void Interleaved_Q4_0_Gives_The_Bits_Of_The_Repacked_Kernel(int rows, int cols, int tokens)
    {
        var weights = QuantizedRows(TensorType.Q4_0, rows, cols, 40);
        int rowBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q4_0, cols);
        // Scales the widening must carry exactly: zero, the smallest denormal, a denormal, negative, the largest finite.
        ushort[] scales = { 0x0000, 0x0001, 0x03FF, 0x8001, 0xBC00, 0x7BFF, 0xFBFF };
        for (int i = 0; i < scales.Length; i++) BitConverter.TryWriteBytes(weights.AsSpan(i * 18 + rowBytes * (i % rows)), scales[i]);
        // The widest integer sums: every nibble 15 (or 0) against activations of +-127 (the i16 partial sums' bound).
        weights.AsSpan(rowBytes + 2, 16).Fill(0xFF);
        weights.AsSpan(2 * rowBytes + 2, 16).Fill(0x00);
        int actBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q8_0, cols);
        var act = new byte[tokens * actBytes];
        for (int t = 0; t < tokens; t++) TestData.Quantize(TensorType.Q8_0, TestData.Gaussian(cols, 50 + t)).CopyTo(act, t * actBytes);
        for (int i = 0; i < 32; i++) act[2 + i] = (byte)(sbyte)(i % 2 == 0 ? 127 : -127);
        act.AsSpan(36, 32).Fill(unchecked((byte)(sbyte)-127));

        Assert.True(Q4_0Interleaved.CanRepack(rows, cols));
        AssertEightRowLayoutGivesRepackedBits(TensorType.Q4_0, weights, act, rows, cols, tokens, &Q4_0Interleaved.Repack, &Q4_0Interleaved.Compute);
    }

    /// <summary>
    /// An 8-row layout (<paramref name="repack"/>, <paramref name="compute"/>) of <paramref name="weights"/> against the
    /// Q8_0 activations <paramref name="act"/> gives every output the bits of <see cref="VecDotScalar.Repacked"/> on the
    /// row-major weights.
    /// </summary>
    private static void AssertEightRowLayoutGivesRepackedBits(TensorType t, byte[] weights, byte[] act, int rows, int cols, int tokens,
        delegate*<byte*, int, byte*, int, int, bool> repack, delegate*<byte*, int, int, byte*, long, int, float*, int, void> compute)
    {
        int rowBytes = (int)TensorTypeInfo.RowBytes(t, cols);
        int actBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q8_0, cols);
        var packed = new byte[rows * rowBytes];
        var output = new float[tokens * rows];
        fixed (byte* w = weights)
        fixed (byte* p = packed)
        fixed (byte* a = act)
        fixed (float* o = output)
        {
            Assert.True(repack(w, cols, p, 0, rows / 8));
            compute(p, cols, rows / 8, a, actBytes, tokens, o, rows);
            for (int k = 0; k < tokens; k++)
                for (int r = 0; r < rows; r++)
                    Assert.Equal(VecDotScalar.Repacked(t, w + r * rowBytes, a + k * actBytes, cols), output[k * rows + r]);
        }
    }

    [Fact]
    public void Interleaving_Q4_0_Needs_Whole_Groups_Of_Eight_Rows_And_Finite_Scales()
    {
        var weights = QuantizedRows(TensorType.Q4_0, 16, 64, 60);
        var packed = new byte[weights.Length];
        Assert.True(Q4_0Interleaved.CanRepack(16, 64));
        Assert.False(Q4_0Interleaved.CanRepack(12, 64));
        fixed (byte* w = weights)
        fixed (byte* p = packed)
        {
            Assert.True(Q4_0Interleaved.Repack(w, 64, p, 0, 2));
            BitConverter.TryWriteBytes(weights.AsSpan(5 * 18), (ushort)0x7C00);
            Assert.False(Q4_0Interleaved.Repack(w, 64, p, 0, 2));
            BitConverter.TryWriteBytes(weights.AsSpan(5 * 18), (ushort)0x7E01);
            Assert.False(Q4_0Interleaved.Repack(w, 64, p, 0, 2));
        }
    }

    [Theory]
    [InlineData(16, 256, 1, 0, 0)]
    [InlineData(16, 512, 9, 0, 8)]
    [InlineData(8, 2048, 6, 0, 4)]
    [InlineData(24, 768, 5, 2, 4)]
    public void Interleaved_Q4_K_Gives_The_Bits_Of_The_Repacked_Gemv_And_Gemm(int rows, int cols, int tokens, int firstRow, int gemmRows)
    {
        var weights = QuantizedRows(TensorType.Q4_K, rows, cols, 70);
        int rowBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q4_K, cols);
        // Extremes the integer sums must carry: every nibble 15 with the largest 6-bit scales and mins, and negative,
        // zero and denormal d / dmin.
        weights.AsSpan(4, 140).Fill(0xFF);
        ushort[] halves = { 0x0000, 0x0001, 0x8001, 0xBC00, 0x7BFF };
        for (int i = 0; i < halves.Length; i++) BitConverter.TryWriteBytes(weights.AsSpan(rowBytes * (1 + i) + 2 * (i % 2)), halves[i]);
        int actBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q8_K, cols);
        var act = new byte[tokens * actBytes];
        for (int t = 0; t < tokens; t++) TestData.Quantize(TensorType.Q8_K, TestData.Gaussian(cols, 80 + t)).CopyTo(act, t * actBytes);

        var packed = new byte[rows / 8 * Q4_KInterleaved.GroupBytes(cols)];
        var output = new float[tokens * rows];
        fixed (byte* w = weights)
        fixed (byte* p = packed)
        fixed (byte* a = act)
        fixed (float* o = output)
        {
            Assert.True(Q4_KInterleaved.CanRepack(rows, cols));
            Assert.True(Q4_KInterleaved.Repack(w, cols, p, 0, rows / 8));
            Q4_KInterleaved.Compute(p, cols, rows / 8, a, actBytes, tokens, firstRow, gemmRows, o, rows);
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++)
                {
                    float expected = firstRow + t < gemmRows
                        ? VecDotScalar.RepackedGemm(TensorType.Q4_K, w + r * rowBytes, a + t * actBytes, cols)
                        : VecDotScalar.Repacked(TensorType.Q4_K, w + r * rowBytes, a + t * actBytes, cols);
                    Assert.Equal(expected, output[t * rows + r]);
                }
        }
    }

    [Theory]
    [InlineData(8, 896, 1)]
    [InlineData(16, 896, 4)]
    [InlineData(24, 4864, 9)]
    [InlineData(8, 64, 3)]
    public void Interleaved_Q5_0_Gives_The_Bits_Of_The_Repacked_Arithmetic(int rows, int cols, int tokens)
    {
        // Special scales, blocks of all-largest and all-zero quants, activations of +-127 (the i16 partial sums' bound):
        // the data the native comparisons use.
        int rowBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q5_0, cols);
        int actBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q8_0, cols);
        var weights = NpcSdk.Runtime.Tests.Native.InterleavedTestData.Weights(TensorType.Q5_0, rows, cols, 45);
        var act = NpcSdk.Runtime.Tests.Native.InterleavedTestData.Activations(cols, tokens, actBytes, 55, lastBlock127: true);

        Assert.True(Q5_0Interleaved.CanRepack(rows, cols));
        AssertEightRowLayoutGivesRepackedBits(TensorType.Q5_0, weights, act, rows, cols, tokens, &Q5_0Interleaved.Repack, &Q5_0Interleaved.Compute);
        fixed (byte* w = weights)
        fixed (byte* a = act)
        {
            // The reference decodes Q5_0 as vec_dot does: the same sum, rounded differently.
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++)
                {
                    float expected = VecDotScalar.Repacked(TensorType.Q5_0, w + r * rowBytes, a + t * actBytes, cols);
                    float vecDot = VecDotScalar.Dot(TensorType.Q5_0, w + r * rowBytes, a + t * actBytes, cols);
                    Assert.True(Math.Abs(vecDot - expected) <= 1e-4f * Math.Max(1f, Math.Abs(vecDot)) || float.IsInfinity(vecDot), $"{vecDot} vs {expected}");
                }
        }
    }

    [Fact]
    public void Q5_0_Keeps_A_Row_Major_Layout_For_An_Infinite_Scale()
    {
        var weights = QuantizedRows(TensorType.Q5_0, 8, 64, 46);
        BitConverter.TryWriteBytes(weights.AsSpan(22), (ushort)0x7C00);
        var packed = new byte[weights.Length];
        fixed (byte* w = weights)
        fixed (byte* p = packed)
            Assert.False(Q5_0Interleaved.Repack(w, 64, p, 0, 1));
        Assert.False(Q5_0Interleaved.CanRepack(12, 64));
    }

    [Theory]
    [InlineData(4, 1056, 1)]
    [InlineData(20, 2048, 1)]
    [InlineData(20, 2048, 3)]
    [InlineData(8, 4864, 9)]
    [InlineData(36, 1088, 17)]
    public void Interleaved_Q8_0_Gives_The_Bits_Of_Vec_Dot(int rows, int cols, int tokens)
    {
        Assert.True(Q8_0Interleaved.CanRepack(rows, cols));
        AssertFourRowLayoutGivesVecDotBits(TensorType.Q8_0, rows, cols, tokens, 90, &Q8_0Interleaved.Repack, &Q8_0Interleaved.Compute);
    }

    /// <summary>
    /// A layout in groups of 4 rows (<paramref name="repack"/>, <paramref name="compute"/>) against Q8_0 activations gives
    /// every output the bits of the scalar vec_dot on the row-major weights.
    /// </summary>
    private static void AssertFourRowLayoutGivesVecDotBits(TensorType t, int rows, int cols, int tokens, int seed,
        delegate*<byte*, int, byte*, int, int, bool> repack, delegate*<byte*, int, int, byte*, long, int, float*, int, void> compute)
    {
        var weights = QuantizedRows(t, rows, cols, seed);
        int rowBytes = (int)TensorTypeInfo.RowBytes(t, cols);
        int actBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q8_0, cols);
        var act = new byte[tokens * actBytes];
        for (int k = 0; k < tokens; k++) TestData.Quantize(TensorType.Q8_0, TestData.Gaussian(cols, 10 * seed + k)).CopyTo(act, k * actBytes);

        var packed = new byte[rows * rowBytes];
        var output = new float[tokens * rows];
        fixed (byte* w = weights)
        fixed (byte* p = packed)
        fixed (byte* a = act)
        fixed (float* o = output)
        {
            Assert.True(repack(w, cols, p, 0, rows / 4));
            compute(p, cols, rows / 4, a, actBytes, tokens, o, rows);
            for (int k = 0; k < tokens; k++)
                for (int r = 0; r < rows; r++)
                    Assert.Equal(VecDotScalar.Dot(t, w + r * rowBytes, a + k * actBytes, cols), output[k * rows + r]);
        }
    }

    [Theory]
    [InlineData(32)]
    [InlineData(2048)]
    [InlineData(2051)]
    public void Finite_Halves_Widen_To_The_Same_Floats_As_The_Exact_Widening(int n)
    {
        if (!VecDotAvx2.IsSupported) return;
        var rng = new Random(n);
        var halves = new ushort[n];
        // Every finite pattern class: normals of both signs, denormals (smallest, largest), zeros of both signs, the largest finite.
        ushort[] special = { 0x0000, 0x8000, 0x0001, 0x03FF, 0x8001, 0x83FF, 0x0400, 0x7BFF, 0xFBFF, 0x3C00 };
        for (int i = 0; i < n; i++)
        {
            ushort h;
            do h = (ushort)rng.Next(0x10000); while ((h & 0x7C00) == 0x7C00);
            halves[i] = i < special.Length ? special[i] : h;
        }
        var act = TestData.Gaussian(n, 3);
        fixed (ushort* h = halves)
        fixed (float* a = act)
        {
            Assert.True(VecDotAvx2.AllFiniteHalves(h, n));
            float exact = VecDotAvx2.F16F32<VecDotAvx2.ExactHalves>((byte*)h, a, n), fast = VecDotAvx2.F16F32<VecDotAvx2.FiniteHalves>((byte*)h, a, n);
            Assert.Equal(BitConverter.SingleToInt32Bits(exact), BitConverter.SingleToInt32Bits(fast));
            for (int i = 0; i + 8 <= n; i += 8)
            {
                var x = System.Runtime.Intrinsics.Vector128.Load(h + i);
                Assert.Equal(System.Runtime.Intrinsics.Vector256.AsInt32(VecDotAvx2.HalfToSingle(x)), System.Runtime.Intrinsics.Vector256.AsInt32(VecDotAvx2.HalfToSingleFinite(x)));
            }

            // An infinity or a NaN anywhere, in a whole vector or in the tail, is found.
            foreach (int at in new[] { 0, n / 2, n - 1 })
                foreach (ushort bad in new ushort[] { 0x7C00, 0xFC00, 0x7E01 })
                {
                    ushort keep = h[at];
                    h[at] = bad;
                    Assert.False(VecDotAvx2.AllFiniteHalves(h, n), $"{bad:X4} at {at}");
                    h[at] = keep;
                }
        }
    }

    [Fact]
    public void Q8_0_Is_Interleaved_Only_For_Long_Rows_In_Groups_Of_Four()
    {
        Assert.True(Q8_0Interleaved.CanRepack(8, 1056));
        Assert.False(Q8_0Interleaved.CanRepack(8, 1024));
        Assert.False(Q8_0Interleaved.CanRepack(6, 2048));
    }
#endif
}
