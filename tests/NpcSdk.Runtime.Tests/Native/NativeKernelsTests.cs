using System;
using System.Collections.Generic;
using System.IO;
using NpcSdk.Compute;
using NpcSdk.Gguf;
using NpcSdk.Native;
using NpcSdk.Runtime.Tests.Tensors;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Native;

/// <summary>
/// The native kernels against the managed ones: matrix products on the fixture models' real weights of every format,
/// on every path the CPU has (the library's plain-C path too), bit for bit on the AVX2 path with the kernel llama.cpp
/// picks for each batch size, and activation quantizers byte for byte.
/// </summary>
[Collection(NativeCollection.Name)]
public class NativeKernelsTests
{
    private static readonly string[] Fixtures =
    {
        "fx-llama-F32.gguf", "fx-llama-F16.gguf", "fx-llama-BF16.gguf", "fx-llama-Q4_0.gguf", "fx-llama-Q4_1.gguf",
        "fx-llama-Q5_0.gguf", "fx-llama-Q5_1.gguf", "fx-llama-Q8_0.gguf", "fx-llama-Q2_K.gguf", "fx-llama-Q3_K_M.gguf",
        "fx-llama-Q4_K_M.gguf", "fx-llama-Q5_K_M.gguf", "fx-llama-Q6_K.gguf",
    };

    private static readonly TensorType[] ActivationTypes =
    {
        TensorType.F32, TensorType.F16, TensorType.BF16, TensorType.Q8_0, TensorType.Q8_1, TensorType.Q8_K,
    };

    public static TheoryData<TensorType> WeightTypes() => new TheoryData<TensorType>
    {
        TensorType.F32, TensorType.F16, TensorType.BF16, TensorType.Q8_0, TensorType.Q4_0, TensorType.Q4_1,
        TensorType.Q5_0, TensorType.Q5_1, TensorType.Q2_K, TensorType.Q3_K, TensorType.Q4_K, TensorType.Q5_K,
        TensorType.Q6_K,
    };

    public static TheoryData<TensorType> QuantizeTypes()
    {
        var data = new TheoryData<TensorType>();
        foreach (TensorType t in ActivationTypes)
        {
            data.Add(t);
        }

        return data;
    }

    [NativeFact]
    public void Description_Names_The_Path()
    {
        Assert.StartsWith("native ", NativeKernels.Description);
        Assert.Contains(NativeKernels.Description, new[] { "native avx2", "native neon", "native scalar" });
    }

    [NativeTheory]
    [MemberData(nameof(WeightTypes))]
    public void MatVec_Matches_Managed_On_Fixture_Weights(TensorType t)
    {
        int checkedTensors = 0;
        foreach ((GgufFile file, GgufTensorInfo info) in TensorsOfType(t))
        {
            using (file)
            {
                int cols = (int)info.RowLength, rows = (int)info.RowCount;
                ReadOnlySpan<byte> weights = file.TensorData(info);
                byte[] act = TestData.Quantize(TensorTypeInfo.VecDotType(t), TestData.Gaussian(cols, seed: 11 + checkedTensors));
                var expected = new float[rows];
                MatVec.Compute(t, weights, cols, act, expected, 0, rows);

                foreach (string path in NativeTests.Paths())
                {
                    var actual = new float[rows + 1];
                    actual[rows] = 777f;
                    NativeKernels.MatVec(t, weights, cols, act, actual, 0, rows);
                    AssertClose(expected, actual, rows, $"{t} {info.Name} ({path})");
                    Assert.Equal(777f, actual[rows]);

                    // A row range: output[r - rowStart].
                    int r0 = rows / 3, r1 = rows - rows / 4;
                    var part = new float[r1 - r0];
                    NativeKernels.MatVec(t, weights, cols, act, part, r0, r1);
                    AssertClose(expected.AsSpan(r0, r1 - r0).ToArray(), part, r1 - r0, $"{t} {info.Name} rows [{r0},{r1}) ({path})");
                }
            }

            checkedTensors++;
        }

        Assert.True(checkedTensors > 0, $"no fixture has a {t} matrix");
        NativeTests.RestoreBestPath();
    }

