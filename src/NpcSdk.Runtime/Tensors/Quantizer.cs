using System;

namespace NpcSdk.Tensors;

/// <summary>
/// Converts float rows to every supported format, byte-exact with ggml.
/// <para>
/// ggml has two entry points and so do we. <see cref="QuantizeRowReference"/> is <c>ggml_quantize_chunk</c> without an
/// importance matrix, i.e. the <c>quantize_row_*_ref</c> functions that llama-quantize uses to write model files.
/// <see cref="QuantizeRow"/> is ggml-cpu's <c>from_float</c> as built for x86 AVX2 (the build our reference logits come
/// from), used for activations before a dot product. The two agree for every type except Q8_0 and Q8_1, where the
/// AVX2 <c>quantize_row_q8_0</c> / <c>quantize_row_q8_1</c> multiply by <c>127/amax</c> and round half to even
/// (<c>_mm256_round_ps</c>), while the reference multiplies by <c>1/(amax/127)</c> and rounds half away from zero
/// (<c>roundf</c>). Q8_K activations use the reference <c>quantize_row_q8_K_ref</c> on x86 too.
/// </para>
/// </summary>
internal static partial class Quantizer
{
    /// <summary>Quantizes <paramref name="src"/> the way ggml-cpu on x86 AVX2 quantizes activations (see class docs).</summary>
    public static void QuantizeRow(TensorType t, ReadOnlySpan<float> src, Span<byte> dst)
    {
        CheckSizes(t, src.Length, dst.Length);
        switch (t)
        {
            case TensorType.Q8_0:
#if NET
                if (QuantizerAvx2.IsSupported)
                {
                    QuantizerAvx2.Q8_0(src, dst);
                    return;
                }
#endif
                Q8_0Activation(src, dst);
                return;
            case TensorType.Q8_1:
#if NET
                if (QuantizerAvx2.IsSupported)
                {
                    QuantizerAvx2.Q8_1(src, dst);
                    return;
                }
#endif
                Q8_1Activation(src, dst);
                return;
            case TensorType.Q8_K:
#if NET
                if (QuantizerAvx2.IsSupported)
                {
                    QuantizerAvx2.Q8_K(src, dst);
                    return;
                }
#endif
                Q8_K(src, dst);
                return;
#if NET
            case TensorType.F16 when QuantizerAvx2.IsSupported:
                QuantizerAvx2.F16(src, dst);
                return;
            case TensorType.BF16 when QuantizerAvx2.IsSupported:
                QuantizerAvx2.BF16(src, dst);
                return;
#endif
            default:
                QuantizeRowReference(t, src, dst);
                return;
        }
    }

    /// <summary>Quantizes <paramref name="src"/> exactly like llama-quantize without an importance matrix.</summary>
    public static void QuantizeRowReference(TensorType t, ReadOnlySpan<float> src, Span<byte> dst)
    {
        CheckSizes(t, src.Length, dst.Length);
        switch (t)
        {
            case TensorType.F32: F32(src, dst); break;
            case TensorType.F16: F16(src, dst); break;
            case TensorType.BF16: BF16(src, dst); break;
            case TensorType.Q4_0: Q4_0(src, dst); break;
            case TensorType.Q4_1: Q4_1(src, dst); break;
            case TensorType.Q5_0: Q5_0(src, dst); break;
            case TensorType.Q5_1: Q5_1(src, dst); break;
            case TensorType.Q8_0: Q8_0(src, dst); break;
            case TensorType.Q8_1: Q8_1(src, dst); break;
            case TensorType.Q2_K: Q2_K(src, dst); break;
            case TensorType.Q3_K: Q3_K(src, dst); break;
            case TensorType.Q4_K: Q4_K(src, dst); break;
            case TensorType.Q5_K: Q5_K(src, dst); break;
            case TensorType.Q6_K: Q6_K(src, dst); break;
            case TensorType.Q8_K: Q8_K(src, dst); break;
            default: throw TensorTypeInfo.Unsupported(t);
        }
    }

