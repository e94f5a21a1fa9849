using System;

namespace NpcSdk.Tensors;

/// <summary>
/// Converts one row of any supported format to floats, bit-exact with ggml's <c>dequantize_row_*</c> /
/// <c>to_float</c> (same operation order, no fused multiply-add), which ggml also uses for embedding lookups.
/// </summary>
internal static class Dequantizer
{
    public static void DequantizeRow(TensorType t, ReadOnlySpan<byte> src, Span<float> dst)
    {
        int n = dst.Length;
        long rowBytes = TensorTypeInfo.RowBytes(t, n);
        if (src.Length < rowBytes)
        {
            throw new ArgumentException($"A {t} row of {n} elements needs {rowBytes} bytes, got {src.Length}.", nameof(src));
        }

        int blockBytes = TensorTypeInfo.BlockBytes(t);
        int blockSize = TensorTypeInfo.BlockSize(t);
        int blocks = n / blockSize;
        switch (t)
        {
            case TensorType.F32:
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(src).Slice(0, n).CopyTo(dst);
                return;
            case TensorType.F16:
                for (int i = 0; i < n; i++)
                {
                    dst[i] = Half16.ToFloat(ReadU16(src, 2 * i));
                }

                return;
            case TensorType.BF16:
                for (int i = 0; i < n; i++)
                {
                    dst[i] = BFloat16.ToFloat(ReadU16(src, 2 * i));
                }

                return;
            case TensorType.Q8_0:
                unsafe
                {
                    fixed (byte* x = src)
                    fixed (float* y = dst)
                    {
                        Q8_0Blocks(x, y, blocks);
                    }
                }

                return;
        }

        for (int b = 0; b < blocks; b++)
        {
            ReadOnlySpan<byte> x = src.Slice(b * blockBytes, blockBytes);
            Span<float> y = dst.Slice(b * blockSize, blockSize);
            switch (t)
            {
                case TensorType.Q4_0: Q4_0(x, y); break;
                case TensorType.Q4_1: Q4_1(x, y); break;
                case TensorType.Q5_0: Q5_0(x, y); break;
                case TensorType.Q5_1: Q5_1(x, y); break;
                case TensorType.Q8_1: Q8_1(x, y); break;
                case TensorType.Q2_K: Q2_K(x, y); break;
                case TensorType.Q3_K: Q3_K(x, y); break;
                case TensorType.Q4_K: Q4_K(x, y); break;
                case TensorType.Q5_K: Q5_K(x, y); break;
                case TensorType.Q6_K: Q6_K(x, y); break;
                case TensorType.Q8_K: Q8_K(x, y); break;
                default: throw TensorTypeInfo.Unsupported(t);
            }
        }
    }

    internal static ushort ReadU16(ReadOnlySpan<byte> s, int offset) => (ushort)(s[offset] | (s[offset + 1] << 8));

    internal static int ReadI32(ReadOnlySpan<byte> s, int offset) =>
        s[offset] | (s[offset + 1] << 8) | (s[offset + 2] << 16) | (s[offset + 3] << 24);

    internal static float ReadHalf(ReadOnlySpan<byte> s, int offset) => Half16.ToFloat(ReadU16(s, offset));

    private static void Q4_0(ReadOnlySpan<byte> x, Span<float> y)
    {
        float d = ReadHalf(x, 0);
        ReadOnlySpan<byte> qs = x.Slice(2, 16);
        for (int j = 0; j < 16; j++)
        {
            int x0 = (qs[j] & 0x0F) - 8;
            int x1 = (qs[j] >> 4) - 8;
            y[j] = x0 * d;
            y[j + 16] = x1 * d;
        }
    }

    private static void Q4_1(ReadOnlySpan<byte> x, Span<float> y)
    {
        float d = ReadHalf(x, 0);
        float m = ReadHalf(x, 2);
        ReadOnlySpan<byte> qs = x.Slice(4, 16);
        for (int j = 0; j < 16; j++)
        {
            int x0 = qs[j] & 0x0F;
            int x1 = qs[j] >> 4;
            y[j] = x0 * d + m;
            y[j + 16] = x1 * d + m;
        }
    }

