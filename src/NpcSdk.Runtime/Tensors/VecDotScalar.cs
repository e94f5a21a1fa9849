using System;

namespace NpcSdk.Tensors;

/// <summary>
/// Reference dot products, one per weight format, of a weight row with an activation row already converted to the
/// partner format (<see cref="TensorTypeInfo.VecDotType"/>). They follow ggml's <c>ggml_vec_dot_*_generic</c>:
/// exact int32 sums per block, then one float multiply-add with the product of the block scales. Plain C#, so they
/// also serve netstandard2.1 (Unity) where no SIMD is available. <c>x</c> is the weight row, <c>y</c> the activation.
/// </summary>
internal static unsafe class VecDotScalar
{
    public static float Dot(TensorType t, ReadOnlySpan<byte> weightRow, ReadOnlySpan<byte> activationRow, int n)
    {
        VecDot.CheckRows(t, weightRow.Length, activationRow.Length, n);
        fixed (byte* x = weightRow)
        fixed (byte* y = activationRow)
        {
            return Dot(t, x, y, n);
        }
    }

    internal static float Dot(TensorType t, byte* x, byte* y, int n)
    {
        switch (t)
        {
            case TensorType.F32: return F32(x, y, n);
            case TensorType.F16: return F16(x, y, n);
            case TensorType.BF16: return BF16(x, y, n);
            case TensorType.Q4_0: return Q4_0(x, y, n / 32);
            case TensorType.Q4_1: return Q4_1(x, y, n / 32);
            case TensorType.Q5_0: return Q5_0(x, y, n / 32);
            case TensorType.Q5_1: return Q5_1(x, y, n / 32);
            case TensorType.Q8_0: return Q8_0(x, y, n / 32);
            case TensorType.Q8_1: return Q8_1(x, y, n / 32);
            case TensorType.Q2_K: return Q2_K(x, y, n / 256);
            case TensorType.Q3_K: return Q3_K(x, y, n / 256);
            case TensorType.Q4_K: return Q4_K(x, y, n / 256);
            case TensorType.Q5_K: return Q5_K(x, y, n / 256);
            case TensorType.Q6_K: return Q6_K(x, y, n / 256);
            case TensorType.Q8_K: return Q8_K(x, y, n / 256);
            default: throw TensorTypeInfo.Unsupported(t);
        }
    }

    internal static float Half(byte* p) => Half16.ToFloat(*(ushort*)p);

    public static float F32(byte* x, byte* y, int n)
    {
        float* a = (float*)x;
        float* b = (float*)y;
        float sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    public static float F16(byte* x, byte* y, int n)
    {
        ushort* a = (ushort*)x;
        ushort* b = (ushort*)y;
        float[] table = Half16.ToFloatTable;
        float sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += table[a[i]] * table[b[i]];
        }

        return sum;
    }

    public static float BF16(byte* x, byte* y, int n)
    {
        ushort* a = (ushort*)x;
        ushort* b = (ushort*)y;
        float sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += BFloat16.ToFloat(a[i]) * BFloat16.ToFloat(b[i]);
        }

