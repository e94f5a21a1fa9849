using System;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Tensors;

public class VecDotTests
{
    public static TheoryData<TensorType> WeightTypes()
    {
        var data = new TheoryData<TensorType>();
        foreach (TensorType t in TestData.AllTypes)
        {
            data.Add(t);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(WeightTypes))]
    public void Dot_With_Quantized_Activation_Approximates_Float_Dot_Of_Dequantized_Weights(TensorType t)
    {
        int n = 1024;
        float[] w = TestData.Gaussian(n, seed: 1);
        float[] x = TestData.Gaussian(n, seed: 2);
        byte[] wq = TestData.Quantize(t, w);
        float[] wd = TestData.Dequantize(t, wq, n);
        TensorType partner = TensorTypeInfo.VecDotType(t);
        byte[] xq = TestData.Quantize(partner, x);
        float[] xd = TestData.Dequantize(partner, xq, n);

        float dot = VecDot.Dot(t, wq, xq, n);

        // Both sides dequantized: only float summation order differs, plus (Q8_1 partners) the fp16 rounding of the
        // activation block sums s that the min term uses.
        double exact = TestData.Dot(wd, xd);
        double scale = TestData.Norm(wd) * TestData.Norm(xd);
        double allowance = 1e-5 * scale + (partner == TensorType.Q8_1 ? BlockSumRounding(t, wq, xd) : 0);
        Assert.True(Math.Abs(dot - exact) <= allowance, $"{t}: dot {dot}, dequantized dot {exact}");

        // Against the unquantized activation: bounded by the activation quantization error.
        double reference = TestData.Dot(wd, x);
        double tolerance = partner == TensorType.Q8_0 || partner == TensorType.Q8_1 || partner == TensorType.Q8_K ? 0.02 : 0.005;
        Assert.True(Math.Abs(dot - reference) <= tolerance * scale, $"{t}: dot {dot}, float dot {reference}");
    }

    [Theory]
    [MemberData(nameof(WeightTypes))]
    public void Fast_Kernels_Match_Scalar_Reference(TensorType t)
    {
        foreach (int n in TestData.Lengths)
        {
            for (int seed = 0; seed < 3; seed++)
            {
                byte[] wq = TestData.Quantize(t, TestData.Gaussian(n, seed: 100 + seed, sigma: 0.02f));
                byte[] xq = TestData.Quantize(TensorTypeInfo.VecDotType(t), TestData.Gaussian(n, seed: 200 + seed));
                float scalar = VecDotScalar.Dot(t, wq, xq, n);
                double magnitude = MagnitudeBound(t, wq, xq, n);
                Assert.Equal((double)scalar, VecDot.Dot(t, wq, xq, n), 1e-5 * magnitude);
                if (VecDotAvx2.IsSupported)
                {
                    Assert.Equal((double)scalar, VecDotAvx2.Dot(t, wq, xq, n), 1e-5 * magnitude);
                }

                // The portable kernels are correct (if slow) even where Vector256 is not accelerated.
                Assert.Equal((double)scalar, VecDotPortable.Dot(t, wq, xq, n), 1e-5 * magnitude);
            }
        }
    }

    [Fact]
    public void Dot_Rejects_Rows_That_Are_Too_Short()
    {
        var w = new byte[TensorTypeInfo.RowBytes(TensorType.Q4_0, 64)];
        var a = new byte[TensorTypeInfo.RowBytes(TensorType.Q8_0, 32)];
        Assert.Throws<ArgumentException>(() => VecDot.Dot(TensorType.Q4_0, w, a, 64));
    }

    /// <summary>For Q4_1/Q5_1: sum over blocks of |m| * |block sum of x| * 2^-11 (fp16 relative precision of s).</summary>
    private static double BlockSumRounding(TensorType t, byte[] wq, float[] xd)
    {
        int blockBytes = TensorTypeInfo.BlockBytes(t);
        double total = 0;
        for (int b = 0; b < xd.Length / 32; b++)
        {
            float m = Half16.ToFloat((ushort)(wq[b * blockBytes + 2] | (wq[b * blockBytes + 3] << 8)));
            double blockSum = 0;
            for (int i = 0; i < 32; i++)
            {
                blockSum += xd[32 * b + i];
            }

            total += Math.Abs(m * blockSum) * Math.Pow(2, -11);
        }

        return total;
    }

    /// <summary>Sum of |w_i * x_i| from the dequantized rows: the scale float rounding errors are relative to.</summary>
    private static double MagnitudeBound(TensorType t, byte[] wq, byte[] xq, int n)
    {
        float[] wd = TestData.Dequantize(t, wq, n);
        float[] xd = TestData.Dequantize(TensorTypeInfo.VecDotType(t), xq, n);
        double s = 0;
        for (int i = 0; i < n; i++)
        {
            s += Math.Abs((double)wd[i] * xd[i]);
        }

        return s;
    }
}