    [NativeTheory]
    [MemberData(nameof(WeightTypes))]
    public void MatMul_Of_Several_Activation_Rows_Matches_Managed_MatVec_Per_Row(TensorType t)
    {
        (GgufFile file, GgufTensorInfo info) = FirstTensorOfType(t);
        using (file)
        {
            int cols = (int)info.RowLength, rows = (int)info.RowCount;
            ReadOnlySpan<byte> weights = file.TensorData(info);
            TensorType partner = TensorTypeInfo.VecDotType(t);
            int actBytes = (int)TensorTypeInfo.RowBytes(partner, cols);
            const int count = 7;
            var acts = new byte[count * actBytes];
            for (int i = 0; i < count; i++)
            {
                Quantizer.QuantizeRow(partner, TestData.Gaussian(cols, seed: 100 + i), acts.AsSpan(i * actBytes, actBytes));
            }

            int r0 = 1, r1 = rows - 2, stride = r1 - r0 + 5;
            foreach (string path in NativeTests.Paths())
            {
                var output = new float[(count - 1) * stride + (r1 - r0)];
                NativeKernels.MatMul(t, weights, cols, acts, count, output, stride, r0, r1);
                for (int i = 0; i < count; i++)
                {
                    var expected = new float[r1 - r0];
                    MatVec.Compute(t, weights, cols, acts.AsSpan(i * actBytes, actBytes), expected, r0, r1);
                    AssertClose(expected, output.AsSpan(i * stride, r1 - r0).ToArray(), r1 - r0, $"{t} {info.Name} activation {i} ({path})");
                }
            }
        }

        NativeTests.RestoreBestPath();
    }

    /// <summary>
    /// On AVX2 every element equals the managed one bit for bit, for the kernel <see cref="MatMulKernels.Select"/>
    /// picks at each batch size (vec_dot, tinyBLAS, the repacked gemv / gemm split) and for plain vec_dot, over shapes
    /// with and without whole groups of 8 (repacked) or 4 (tinyBLAS) rows, leftover float elements, and row ranges
    /// cut mid-tile the way the worker pool cuts them.
    /// </summary>
    [NativeTheory]
    [MemberData(nameof(WeightTypes))]
    public void MatMul_Is_Bit_Identical_To_The_Managed_Kernels_At_Every_Batch_Size(TensorType t)
    {
        if (!VecDotAvx2.IsSupported || !NativeKernels.TryUsePath("avx2"))
        {
            return; // only the AVX2 paths reproduce ggml's order; the others are checked within tolerance above
        }

        int block = TensorTypeInfo.BlockSize(t);
        var shapes = new List<(int Rows, int Cols)> { (40, Math.Max(512, block)), (20, Math.Max(256, block)) };
        if (block == 1)
        {
            shapes.Add((12, 72)); // tinyBLAS over 9 steps; vec_dot with 8 leftover elements
            shapes.Add((7, 44));  // neither 4 rows nor 8 columns: vec_dot even in batches
        }

        TensorType partner = TensorTypeInfo.VecDotType(t);
        int[] batchSizes = { 1, 2, 3, 4, 5, 8, 16, 17, 64 };
        foreach ((int rows, int cols) in shapes)
        {
            byte[] weights = TestData.Quantize(t, TestData.Gaussian(rows * cols, seed: rows + cols, sigma: 0.5f));
            int actBytes = (int)TensorTypeInfo.RowBytes(partner, cols);
            foreach (int batch in batchSizes)
            {
                var acts = new byte[batch * actBytes];
                for (int i = 0; i < batch; i++)
                {
                    Quantizer.QuantizeRow(partner, TestData.Gaussian(cols, seed: 1000 * batch + i), acts.AsSpan(i * actBytes, actBytes));
                }

                foreach (MatMulKernel kernel in new[] { MatMulKernels.Select(t, rows, cols, batch), MatMulKernel.VecDot })
                {
                    float[] expected = ManagedProduct(kernel, t, weights, rows, cols, acts, batch);
                    int gemmRows = kernel == MatMulKernel.Repacked ? batch - batch % 4 : 0;
                    var actual = new float[batch * rows];
                    int split = rows / 3 + 1; // two calls, as two worker chunks
                    NativeKernels.MatMul(kernel, gemmRows, t, weights, cols, acts, batch, actual, rows, 0, split);
                    NativeKernels.MatMul(kernel, gemmRows, t, weights, cols, acts, batch, actual.AsSpan(split), rows, split, rows);
                    AssertBitIdentical(expected, actual, $"{t} {rows}x{cols} batch {batch} {kernel}");

                    // One activation row of the batch alone (ForwardPass.ComputeLogits): the kernel of its place in the batch.
                    int last = batch - 1;
                    var single = new float[rows];
                    NativeKernels.MatMul(kernel, kernel == MatMulKernel.Repacked && last < gemmRows ? 1 : 0, t, weights, cols,
                        acts.AsSpan(last * actBytes, actBytes), 1, single, rows, 0, rows);
                    AssertBitIdentical(expected.AsSpan(last * rows, rows).ToArray(), single, $"{t} {rows}x{cols} batch {batch} {kernel}, row {last} alone");
                }
            }
        }

        NativeTests.RestoreBestPath();
    }

