using System;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Tensors;

public class MatVecTests
{
    public static TheoryData<TensorType> WeightTypes => VecDotTests.WeightTypes();

    [Theory]
    [MemberData(nameof(WeightTypes))]
    public void Compute_Over_A_Row_Range_Equals_VecDot_Of_Each_Row(TensorType t)
    {
        int rows = 37, cols = 512;
        int rowBytes = (int)TensorTypeInfo.RowBytes(t, cols);
        var weights = new byte[rows * rowBytes];
        for (int r = 0; r < rows; r++)
        {
            Quantizer.QuantizeRowReference(t, TestData.Gaussian(cols, seed: 1000 + r, sigma: 0.02f), weights.AsSpan(r * rowBytes, rowBytes));
        }

        byte[] act = TestData.Quantize(TensorTypeInfo.VecDotType(t), TestData.Gaussian(cols, seed: 7));
        foreach ((int start, int end) in new[] { (0, rows), (5, 6), (3, 30), (36, 37), (10, 10) })
        {
            var output = new float[end - start + 2];
            output[^1] = 123f;
            output[^2] = 123f;
            MatVec.Compute(t, weights, cols, act, output, start, end);
            for (int r = start; r < end; r++)
            {
                float expected = VecDot.Dot(t, weights.AsSpan(r * rowBytes, rowBytes), act, cols);
                Assert.Equal(expected, output[r - start], Math.Abs(expected) * 1e-5f + 1e-6f);
            }

            if (end == start)
            {
                Assert.Equal(123f, output[0]);
            }
            else
            {
                Assert.Equal(123f, output[end - start]);
            }
        }
    }

    [Fact]
    public void Compute_On_Fixture_Weights_Approximates_The_F32_MatVec()
    {
        FixtureTensors f32 = FixtureTensors.Open("fx-llama-F32.gguf");
        foreach (string fixture in new[] { "fx-llama-Q4_K_M.gguf", "fx-llama-Q8_0.gguf", "fx-llama-F16.gguf", "fx-llama-Q5_1.gguf" })
        {
            FixtureTensors quantized = FixtureTensors.Open(fixture);
            foreach (string name in new[] { "blk.0.ffn_down.weight", "blk.1.attn_v.weight", "output.weight" })
            {
                FixtureTensors.Entry q = quantized[name];
                FixtureTensors.Entry source = f32[name];
                float[] x = TestData.Gaussian(q.RowLength, seed: 5);
                byte[] act = TestData.Quantize(TensorTypeInfo.VecDotType(q.Type), x);
                var output = new float[q.Rows];
                MatVec.Compute(q.Type, quantized.Data(q), q.RowLength, act, output, 0, q.Rows);

                double err = 0, norm = 0;
                for (int r = 0; r < q.Rows; r++)
                {
                    double expected = TestData.Dot(f32.F32Row(source, r), x);
                    err += (output[r] - expected) * (output[r] - expected);
                    norm += expected * expected;
                }

                double relative = Math.Sqrt(err / norm);
                Assert.True(relative < 0.1, $"{fixture} {name} ({q.Type}): relative error {relative}");
            }
        }
    }

    [Fact]
    public void Compute_Rejects_Ranges_Beyond_The_Weights()
    {
        var weights = new byte[4 * 34];
        var act = new byte[34];
        Assert.Throws<ArgumentException>(() => MatVec.Compute(TensorType.Q8_0, weights, 32, act, new float[8], 0, 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => MatVec.Compute(TensorType.Q8_0, weights, 32, act, new float[8], 3, 2));
        Assert.Throws<ArgumentException>(() => MatVec.Compute(TensorType.Q8_0, weights, 32, act, new float[1], 0, 4));
    }
}