    /// <summary>The scalar form of <see cref="QuantizeRow"/> (same bytes), kept for testing the fast paths.</summary>
    internal static void QuantizeRowScalar(TensorType t, ReadOnlySpan<float> src, Span<byte> dst)
    {
        CheckSizes(t, src.Length, dst.Length);
        switch (t)
        {
            case TensorType.Q8_0: Q8_0Activation(src, dst); break;
            case TensorType.Q8_1: Q8_1Activation(src, dst); break;
            default: QuantizeRowReference(t, src, dst); break;
        }
    }

    private static void CheckSizes(TensorType t, int n, int dstLength)
    {
        long rowBytes = TensorTypeInfo.RowBytes(t, n);
        if (dstLength < rowBytes)
        {
            throw new ArgumentException($"A {t} row of {n} elements needs {rowBytes} bytes, the destination has {dstLength}.", "dst");
        }
    }

    internal static void WriteU16(Span<byte> s, int offset, ushort v)
    {
        s[offset] = (byte)v;
        s[offset + 1] = (byte)(v >> 8);
    }

    internal static void WriteI32(Span<byte> s, int offset, int v)
    {
        s[offset] = (byte)v;
        s[offset + 1] = (byte)(v >> 8);
        s[offset + 2] = (byte)(v >> 16);
        s[offset + 3] = (byte)(v >> 24);
    }

    private static void WriteHalf(Span<byte> s, int offset, float v) => WriteU16(s, offset, Half16.FromFloat(v));

    private static void F32(ReadOnlySpan<float> x, Span<byte> y) => System.Runtime.InteropServices.MemoryMarshal.AsBytes(x).CopyTo(y);

    internal static void F16(ReadOnlySpan<float> x, Span<byte> y)
    {
        for (int i = 0; i < x.Length; i++)
        {
            WriteU16(y, 2 * i, Half16.FromFloat(x[i]));
        }
    }

    private static void BF16(ReadOnlySpan<float> x, Span<byte> y)
    {
        for (int i = 0; i < x.Length; i++)
        {
            WriteU16(y, 2 * i, BFloat16.FromFloat(x[i]));
        }
    }

    // ---- Legacy 32-element blocks (quantize_row_q4_0_ref .. quantize_row_q8_1_ref) ----