    private static void Q5_0(ReadOnlySpan<byte> x, Span<float> y)
    {
        float d = ReadHalf(x, 0);
        uint qh = (uint)ReadI32(x, 2);
        ReadOnlySpan<byte> qs = x.Slice(6, 16);
        for (int j = 0; j < 16; j++)
        {
            int xh0 = (int)(((qh >> j) << 4) & 0x10);
            int xh1 = (int)((qh >> (j + 12)) & 0x10);
            int x0 = ((qs[j] & 0x0F) | xh0) - 16;
            int x1 = ((qs[j] >> 4) | xh1) - 16;
            y[j] = x0 * d;
            y[j + 16] = x1 * d;
        }
    }

    private static void Q5_1(ReadOnlySpan<byte> x, Span<float> y)
    {
        float d = ReadHalf(x, 0);
        float m = ReadHalf(x, 2);
        uint qh = (uint)ReadI32(x, 4);
        ReadOnlySpan<byte> qs = x.Slice(8, 16);
        for (int j = 0; j < 16; j++)
        {
            int xh0 = (int)(((qh >> j) << 4) & 0x10);
            int xh1 = (int)((qh >> (j + 12)) & 0x10);
            int x0 = (qs[j] & 0x0F) | xh0;
            int x1 = (qs[j] >> 4) | xh1;
            y[j] = x0 * d + m;
            y[j + 16] = x1 * d + m;
        }
    }

    /// <summary>
    /// Q8_0 blocks to floats: quant × scale, one rounding each (8 at a time with AVX2). Attention calls it directly for
    /// each cached value row of a Q8_0 cache, every decode step.
    /// </summary>
    internal static unsafe void Q8_0Blocks(byte* src, float* dst, int blocks)
    {
        for (int b = 0; b < blocks; b++, src += 34, dst += 32)
        {
            float d = Half16.ToFloat(*(ushort*)src);
#if NET
            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
            {
                var vd = System.Runtime.Intrinsics.Vector256.Create(d);
                for (int i = 0; i < 32; i += 8)
                {
                    var q = System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int32((sbyte*)src + 2 + i);
                    System.Runtime.Intrinsics.X86.Avx.Store(dst + i, System.Runtime.Intrinsics.X86.Avx.ConvertToVector256Single(q) * vd);
                }

                continue;
            }
#endif
            for (int i = 0; i < 32; i++)
            {
                dst[i] = (sbyte)src[2 + i] * d;
            }
        }
    }

    private static void Q8_1(ReadOnlySpan<byte> x, Span<float> y)
    {
        float d = ReadHalf(x, 0);
        for (int j = 0; j < 32; j++)
        {
            y[j] = (sbyte)x[4 + j] * d;
        }
    }

    private static void Q8_K(ReadOnlySpan<byte> x, Span<float> y)
    {
        float d = BitConverter.Int32BitsToSingle(ReadI32(x, 0));
        for (int j = 0; j < 256; j++)
        {
            y[j] = d * (sbyte)x[4 + j];
        }
    }

    private static void Q2_K(ReadOnlySpan<byte> x, Span<float> y)
    {
        ReadOnlySpan<byte> scales = x.Slice(0, 16);
        ReadOnlySpan<byte> q = x.Slice(16, 64);
        float d = ReadHalf(x, 80);
        float min = ReadHalf(x, 82);
        int o = 0;
        int isc = 0;
        for (int n = 0; n < 256; n += 128)
        {
            int shift = 0;
            for (int j = 0; j < 4; j++)
            {
                for (int half = 0; half < 2; half++)
                {
                    byte sc = scales[isc++];
                    float dl = d * (sc & 0xF);
                    float ml = min * (sc >> 4);
                    for (int l = 0; l < 16; l++)
                    {
                        y[o++] = dl * ((q[l + 16 * half] >> shift) & 3) - ml;
                    }
                }

                shift += 2;
            }

            q = q.Slice(32);
        }
    }

