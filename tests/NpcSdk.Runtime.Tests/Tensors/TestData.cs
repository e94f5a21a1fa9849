using System;
using NpcSdk.Tensors;

namespace NpcSdk.Runtime.Tests.Tensors;

/// <summary>Seeded random rows and small helpers shared by the tensor tests.</summary>
internal static class TestData
{
    public static readonly TensorType[] AllTypes =
    {
        TensorType.F32, TensorType.F16, TensorType.BF16, TensorType.Q4_0, TensorType.Q4_1, TensorType.Q5_0,
        TensorType.Q5_1, TensorType.Q8_0, TensorType.Q8_1, TensorType.Q2_K, TensorType.Q3_K, TensorType.Q4_K,
        TensorType.Q5_K, TensorType.Q6_K, TensorType.Q8_K,
    };

    /// <summary>Approximately N(0, sigma) values (sum of uniforms), seeded.</summary>
    public static float[] Gaussian(int n, int seed, float sigma = 1f)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int k = 0; k < 12; k++)
            {
                s += rng.NextDouble();
            }

            x[i] = (float)((s - 6.0) * sigma);
        }

        return x;
    }

    public static byte[] Quantize(TensorType t, float[] x)
    {
        var bytes = new byte[TensorTypeInfo.RowBytes(t, x.Length)];
        Quantizer.QuantizeRow(t, x, bytes);
        return bytes;
    }

    public static float[] Dequantize(TensorType t, byte[] bytes, int n)
    {
        var y = new float[n];
        Dequantizer.DequantizeRow(t, bytes, y);
        return y;
    }

    public static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += (double)a[i] * b[i];
        }

        return s;
    }

    public static double Norm(float[] a) => Math.Sqrt(Dot(a, a));

    /// <summary>A row length every format accepts (a multiple of 256).</summary>
    public static int[] Lengths => new[] { 256, 512, 768, 4096 };
}