    private static void Q4_0(ReadOnlySpan<float> src, Span<byte> dst)
    {
        for (int b = 0; b < src.Length / 32; b++)
        {
            ReadOnlySpan<float> x = src.Slice(32 * b, 32);
            Span<byte> y = dst.Slice(18 * b, 18);
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < 32; j++)
            {
                if (amax < MathF.Abs(x[j]))
                {
                    amax = MathF.Abs(x[j]);
                    max = x[j];
                }
            }

            float d = max / -8;
            float id = d != 0f ? 1.0f / d : 0.0f;
            WriteHalf(y, 0, d);
            for (int j = 0; j < 16; j++)
            {
                float x0 = x[j] * id;
                float x1 = x[16 + j] * id;
                int xi0 = Math.Min(15, (int)(x0 + 8.5f));
                int xi1 = Math.Min(15, (int)(x1 + 8.5f));
                y[2 + j] = (byte)(xi0 | (xi1 << 4));
            }
        }
    }

    private static void Q4_1(ReadOnlySpan<float> src, Span<byte> dst)
    {
        for (int b = 0; b < src.Length / 32; b++)
        {
            ReadOnlySpan<float> x = src.Slice(32 * b, 32);
            Span<byte> y = dst.Slice(20 * b, 20);
            float min = float.MaxValue;
            float max = -float.MaxValue;
            for (int j = 0; j < 32; j++)
            {
                float v = x[j];
                if (v < min)
                {
                    min = v;
                }

                if (v > max)
                {
                    max = v;
                }
            }

            float d = (max - min) / ((1 << 4) - 1);
            float id = d != 0f ? 1.0f / d : 0.0f;
            WriteHalf(y, 0, d);
            WriteHalf(y, 2, min);
            for (int j = 0; j < 16; j++)
            {
                float x0 = (x[j] - min) * id;
                float x1 = (x[16 + j] - min) * id;
                int xi0 = Math.Min(15, (int)(x0 + 0.5f));
                int xi1 = Math.Min(15, (int)(x1 + 0.5f));
                y[4 + j] = (byte)(xi0 | (xi1 << 4));
            }
        }
    }

    private static void Q5_0(ReadOnlySpan<float> src, Span<byte> dst)
    {
        for (int b = 0; b < src.Length / 32; b++)
        {
            ReadOnlySpan<float> x = src.Slice(32 * b, 32);
            Span<byte> y = dst.Slice(22 * b, 22);
            float amax = 0f;
            float max = 0f;
            for (int j = 0; j < 32; j++)
            {
                if (amax < MathF.Abs(x[j]))
                {
                    amax = MathF.Abs(x[j]);
                    max = x[j];
                }
            }

            float d = max / -16;
            float id = d != 0f ? 1.0f / d : 0.0f;
            WriteHalf(y, 0, d);
            uint qh = 0;
            for (int j = 0; j < 16; j++)
            {
                float x0 = x[j] * id;
                float x1 = x[16 + j] * id;
                int xi0 = Math.Min(31, (int)(x0 + 16.5f));
                int xi1 = Math.Min(31, (int)(x1 + 16.5f));
                y[6 + j] = (byte)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= (uint)((xi0 & 0x10) >> 4) << j;
                qh |= (uint)((xi1 & 0x10) >> 4) << (j + 16);
            }

            WriteI32(y, 2, (int)qh);
        }
    }

    private static void Q5_1(ReadOnlySpan<float> src, Span<byte> dst)
    {
        for (int b = 0; b < src.Length / 32; b++)
        {
            ReadOnlySpan<float> x = src.Slice(32 * b, 32);
            Span<byte> y = dst.Slice(24 * b, 24);
            float min = float.MaxValue;
            float max = -float.MaxValue;
            for (int j = 0; j < 32; j++)
            {
                float v = x[j];
                if (v < min)
                {
                    min = v;
                }

                if (v > max)
                {
                    max = v;
                }
            }

            float d = (max - min) / ((1 << 5) - 1);
            float id = d != 0f ? 1.0f / d : 0.0f;
            WriteHalf(y, 0, d);
            WriteHalf(y, 2, min);
            uint qh = 0;
            for (int j = 0; j < 16; j++)
            {
                float x0 = (x[j] - min) * id;
                float x1 = (x[16 + j] - min) * id;
                int xi0 = (byte)(int)(x0 + 0.5f);
                int xi1 = (byte)(int)(x1 + 0.5f);
                y[8 + j] = (byte)((xi0 & 0x0F) | ((xi1 & 0x0F) << 4));
                qh |= (uint)((xi0 & 0x10) >> 4) << j;
                qh |= (uint)((xi1 & 0x10) >> 4) << (j + 16);
            }

            WriteI32(y, 4, (int)qh);
        }
    }

    /// <summary>quantize_row_q8_0_ref: scale by 1/d, round half away from zero.</summary>
    private static void Q8_0(ReadOnlySpan<float> src, Span<byte> dst)
    {
        for (int b = 0; b < src.Length / 32; b++)
        {
            ReadOnlySpan<float> x = src.Slice(32 * b, 32);
            Span<byte> y = dst.Slice(34 * b, 34);
            float amax = AbsMax(x);
            float d = amax / ((1 << 7) - 1);
            float id = d != 0f ? 1.0f / d : 0.0f;
            WriteHalf(y, 0, d);
            for (int j = 0; j < 32; j++)
            {
                y[2 + j] = (byte)(sbyte)RoundAway(x[j] * id);
            }
        }
    }

    /// <summary>quantize_row_q8_1_ref.</summary>
    private static void Q8_1(ReadOnlySpan<float> src, Span<byte> dst)
    {
        for (int b = 0; b < src.Length / 32; b++)
        {
            ReadOnlySpan<float> x = src.Slice(32 * b, 32);
            Span<byte> y = dst.Slice(36 * b, 36);
            float amax = AbsMax(x);
            float d = amax / ((1 << 7) - 1);
            float id = d != 0f ? 1.0f / d : 0.0f;
            WriteHalf(y, 0, d);
            int sum = 0;
            for (int j = 0; j < 32; j++)
            {
                int q = (sbyte)RoundAway(x[j] * id);
                y[4 + j] = (byte)q;
                sum += q;
            }

            WriteHalf(y, 2, sum * d);
        }
    }

    /// <summary>x86 AVX2 quantize_row_q8_0: scale by 127/amax, round half to even.</summary>
    private static void Q8_0Activation(ReadOnlySpan<float> src, Span<byte> dst)
    {
        for (int b = 0; b < src.Length / 32; b++)
        {
            ReadOnlySpan<float> x = src.Slice(32 * b, 32);
            Span<byte> y = dst.Slice(34 * b, 34);
            float amax = AbsMax(x);
            float d = amax / 127f;
            float id = amax != 0f ? 127f / amax : 0f;
            WriteHalf(y, 0, d);
            for (int j = 0; j < 32; j++)
            {
                y[2 + j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.ToEven);
            }
        }
    }

    /// <summary>x86 AVX2 quantize_row_q8_1: as <see cref="Q8_0Activation"/>, plus s = d * sum(q).</summary>
    private static void Q8_1Activation(ReadOnlySpan<float> src, Span<byte> dst)
    {
        for (int b = 0; b < src.Length / 32; b++)
        {
            ReadOnlySpan<float> x = src.Slice(32 * b, 32);
            Span<byte> y = dst.Slice(36 * b, 36);
            float amax = AbsMax(x);
            float d = amax / 127f;
            float id = amax != 0f ? 127f / amax : 0f;
            WriteHalf(y, 0, d);
            int sum = 0;
            for (int j = 0; j < 32; j++)
            {
                int q = (int)MathF.Round(x[j] * id, MidpointRounding.ToEven);
                y[4 + j] = (byte)(sbyte)q;
                sum += q;
            }

            WriteHalf(y, 2, d * sum);
        }
    }

    /// <summary>quantize_row_q8_K_ref (also ggml-cpu's x86 activation quantizer for the K-quants).</summary>
    internal static void Q8_K(ReadOnlySpan<float> src, Span<byte> dst)
    {
        for (int b = 0; b < src.Length / 256; b++)
        {
            ReadOnlySpan<float> x = src.Slice(256 * b, 256);
            Span<byte> y = dst.Slice(292 * b, 292);
            float max = 0f;
            float amax = 0f;
            for (int j = 0; j < 256; j++)
            {
                float ax = MathF.Abs(x[j]);
                if (ax > amax)
                {
                    amax = ax;
                    max = x[j];
                }
            }

            if (amax == 0f)
            {
                y.Clear();
                continue;
            }

            float iscale = -127f / max;
            for (int j = 0; j < 256; j++)
            {
                int v = NearestInt(iscale * x[j]);
                y[4 + j] = (byte)(sbyte)Math.Min(127, v);
            }

            for (int j = 0; j < 16; j++)
            {
                int sum = 0;
                for (int ii = 0; ii < 16; ii++)
                {
                    sum += (sbyte)y[4 + 16 * j + ii];
                }

                WriteU16(y, 260 + 2 * j, (ushort)(short)sum);
            }

            WriteI32(y, 0, BitConverter.SingleToInt32Bits(1 / iscale));
        }
    }

    private static float AbsMax(ReadOnlySpan<float> x)
    {
        float amax = 0f;
        for (int j = 0; j < x.Length; j++)
        {
            float a = MathF.Abs(x[j]);
            amax = amax > a ? amax : a;
        }

        return amax;
    }

    /// <summary>C's roundf: nearest integer, halfway cases away from zero.</summary>
    private static float RoundAway(float v) => MathF.Round(v, MidpointRounding.AwayFromZero);

    /// <summary>
    /// ggml's <c>nearest_int</c>: adding 1.5*2^23 makes the FPU round to nearest even and leaves the integer in the low
    /// mantissa bits. Valid for |x| &lt;= 4194303, like the original (which only asserts it).
    /// </summary>
    internal static int NearestInt(float fval)
    {
        float val = fval + 12582912f;
        int i = BitConverter.SingleToInt32Bits(val);
        return (i & 0x007FFFFF) - 0x00400000;
    }
}