    [NativeTheory]
    [MemberData(nameof(QuantizeTypes))]
    public void QuantizeRow_Produces_The_Managed_Bytes(TensorType t)
    {
        foreach (float[] x in QuantizerInputs(t))
        {
            var expected = new byte[TensorTypeInfo.RowBytes(t, x.Length)];
            Quantizer.QuantizeRow(t, x, expected);
            foreach (string path in NativeTests.Paths())
            {
                var actual = new byte[expected.Length];
                NativeKernels.QuantizeRow(t, x, actual);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{t} ({path}): first difference at byte {FirstDifference(expected, actual)} of {expected.Length}");
            }
        }

        NativeTests.RestoreBestPath();
    }

    [NativeFact]
    public void QuantizeRows_Quantizes_Each_Row_Like_QuantizeRow()
    {
        float[] x = TestData.Gaussian(3 * 512, seed: 9);
        foreach (TensorType t in ActivationTypes)
        {
            int rowBytes = (int)TensorTypeInfo.RowBytes(t, 512);
            var all = new byte[3 * rowBytes];
            NativeKernels.QuantizeRows(t, x, 3, all);
            for (int i = 0; i < 3; i++)
            {
                var one = new byte[rowBytes];
                Quantizer.QuantizeRow(t, x.AsSpan(i * 512, 512), one);
                Assert.True(one.AsSpan().SequenceEqual(all.AsSpan(i * rowBytes, rowBytes)), $"{t} row {i}");
            }
        }
    }

