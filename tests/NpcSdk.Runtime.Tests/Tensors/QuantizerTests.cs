using System;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Tensors;

public class QuantizerTests
{
    /// <summary>Upper bounds of RMS(dequantize(quantize(x)) - x) / RMS(x) for Gaussian rows.</summary>
    public static TheoryData<TensorType, double> RelativeErrorBounds => new TheoryData<TensorType, double>
    {
        { TensorType.F32, 0.0 },
        { TensorType.F16, 3e-4 },
        { TensorType.BF16, 3e-3 },
        { TensorType.Q8_0, 0.01 },
        { TensorType.Q8_1, 0.01 },
        { TensorType.Q8_K, 0.01 },
        { TensorType.Q6_K, 0.03 },
        { TensorType.Q5_0, 0.06 },
        { TensorType.Q5_1, 0.05 },
        { TensorType.Q5_K, 0.05 },
        { TensorType.Q4_0, 0.12 },
        { TensorType.Q4_1, 0.1 },
        { TensorType.Q4_K, 0.1 },
        { TensorType.Q3_K, 0.2 },
        { TensorType.Q2_K, 0.4 },
    };

    [Theory]
    [MemberData(nameof(RelativeErrorBounds))]
    public void Quantize_Then_Dequantize_Stays_Within_The_Format_Error(TensorType t, double bound)
    {
        int n = 4096;
        float[] x = TestData.Gaussian(n, seed: 3, sigma: 0.02f);
        foreach (bool reference in new[] { false, true })
        {
            var bytes = new byte[TensorTypeInfo.RowBytes(t, n)];
            if (reference)
            {
                Quantizer.QuantizeRowReference(t, x, bytes);
            }
            else
            {
                Quantizer.QuantizeRow(t, x, bytes);
            }

            float[] y = TestData.Dequantize(t, bytes, n);
            double err = 0;
            for (int i = 0; i < n; i++)
            {
                err += (y[i] - (double)x[i]) * (y[i] - x[i]);
            }

            double relative = Math.Sqrt(err) / TestData.Norm(x);
            Assert.True(relative <= bound, $"{t} (reference={reference}): relative RMS error {relative} > {bound}");
        }
    }

    [Theory]
    [InlineData(TensorType.Q8_0)]
    [InlineData(TensorType.Q8_1)]
    [InlineData(TensorType.Q8_K)]
    [InlineData(TensorType.F16)]
    [InlineData(TensorType.BF16)]
    [InlineData(TensorType.F32)]
    public void Fast_Activation_Quantizers_Match_Scalar_Bytes(TensorType t)
    {
        foreach (int n in TestData.Lengths)
        {
            for (int seed = 0; seed < 4; seed++)
            {
                float[] x = TestData.Gaussian(n, seed: 50 + seed, sigma: seed == 3 ? 1e-6f : 3f);
                if (seed == 2)
                {
                    // Ties and repeated magnitudes of both signs: the Q8_K maximum must be the first one found.
                    for (int i = 0; i < n; i += 7)
                    {
                        x[i] = (i / 7) % 2 == 0 ? 2.5f : -2.5f;
                    }

                    Array.Clear(x, 0, Math.Min(n, 256)); // an all-zero block
                }

                var fast = new byte[TensorTypeInfo.RowBytes(t, n)];
                var scalar = new byte[fast.Length];
                Quantizer.QuantizeRow(t, x, fast);
                Quantizer.QuantizeRowScalar(t, x, scalar);
                Assert.Equal(scalar, fast);
            }
        }
    }

