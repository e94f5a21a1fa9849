using System;
using NpcSdk.Compute;
using Xunit;
#if NET
using System.Runtime.Intrinsics;
#endif

namespace NpcSdk.Runtime.Tests.ComputeKernels; // not "...Tests.Compute": that would shadow NpcSdk.Compute for sibling test namespaces

/// <summary>
/// The float building blocks that reproduce ggml-cpu: the vector routines and their scalar twins (the netstandard2.1
/// and non-AVX2 path) must give the same bits, and the software FMA must round like the instruction.
/// </summary>
public class GgmlMathTests
{
    private static float[] Values(int n, int seed, float scale)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return v;
    }

    [Fact]
    public void Soft_Fused_Multiply_Add_Rounds_Once_Like_The_Instruction()
    {
        var rng = new Random(1);
        for (int i = 0; i < 200_000; i++)
        {
            float a = (float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, rng.Next(-40, 40)));
            float b = (float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, rng.Next(-40, 40)));
            // c near -a*b makes the cancellation cases, where a double-rounded result would go wrong.
            float c = i % 3 == 0 ? -(a * b) * (1 + (float)(rng.NextDouble() - 0.5) * 1e-6f) : (float)((rng.NextDouble() * 2 - 1) * Math.Pow(2, rng.Next(-40, 40)));
            float expected = MathF.FusedMultiplyAdd(a, b, c);
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(GgmlMath.SoftFusedMultiplyAdd(a, b, c)));
        }

        // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24 is a float midpoint; the 2^-60 added is lost in double, so the sum lands on
        // the midpoint and only the exact error says which way to round.
        float m = 1 + MathF.ScaleB(1, -12), tiny = MathF.ScaleB(1, -60);
        Assert.Equal(MathF.FusedMultiplyAdd(m, m, tiny), GgmlMath.SoftFusedMultiplyAdd(m, m, tiny));
        Assert.Equal(MathF.FusedMultiplyAdd(m, m, -tiny), GgmlMath.SoftFusedMultiplyAdd(m, m, -tiny));
        Assert.NotEqual(MathF.FusedMultiplyAdd(m, m, tiny), MathF.FusedMultiplyAdd(m, m, -tiny));
        Assert.Equal(MathF.FusedMultiplyAdd(1e-30f, 1e-15f, 1e-44f), GgmlMath.SoftFusedMultiplyAdd(1e-30f, 1e-15f, 1e-44f)); // subnormal result
        Assert.Equal(float.PositiveInfinity, GgmlMath.SoftFusedMultiplyAdd(3e38f, 2f, 0f));
        Assert.True(float.IsNaN(GgmlMath.SoftFusedMultiplyAdd(float.PositiveInfinity, 0f, 1f)));
    }

    [Fact]
    public void Exp_Is_Accurate_And_Handles_The_Extremes()
    {
        foreach (float x in Values(20_000, 2, 87f))
        {
            double exact = Math.Exp(x);
            float ulp = MathF.BitIncrement((float)exact) - (float)exact;
            Assert.True(Math.Abs(GgmlMath.Exp(x) - exact) <= 2 * ulp, $"exp({x}) = {GgmlMath.Exp(x)}, exact {exact}");
        }

        Assert.Equal(0f, GgmlMath.Exp(float.NegativeInfinity));
        Assert.Equal(0f, GgmlMath.Exp(-200f));
        Assert.Equal(1f, GgmlMath.Exp(0f));
        Assert.Equal(float.PositiveInfinity, GgmlMath.Exp(200f));
    }

    [Fact]
    public void Hsum8_Pairs_Lanes_As_Hsum_Float_8()
    {
        float[] l = { 1e8f, 1f, -1e8f, 1f, 3f, 0.5f, 7f, 1e-3f };
        float expected = ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
        Assert.Equal(expected, GgmlMath.Hsum8(l));
    }