    private static void Q3_K(ReadOnlySpan<byte> x, Span<float> y)
    {
        ReadOnlySpan<byte> hm = x.Slice(0, 32);
        ReadOnlySpan<byte> q = x.Slice(32, 64);
        float dAll = ReadHalf(x, 108);
        Span<sbyte> scales = stackalloc sbyte[16];
        KQuantScales.UnpackQ3K(x.Slice(96, 12), scales);

        int o = 0;
        int isc = 0;
        int m = 1;
        for (int n = 0; n < 256; n += 128)
        {
            int shift = 0;
            for (int j = 0; j < 4; j++)
            {
                for (int half = 0; half < 2; half++)
                {
                    float dl = dAll * scales[isc++];
                    for (int l = 16 * half; l < 16 * half + 16; l++)
                    {
                        y[o++] = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) != 0 ? 0 : 4));
                    }
                }

                shift += 2;
                m <<= 1;
            }

            q = q.Slice(32);
        }
    }

    private static void Q4_K(ReadOnlySpan<byte> x, Span<float> y)
    {
        float d = ReadHalf(x, 0);
        float min = ReadHalf(x, 2);
        ReadOnlySpan<byte> scales = x.Slice(4, 12);
        ReadOnlySpan<byte> q = x.Slice(16, 128);
        int o = 0;
        int isc = 0;
        for (int j = 0; j < 256; j += 64)
        {
            KQuantScales.GetScaleMinK4(isc, scales, out byte sc, out byte m);
            float d1 = d * sc;
            float m1 = min * m;
            KQuantScales.GetScaleMinK4(isc + 1, scales, out sc, out m);
            float d2 = d * sc;
            float m2 = min * m;
            for (int l = 0; l < 32; l++)
            {
                y[o++] = d1 * (q[l] & 0xF) - m1;
            }

            for (int l = 0; l < 32; l++)
            {
                y[o++] = d2 * (q[l] >> 4) - m2;
            }

            q = q.Slice(32);
            isc += 2;
        }
    }

    private static void Q5_K(ReadOnlySpan<byte> x, Span<float> y)
    {
        float d = ReadHalf(x, 0);
        float min = ReadHalf(x, 2);
        ReadOnlySpan<byte> scales = x.Slice(4, 12);
        ReadOnlySpan<byte> qh = x.Slice(16, 32);
        ReadOnlySpan<byte> ql = x.Slice(48, 128);
        int o = 0;
        int isc = 0;
        int u1 = 1, u2 = 2;
        for (int j = 0; j < 256; j += 64)
        {
            KQuantScales.GetScaleMinK4(isc, scales, out byte sc, out byte m);
            float d1 = d * sc;
            float m1 = min * m;
            KQuantScales.GetScaleMinK4(isc + 1, scales, out sc, out m);
            float d2 = d * sc;
            float m2 = min * m;
            for (int l = 0; l < 32; l++)
            {
                y[o++] = d1 * ((ql[l] & 0xF) + ((qh[l] & u1) != 0 ? 16 : 0)) - m1;
            }

            for (int l = 0; l < 32; l++)
            {
                y[o++] = d2 * ((ql[l] >> 4) + ((qh[l] & u2) != 0 ? 16 : 0)) - m2;
            }

            ql = ql.Slice(32);
            isc += 2;
            u1 <<= 2;
            u2 <<= 2;
        }
    }

    private static void Q6_K(ReadOnlySpan<byte> x, Span<float> y)
    {
        ReadOnlySpan<byte> ql = x.Slice(0, 128);
        ReadOnlySpan<byte> qh = x.Slice(128, 64);
        ReadOnlySpan<byte> sc = x.Slice(192, 16);
        float d = ReadHalf(x, 208);
        for (int n = 0; n < 256; n += 128)
        {
            for (int l = 0; l < 32; l++)
            {
                int isc = l / 16;
                int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[n + l] = d * (sbyte)sc[isc] * q1;
                y[n + l + 32] = d * (sbyte)sc[isc + 2] * q2;
                y[n + l + 64] = d * (sbyte)sc[isc + 4] * q3;
                y[n + l + 96] = d * (sbyte)sc[isc + 6] * q4;
            }

            ql = ql.Slice(64);
            qh = qh.Slice(32);
            sc = sc.Slice(8);
        }
    }
}
