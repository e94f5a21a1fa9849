using System;
using NpcSdk.Native;
using NpcSdk.Runtime.Tests.Tensors;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Native;

/// <summary>The native float helpers against the managed math they replace.</summary>
[Collection(NativeCollection.Name)]
public class NativeFloatOpsTests
{
    [NativeTheory]
    [InlineData(1024)]
    [InlineData(4864)]
    [InlineData(1029)]
    public void SwiGlu_Gives_The_Managed_Bits(int n)
    {
        float[] gate = TestData.Gaussian(n, seed: 3);
        float[] up = TestData.Gaussian(n, seed: 4);
        // Scale some lanes into ggml_v_expf's overflow and underflow branches (|n| > 126 and > 192 after the log2e step).
        for (int i = 0; i < n; i += 7) gate[i] *= 40f;
        for (int i = 3; i < n; i += 11) gate[i] *= 160f;
        gate[n - 1] = 150f; // a tail lane when n is not a multiple of 8
        float[] expected = (float[])gate.Clone();
        NpcSdk.Compute.VectorOps.SwiGlu(expected, up);
        NativeKernels.SwiGlu(gate, up);
        for (int i = 0; i < n; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(gate[i]), $"element {i}: {gate[i]:R} vs {expected[i]:R}");
    }

    [NativeTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Rope_Rotates_Like_The_Managed_Forward_Pass(bool neox)
    {
        const int heads = 3, headDim = 64, stride = 80, ropeDim = 48;
        float[] x = TestData.Gaussian(heads * stride, seed: 1);
        float[] expected = (float[])x.Clone();
        var cos = new float[ropeDim / 2];
        var sin = new float[ropeDim / 2];
        for (int i = 0; i < cos.Length; i++)
        {
            float theta = 7f * MathF.Pow(10000f, -2f * i / ropeDim);
            cos[i] = MathF.Cos(theta);
            sin[i] = MathF.Sin(theta);
        }

        for (int h = 0; h < heads; h++)
        {
            Span<float> head = expected.AsSpan(h * stride, headDim);
            int half = cos.Length;
            for (int i = 0; i < half; i++)
            {
                int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
                float x0 = head[a], x1 = head[b];
                head[a] = x0 * cos[i] - x1 * sin[i];
                head[b] = x0 * sin[i] + x1 * cos[i];
            }
        }

        NativeKernels.Rope(x, heads, headDim, stride, cos, sin, neox);
        Assert.Equal(expected, x);
    }

    [NativeTheory]
    [InlineData(TensorType.F32)]
    [InlineData(TensorType.F16)]
    public void Attention_Matches_The_Managed_Steps(TensorType kvType)
    {
        const int headDim = 64, positions = 37, kvDim = 3 * headDim;
        int elem = kvType == TensorType.F16 ? 2 : 4;
        int stride = kvDim * elem;
        var keys = new byte[positions * stride];
        var values = new byte[positions * stride];
        for (int j = 0; j < positions; j++)
        {
            Quantizer.QuantizeRow(kvType, TestData.Gaussian(kvDim, seed: 100 + j), keys.AsSpan(j * stride, kvDim * elem));
            Quantizer.QuantizeRow(kvType, TestData.Gaussian(kvDim, seed: 200 + j), values.AsSpan(j * stride, kvDim * elem));
        }

        float[] q = TestData.Gaussian(headDim, seed: 3);
        float scale = 1f / MathF.Sqrt(headDim);
        int headOffset = headDim * elem; // the second head of the cache rows

        // The managed Attention's steps for one (token, head).
        byte[] qBytes = TestData.Quantize(kvType, q);
        var scores = new float[positions];
        for (int j = 0; j < positions; j++)
        {
            scores[j] = VecDot.Dot(kvType, keys.AsSpan(j * stride + headOffset, headDim * elem), qBytes, headDim) * scale;
        }

        Compute.VectorOps.Softmax(scores);
        var expected = new float[headDim];
        var row = new float[headDim];
        for (int j = 0; j < positions; j++)
        {
            float p = kvType == TensorType.F16 ? Half16.ToFloat(Half16.FromFloat(scores[j])) : scores[j];
            Dequantizer.DequantizeRow(kvType, values.AsSpan(j * stride + headOffset, headDim * elem), row);
            Compute.VectorOps.MultiplyAdd(expected, row, p);
        }

        var actual = new float[headDim];
        NativeKernels.Attention(q, kvType, keys.AsSpan(headOffset), values.AsSpan(headOffset), stride, positions, scale, new float[positions], actual);
        for (int i = 0; i < headDim; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * (Math.Abs(expected[i]) + 0.1f), $"{kvType} element {i}: native {actual[i]} vs managed {expected[i]}");
        }
    }
}