    [NativeTheory]
    [MemberData(nameof(WeightTypes))]
    public void DequantizeRow_Matches_Managed(TensorType t)
    {
        (GgufFile file, GgufTensorInfo info) = FirstTensorOfType(t);
        using (file)
        {
            int cols = (int)info.RowLength;
            int rowBytes = (int)TensorTypeInfo.RowBytes(t, cols);
            ReadOnlySpan<byte> row = file.TensorData(info).Slice(rowBytes, rowBytes);
            var expected = new float[cols];
            var actual = new float[cols];
            Dequantizer.DequantizeRow(t, row, expected);
            NativeKernels.DequantizeRow(t, row, actual);
            for (int i = 0; i < cols; i++)
            {
                Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f * Math.Abs(expected[i]) + 1e-12f, $"{t} element {i}: {actual[i]} vs managed {expected[i]}");
            }
        }
    }

    [NativeFact]
    public void RmsNorm_And_Softmax_Equal_VectorOps()
    {
        float[] x = TestData.Gaussian(768, seed: 3);
        float[] w = TestData.Gaussian(768, seed: 4);
        var expected = new float[768];
        var actual = new float[768];
        VectorOps.RmsNorm(x, w, expected, 1e-5f);
        NativeKernels.RmsNorm(x, w, actual, 1e-5f);
        Assert.Equal(expected, actual);

        float[] p = TestData.Gaussian(300, seed: 5, sigma: 4f);
        float[] q = (float[])p.Clone();
        VectorOps.Softmax(p);
        NativeKernels.Softmax(q);
        for (int i = 0; i < p.Length; i++)
        {
            Assert.Equal(p[i], q[i], p[i] * 1e-6f);
        }
    }

    [NativeFact]
    public void Invalid_Arguments_Throw_Like_The_Managed_Kernels()
    {
        var weights = new byte[4 * 34];
        var act = new byte[34];
        Assert.Throws<ArgumentException>(() => NativeKernels.MatVec(TensorType.Q8_0, weights, 32, act, new float[8], 0, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => NativeKernels.MatVec(TensorType.Q8_0, weights, 32, act, new float[8], 3, 2));
        Assert.Throws<ArgumentException>(() => NativeKernels.MatVec(TensorType.Q8_0, weights, 32, act, new float[1], 0, 4));
        Assert.Throws<ArgumentException>(() => NativeKernels.MatVec(TensorType.Q8_0, weights, 32, new byte[10], new float[8], 0, 4));
        Assert.Throws<NotSupportedException>(() => NativeKernels.QuantizeRow(TensorType.Q4_0, new float[32], new byte[18]));
    }

    /// <summary>
    /// Within 1e-5 relative: |native - managed| &lt;= 1e-5 * max(|managed|, rms of the outputs). The floor keeps outputs
    /// that cancel to nearly zero from demanding more than float rounding of their terms can give.
    /// </summary>
    private static void AssertClose(float[] expected, float[] actual, int count, string what)
    {
        double rms = 0;
        for (int i = 0; i < count; i++)
        {
            rms += (double)expected[i] * expected[i];
        }

        rms = Math.Sqrt(rms / Math.Max(1, count));
        for (int i = 0; i < count; i++)
        {
            double tolerance = 1e-5 * Math.Max(Math.Abs(expected[i]), rms);
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance,
                $"{what}, row {i}: native {actual[i]:R} vs managed {expected[i]:R} (tolerance {tolerance:G3})");
        }
    }

    /// <summary>The managed product of <paramref name="batch"/> activation rows as ForwardPass computes it with <paramref name="kernel"/>.</summary>
    private static float[] ManagedProduct(MatMulKernel kernel, TensorType t, byte[] weights, int rows, int cols, byte[] acts, int batch)
    {
        TensorType partner = TensorTypeInfo.VecDotType(t);
        int actBytes = (int)TensorTypeInfo.RowBytes(partner, cols);
        var output = new float[batch * rows];
        if (kernel == MatMulKernel.TinyBlas)
        {
            var widened = new float[batch * cols];
            for (int i = 0; i < batch; i++)
            {
                Dequantizer.DequantizeRow(partner, acts.AsSpan(i * actBytes, actBytes), widened.AsSpan(i * cols, cols));
            }

            FloatGemm.Compute(t, weights, rows, cols, widened, cols, batch, output, rows);
            return output;
        }

        for (int i = 0; i < batch; i++)
        {
            MatVec.ComputeWith(MatMulKernels.ForRow(kernel, i, batch), t, weights, cols, acts.AsSpan(i * actBytes, actBytes),
                output.AsSpan(i * rows, rows), 0, rows, rowsTogether: batch >= 2);
        }

        return output;
    }

    private static void AssertBitIdentical(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}, element {i}: native {actual[i]:R} vs managed {expected[i]:R}");
        }
    }

    /// <summary>The 2-D tensors of type <paramref name="t"/> in the fixtures (each with its own open file).</summary>
    private static IEnumerable<(GgufFile File, GgufTensorInfo Info)> TensorsOfType(TensorType t)
    {
        foreach (string fixture in Fixtures)
        {
            GgufFile file = GgufFile.Open(FixturePath(fixture));
            var found = new List<GgufTensorInfo>();
            foreach (GgufTensorInfo info in file.Tensors)
            {
                if (info.Type == t && info.Shape.Length == 2 && info.RowCount > 4 && found.Count < 3)
                {
                    found.Add(info);
                }
            }

            if (found.Count == 0)
            {
                file.Dispose();
                continue;
            }

            for (int i = 0; i < found.Count; i++)
            {
                yield return (i == 0 ? file : GgufFile.Open(FixturePath(fixture)), found[i]);
            }

            yield break;
        }
    }

    private static (GgufFile File, GgufTensorInfo Info) FirstTensorOfType(TensorType t)
    {
        foreach ((GgufFile file, GgufTensorInfo info) in TensorsOfType(t))
        {
            return (file, info);
        }

        throw new InvalidOperationException($"no fixture has a {t} matrix");
    }

    private static string FixturePath(string name) => Path.Combine(AppContext.BaseDirectory, "data", "fixtures", name);

    /// <summary>Random rows, exact rounding ties, zero blocks, and for the 16-bit formats every special float.</summary>
    private static IEnumerable<float[]> QuantizerInputs(TensorType t)
    {
        yield return TestData.Gaussian(4096, seed: 21);
        yield return TestData.Gaussian(768, seed: 22, sigma: 1e-3f);

        float[] ties = TestData.Gaussian(1024, seed: 23);
        var rng = new Random(24);
        for (int b = 0; b < ties.Length; b += 32)
        {
            ties[b] = 127f;
            for (int j = 1; j < 32; j++)
            {
                ties[b + j] = rng.Next(-100, 100) + 0.5f;
            }
        }

        Array.Clear(ties, 256, 256);
        ties[600] = -4f;
        ties[601] = 4f;
        yield return ties;

        if (t == TensorType.F16 || t == TensorType.BF16 || t == TensorType.F32)
        {
            var bits = new float[4096 + 7];
            for (int i = 0; i < bits.Length; i++)
            {
                bits[i] = BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue));
            }

            int[] special = { 0x7F800000, unchecked((int)0xFF800000), 0x7FC00000, 0x7F800001, unchecked((int)0xFFC12345), 0x477FEFFF, 0x477FF000, 0x33000000, 0x33000001, 0x387FC000, 1, unchecked((int)0x80000000), 0x3F808000, 0x3F818000 };
            for (int i = 0; i < special.Length; i++)
            {
                bits[i] = BitConverter.Int32BitsToSingle(special[i]);
            }

            yield return bits;
        }
    }

    private static int FirstDifference(byte[] a, byte[] b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }

        return -1;
    }
}