#if NET
    [Fact]
    public void Eight_Way_Transposed_Reductions_Equal_One_At_A_Time()
    {
        if (!GgmlMath.IsAccelerated) return;
        // Wide magnitudes and mixed signs, so that any other pairing of lanes rounds differently somewhere.
        var x = Values(64 * 2000, 7, 1e4f);
        for (int i = 0; i < x.Length; i += 64)
        {
            var v = new Vector256<float>[8];
            for (int j = 0; j < 8; j++) v[j] = Vector256.Create(x, i + 8 * j) * Vector256.Create(MathF.Pow(10, j % 4 - 2));
            Vector256<float> h = GgmlMath.Hsum8(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
            Vector256<float> r = GgmlMath.ReduceLanes8(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
            for (int j = 0; j < 8; j++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(GgmlMath.Hsum(v[j])), BitConverter.SingleToInt32Bits(h.GetElement(j)));
                // Reduce(a0, a1, a2, a3) with a1..a3 zero adds exact zeros: its lane reduction of a0 alone.
                float reduce = GgmlMath.Reduce(v[j], Vector256<float>.Zero, Vector256<float>.Zero, Vector256<float>.Zero);
                Assert.Equal(BitConverter.SingleToInt32Bits(reduce), BitConverter.SingleToInt32Bits(r.GetElement(j)));
            }
        }
    }

    [Fact]
    public void Vector_Routines_Equal_Their_Scalar_Twins()
    {
        if (!GgmlMath.IsAccelerated) return;
        var x = Values(8 * 4000, 3, 30f);
        for (int i = 0; i < x.Length; i += 8)
        {
            var v = Vector256.Create(x, i);
            Vector256<float> e = GgmlMath.Exp(v), s = GgmlMath.Silu(v);
            for (int l = 0; l < 8; l++)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(GgmlMath.Exp(x[i + l])), BitConverter.SingleToInt32Bits(e.GetElement(l)));
                Assert.Equal(BitConverter.SingleToInt32Bits(GgmlMath.Silu(x[i + l])), BitConverter.SingleToInt32Bits(s.GetElement(l)));
            }

            Assert.Equal(GgmlMath.Hsum8(x.AsSpan(i, 8)), GgmlMath.Hsum(v));
        }

        // Lanes past the overflow / underflow thresholds take ggml_v_expf's special branches.
        var extreme = Vector256.Create(-150f, -100f, -87.5f, 88.5f, 100f, float.NegativeInfinity, 127.5f, -126.9f);
        var ev = GgmlMath.Exp(extreme);
        for (int l = 0; l < 8; l++) Assert.Equal(GgmlMath.Exp(extreme.GetElement(l)), ev.GetElement(l));

        var acc = Values(32 * 500, 4, 1e4f);
        for (int i = 0; i < acc.Length; i += 32)
        {
            float reduced = GgmlMath.Reduce(Vector256.Create(acc, i), Vector256.Create(acc, i + 8), Vector256.Create(acc, i + 16), Vector256.Create(acc, i + 24));
            Assert.Equal(GgmlMath.Reduce4x8(acc.AsSpan(i, 32)), reduced);
        }
    }

    [Fact]
    public void Softmax_And_SwiGlu_Equal_Their_Scalar_Compositions()
    {
        var row = Values(8 * 37 + 5, 5, 12f);
        for (int i = 8 * 30; i < row.Length; i++) row[i] = float.NegativeInfinity; // masked tail, as attention pads it
        var expected = (float[])row.Clone();
        float max = float.NegativeInfinity;
        foreach (float v in expected) max = Math.Max(max, v);
        double sum = 0;
        int k = 0;
        for (; k + 8 <= expected.Length; k += 8)
        {
            for (int l = 0; l < 8; l++) expected[k + l] = GgmlMath.Exp(expected[k + l] - max);
            sum += GgmlMath.Hsum8(expected.AsSpan(k, 8));
        }

        for (; k < expected.Length; k++)
        {
            expected[k] = MathF.Exp(expected[k] - max);
            sum += expected[k];
        }

        float scale = (float)(1.0 / sum);
        for (int i = 0; i < expected.Length; i++) expected[i] *= scale;
        VectorOps.Softmax(row);
        Assert.Equal(expected, row);
        for (int i = 8 * 30; i < row.Length; i++) Assert.Equal(0f, row[i]);

        var gate = Values(8 * 50 + 3, 6, 8f);
        var up = Values(gate.Length, 7, 2f);
        var swiglu = new float[gate.Length];
        for (int i = 0; i < gate.Length; i++) swiglu[i] = (i < gate.Length / 8 * 8 ? GgmlMath.Silu(gate[i]) : GgmlMath.SiluTail(gate[i])) * up[i];
        VectorOps.SwiGlu(gate, up);
        Assert.Equal(swiglu, gate);
    }
#endif
}