    [Theory]
    [InlineData(TensorType.F16)]
    [InlineData(TensorType.BF16)]
    public void Fast_Float_Conversions_Match_Scalar_On_Special_Values(TensorType t)
    {
        var rng = new Random(12);
        var x = new float[4096];
        for (int i = 0; i < x.Length; i++)
        {
            // Random bit patterns cover subnormals, overflow, infinities and NaNs of both signs.
            x[i] = BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue));
        }

        for (int i = 0; i < 64; i++)
        {
            x[i] = new[] { 65504f, 65519.99f, 65520f, 6.1035156e-5f, 6.1e-5f, 2.9802322e-8f, float.NaN, float.PositiveInfinity }[i % 8] * (i % 16 < 8 ? 1 : -1);
        }

        var fast = new byte[TensorTypeInfo.RowBytes(t, x.Length)];
        var scalar = new byte[fast.Length];
        Quantizer.QuantizeRow(t, x, fast);
        Quantizer.QuantizeRowScalar(t, x, scalar);
        Assert.Equal(scalar, fast);
    }

    [Fact]
    public void Q8_0_Activation_Rounds_Half_To_Even_While_Reference_Rounds_Away_From_Zero()
    {
        // amax = 127 gives scale 1, so x = 2.5 lands exactly on a tie.
        var x = new float[32];
        x[0] = 127f;
        x[1] = 2.5f;
        x[2] = -3.5f;
        var activation = new byte[34];
        var reference = new byte[34];
        Quantizer.QuantizeRow(TensorType.Q8_0, x, activation);
        Quantizer.QuantizeRowReference(TensorType.Q8_0, x, reference);
        Assert.Equal(2, (sbyte)activation[2 + 1]);
        Assert.Equal(-4, (sbyte)activation[2 + 2]);
        Assert.Equal(3, (sbyte)reference[2 + 1]);
        Assert.Equal(-4, (sbyte)reference[2 + 2]);
    }

    [Fact]
    public void Q8_1_Stores_Scale_Times_Sum_Of_Quants()
    {
        float[] x = TestData.Gaussian(64, seed: 9);
        byte[] q = TestData.Quantize(TensorType.Q8_1, x);
        for (int b = 0; b < 2; b++)
        {
            float d = Half16.ToFloat((ushort)(q[36 * b] | (q[36 * b + 1] << 8)));
            int sum = 0;
            for (int j = 0; j < 32; j++)
            {
                sum += (sbyte)q[36 * b + 4 + j];
            }

            Assert.Equal(Half16.FromFloat(d * sum), (ushort)(q[36 * b + 2] | (q[36 * b + 3] << 8)));
        }
    }

    [Fact]
    public void Q8_K_Stores_Float_Scale_And_Sums_Of_16()
    {
        float[] x = TestData.Gaussian(512, seed: 10);
        byte[] q = TestData.Quantize(TensorType.Q8_K, x);
        for (int b = 0; b < 2; b++)
        {
            int o = 292 * b;
            float d = BitConverter.ToSingle(q, o);
            Assert.True(d != 0);
            for (int g = 0; g < 16; g++)
            {
                int sum = 0;
                for (int j = 0; j < 16; j++)
                {
                    sum += (sbyte)q[o + 4 + 16 * g + j];
                }

                Assert.Equal(sum, BitConverter.ToInt16(q, o + 260 + 2 * g));
            }
        }
    }

    [Theory]
    [InlineData(0.5f, 0)]
    [InlineData(1.5f, 2)]
    [InlineData(2.5f, 2)]
    [InlineData(-2.5f, -2)]
    [InlineData(-0.49999997f, 0)]
    [InlineData(4194303f, 4194303)]
    public void NearestInt_Rounds_Half_To_Even(float x, int expected)
    {
        Assert.Equal(expected, Quantizer.NearestInt(x));
    }

    [Fact]
    public void QuantizeRow_Rejects_Lengths_That_Are_Not_Whole_Blocks()
    {
        Assert.Throws<ArgumentException>(() => Quantizer.QuantizeRow(TensorType.Q4_K, new float[128], new byte[1000]));
        Assert.Throws<ArgumentException>(() => Quantizer.QuantizeRow(TensorType.Q8_0, new float[64], new byte[67]));
    }

    [Fact]
    public void All_Zero_Rows_Quantize_To_Zero_Values()
    {
        foreach (TensorType t in TestData.AllTypes)
        {
            byte[] q = TestData.Quantize(t, new float[512]);
            Assert.All(TestData.Dequantize(t, q, 512), v => Assert.Equal(0f, v));
        }
    }
}