        return sum;
    }

    /// <summary>Q4_0 block: fp16 d, 16 bytes of nibbles (low nibbles = elements 0..15, high = 16..31), value (q-8)*d.</summary>
    public static float Q4_0(byte* x, byte* y, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 18, y += 34)
        {
            sbyte* qy = (sbyte*)(y + 2);
            int isum = 0;
            for (int j = 0; j < 16; j++)
            {
                isum += ((x[2 + j] & 0xF) - 8) * qy[j] + ((x[2 + j] >> 4) - 8) * qy[j + 16];
            }

            sum += Half(x) * Half(y) * isum;
        }

        return sum;
    }

    /// <summary>Q4_1 block: fp16 d, fp16 m, nibbles; value q*d+m. The m term uses the Q8_1 block sum s = d_y*sum(q_y).</summary>
    public static float Q4_1(byte* x, byte* y, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 20, y += 36)
        {
            sbyte* qy = (sbyte*)(y + 4);
            int isum = 0;
            for (int j = 0; j < 16; j++)
            {
                isum += (x[4 + j] & 0xF) * qy[j] + (x[4 + j] >> 4) * qy[j + 16];
            }

            sum += Half(x) * Half(y) * isum + Half(x + 2) * Half(y + 2);
        }

        return sum;
    }

    /// <summary>Q5_0 block: fp16 d, 32 high bits, nibbles; value (q-16)*d.</summary>
    public static float Q5_0(byte* x, byte* y, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 22, y += 34)
        {
            uint qh = *(uint*)(x + 2);
            sbyte* qy = (sbyte*)(y + 2);
            int isum = 0;
            for (int j = 0; j < 16; j++)
            {
                int x0 = ((x[6 + j] & 0xF) | (int)(((qh >> j) << 4) & 0x10)) - 16;
                int x1 = ((x[6 + j] >> 4) | (int)((qh >> (j + 12)) & 0x10)) - 16;
                isum += x0 * qy[j] + x1 * qy[j + 16];
            }

            sum += Half(x) * Half(y) * isum;
        }

        return sum;
    }

    /// <summary>Q5_1 block: fp16 d, fp16 m, 32 high bits, nibbles; value q*d+m.</summary>
    public static float Q5_1(byte* x, byte* y, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 24, y += 36)
        {
            uint qh = *(uint*)(x + 4);
            sbyte* qy = (sbyte*)(y + 4);
            int isum = 0;
            for (int j = 0; j < 16; j++)
            {
                int x0 = (x[8 + j] & 0xF) | (int)(((qh >> j) << 4) & 0x10);
                int x1 = (x[8 + j] >> 4) | (int)((qh >> (j + 12)) & 0x10);
                isum += x0 * qy[j] + x1 * qy[j + 16];
            }

            sum += Half(x) * Half(y) * isum + Half(x + 2) * Half(y + 2);
        }

        return sum;
    }

    /// <summary>Q8_0 block: fp16 d, 32 signed bytes.</summary>
    public static float Q8_0(byte* x, byte* y, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 34, y += 34)
        {
            sbyte* qx = (sbyte*)(x + 2);
            sbyte* qy = (sbyte*)(y + 2);
            int isum = 0;
            for (int j = 0; j < 32; j++)
            {
                isum += qx[j] * qy[j];
            }

            sum += Half(x) * Half(y) * isum;
        }

        return sum;
    }

    /// <summary>Q8_1 with Q8_1 (ggml has no such kernel; provided so every format has a dot product).</summary>
    public static float Q8_1(byte* x, byte* y, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 36, y += 36)
        {
            sbyte* qx = (sbyte*)(x + 4);
            sbyte* qy = (sbyte*)(y + 4);
            int isum = 0;
            for (int j = 0; j < 32; j++)
            {
                isum += qx[j] * qy[j];
            }

            sum += Half(x) * Half(y) * isum;
        }

        return sum;
    }

    /// <summary>Q8_K with Q8_K (ggml has no such kernel; provided so every format has a dot product).</summary>
    public static float Q8_K(byte* x, byte* y, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 292, y += 292)
        {
            sbyte* qx = (sbyte*)(x + 4);
            sbyte* qy = (sbyte*)(y + 4);
            int isum = 0;
            for (int j = 0; j < 256; j++)
            {
                isum += qx[j] * qy[j];
            }

            sum += *(float*)x * *(float*)y * isum;
        }

        return sum;
    }

    /// <summary>
    /// Q2_K super-block: scales[16] (low nibble scale, high nibble min), qs[64] (2 bits, 4 planes of 32 per 128
    /// elements), fp16 d, fp16 dmin. value = d*sc*q - dmin*m; the min term uses the Q8_K 16-element sums.
    /// </summary>
    public static float Q2_K(byte* x, byte* y, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 84, y += 292)
        {
            byte* sc = x;
            byte* q2 = x + 16;
            sbyte* q8 = (sbyte*)(y + 4);
            short* bsums = (short*)(y + 260);

            int summs = 0;
            for (int j = 0; j < 16; j++)
            {
                summs += bsums[j] * (sc[j] >> 4);
            }

            int isum = 0;
            int isc = 0;
            for (int k = 0; k < 2; k++, q2 += 32)
            {
                for (int shift = 0; shift < 8; shift += 2)
                {
                    for (int half = 0; half < 2; half++, q8 += 16)
                    {
                        int part = 0;
                        for (int l = 0; l < 16; l++)
                        {
                            part += q8[l] * ((q2[16 * half + l] >> shift) & 3);
                        }

                        isum += (sc[isc++] & 0xF) * part;
                    }
                }
            }

            float dy = *(float*)y;
            sum += dy * Half(x + 80) * isum - dy * Half(x + 82) * summs;
        }

        return sum;
    }

    /// <summary>
    /// Q3_K super-block: hmask[32] (high bit, cleared means -4), qs[64] (low 2 bits), 12 bytes of 6-bit scales,
    /// fp16 d. value = d*(scale-32)*q.
    /// </summary>
    public static float Q3_K(byte* x, byte* y, int blocks)
    {
        sbyte* scales = stackalloc sbyte[16];
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 110, y += 292)
        {
            byte* hm = x;
            byte* q3 = x + 32;
            sbyte* q8 = (sbyte*)(y + 4);
            KQuantScales.UnpackQ3K(new ReadOnlySpan<byte>(x + 96, 12), new Span<sbyte>(scales, 16));

            int isum = 0;
            int isc = 0;
            int m = 1;
            for (int k = 0; k < 2; k++, q3 += 32)
            {
                for (int shift = 0; shift < 8; shift += 2, m <<= 1)
                {
                    for (int half = 0; half < 2; half++, q8 += 16)
                    {
                        int part = 0;
                        for (int l = 16 * half; l < 16 * half + 16; l++)
                        {
                            int q = ((q3[l] >> shift) & 3) - ((hm[l] & m) != 0 ? 0 : 4);
                            part += q8[l - 16 * half] * q;
                        }

                        isum += scales[isc++] * part;
                    }
                }
            }

            sum += Half(x + 108) * *(float*)y * isum;
        }

        return sum;
    }

    /// <summary>
    /// Q4_K super-block: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, qs[128] (per 64 elements, 32 bytes:
    /// low nibbles first 32, high nibbles next 32). value = d*sc*q - dmin*m.
    /// </summary>
    public static float Q4_K(byte* x, byte* y, int blocks)
    {
        byte* scales = stackalloc byte[8];
        byte* mins = stackalloc byte[8];
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 144, y += 292)
        {
            KQuantScales.UnpackK4(new ReadOnlySpan<byte>(x + 4, 12), new Span<byte>(scales, 8), new Span<byte>(mins, 8));
            byte* q4 = x + 16;
            sbyte* q8 = (sbyte*)(y + 4);
            short* bsums = (short*)(y + 260);

            int summs = 0;
            for (int j = 0; j < 16; j++)
            {
                summs += bsums[j] * mins[j / 2];
            }

            int isum = 0;
            for (int j = 0; j < 4; j++, q4 += 32, q8 += 64)
            {
                int lo = 0, hi = 0;
                for (int l = 0; l < 32; l++)
                {
                    lo += (q4[l] & 0xF) * q8[l];
                    hi += (q4[l] >> 4) * q8[l + 32];
                }

                isum += scales[2 * j] * lo + scales[2 * j + 1] * hi;
            }

            float dy = *(float*)y;
            sum += Half(x) * dy * isum - Half(x + 2) * dy * summs;
        }

        return sum;
    }

    /// <summary>Q5_K super-block: as Q4_K plus qh[32] holding the fifth bit (bit 2j / 2j+1 for the j-th 64 elements).</summary>
    public static float Q5_K(byte* x, byte* y, int blocks)
    {
        byte* scales = stackalloc byte[8];
        byte* mins = stackalloc byte[8];
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 176, y += 292)
        {
            KQuantScales.UnpackK4(new ReadOnlySpan<byte>(x + 4, 12), new Span<byte>(scales, 8), new Span<byte>(mins, 8));
            byte* qh = x + 16;
            byte* q4 = x + 48;
            sbyte* q8 = (sbyte*)(y + 4);
            short* bsums = (short*)(y + 260);

            int summs = 0;
            for (int j = 0; j < 16; j++)
            {
                summs += bsums[j] * mins[j / 2];
            }

            int isum = 0;
            int m1 = 1, m2 = 2;
            for (int j = 0; j < 4; j++, q4 += 32, q8 += 64, m1 <<= 2, m2 <<= 2)
            {
                int lo = 0, hi = 0;
                for (int l = 0; l < 32; l++)
                {
                    lo += ((q4[l] & 0xF) + ((qh[l] & m1) != 0 ? 16 : 0)) * q8[l];
                    hi += ((q4[l] >> 4) + ((qh[l] & m2) != 0 ? 16 : 0)) * q8[l + 32];
                }

                isum += scales[2 * j] * lo + scales[2 * j + 1] * hi;
            }

            float dy = *(float*)y;
            sum += Half(x) * dy * isum - Half(x + 2) * dy * summs;
        }

        return sum;
    }

    /// <summary>
    /// Q6_K super-block: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16] (one per 16 elements), fp16 d.
    /// value = d*scale*(q-32).
    /// </summary>
    public static float Q6_K(byte* x, byte* y, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 210, y += 292)
        {
            byte* ql = x;
            byte* qh = x + 128;
            sbyte* sc = (sbyte*)(x + 192);
            sbyte* q8 = (sbyte*)(y + 4);

            int isum = 0;
            for (int n = 0; n < 256; n += 128, ql += 64, qh += 32, sc += 8, q8 += 128)
            {
                for (int half = 0; half < 2; half++)
                {
                    int s1 = 0, s2 = 0, s3 = 0, s4 = 0;
                    for (int l = 16 * half; l < 16 * half + 16; l++)
                    {
                        int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                        int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                        int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                        int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                        s1 += q1 * q8[l];
                        s2 += q2 * q8[l + 32];
                        s3 += q3 * q8[l + 64];
                        s4 += q4 * q8[l + 96];
                    }

                    isum += sc[half] * s1 + sc[half + 2] * s2 + sc[half + 4] * s3 + sc[half + 6] * s4;
                }
            }

            sum += Half(x + 208) * *(float*)y * isum;
        }

        return sum;
    }
}
