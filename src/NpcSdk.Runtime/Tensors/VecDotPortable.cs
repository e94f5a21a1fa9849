#if NET
using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NpcSdk.Tensors;

/// <summary>
/// Dot products with the cross-platform <c>Vector256</c> API, for machines where AVX2 is missing but 256-bit vectors
/// are hardware-accelerated. Same exact int32 block sums as the other kernels: int8 products are formed in 16-bit
/// lanes (|q| &lt;= 127 so a pair fits) and widened to 32 bits before scaling. K-quant super-blocks are first unpacked
/// to signed bytes plus one integer scale per 16 elements, then share one dot loop.
/// </summary>
internal static unsafe class VecDotPortable
{
    public static bool IsSupported => Vector256.IsHardwareAccelerated;

    /// <summary>Byte b to 8 bytes, byte k = 0x10 if bit k of b is set (the fifth bit of Q5 quants).</summary>
    private static readonly ulong[] Bit4Spread = BuildSpread();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            case TensorType.F32: return F32((float*)x, (float*)y, n);
            case TensorType.F16: return F16(x, y, n);
            case TensorType.BF16: return BF16(x, y, n);
            case TensorType.Q4_0: return Q4_0(x, y, n / 32);
            case TensorType.Q4_1: return Q4_1(x, y, n / 32);
            case TensorType.Q5_0: return Q5_0(x, y, n / 32);
            case TensorType.Q5_1: return Q5_1(x, y, n / 32);
            case TensorType.Q8_0: return Q8_0(x, y, n / 32);
            case TensorType.Q2_K:
            case TensorType.Q3_K:
            case TensorType.Q4_K:
            case TensorType.Q5_K:
            case TensorType.Q6_K:
                return KQuant(t, x, y, n / 256);
            default: return VecDotScalar.Dot(t, x, y, n);
        }
    }

    /// <summary>
    /// An F16 scale from <see cref="Half16.TablePointer"/>, which kernels copy into a local first: native AOT re-checks a
    /// static field's class initialisation on every read, and inside a loop that check spills the accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float H(float* table, byte* p) => table[*(ushort*)p];

    /// <summary>Signed int8 dot product of 32 lanes, as 8 int32 partial sums (element i paired with i+16 in 16-bit lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> DotI8(Vector256<sbyte> a, Vector256<sbyte> b)
    {
        (Vector256<short> aLo, Vector256<short> aHi) = Vector256.Widen(a);
        (Vector256<short> bLo, Vector256<short> bHi) = Vector256.Widen(b);
        (Vector256<int> lo, Vector256<int> hi) = Vector256.Widen(aLo * bLo + aHi * bHi);
        return lo + hi;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Nibbles(byte* p)
    {
        Vector128<byte> raw = Vector128.Load(p);
        return Vector256.Create(raw & Vector128.Create((byte)0x0F), Vector128.ShiftRightLogical(raw, 4));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> FifthBits(uint qh)
    {
        ulong[] spread = Bit4Spread;
        return Vector256.Create(spread[qh & 0xFF], spread[(qh >> 8) & 0xFF], spread[(qh >> 16) & 0xFF], spread[qh >> 24]).AsByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> HalfToSingle(Vector128<ushort> h)
    {
        (Vector128<uint> lo, Vector128<uint> hi) = Vector128.Widen(h);
        Vector256<uint> w = Vector256.Create(lo, hi);
        Vector256<uint> sign = (w & Vector256.Create(0x8000u)) << 16;
        Vector256<uint> twoW = w << 17;
        Vector256<float> normalized = ((twoW >> 4) + Vector256.Create(0x70000000u)).AsSingle() * Vector256.Create(0x07800000u).AsSingle();
        Vector256<float> denormalized = ((twoW >> 17) | Vector256.Create(0x3F000000u)).AsSingle() - Vector256.Create(0.5f);
        Vector256<float> isDenormal = Vector256.Equals(w & Vector256.Create(0x7C00u), Vector256<uint>.Zero).AsSingle();
        return Vector256.ConditionalSelect(isDenormal, denormalized, normalized) | sign.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> BFloat16ToSingle(Vector128<ushort> b)
    {
        (Vector128<uint> lo, Vector128<uint> hi) = Vector128.Widen(b);
        return (Vector256.Create(lo, hi) << 16).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F32(float* x, float* y, int n)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0;
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            acc0 += Vector256.Load(x + i) * Vector256.Load(y + i);
            acc1 += Vector256.Load(x + i + 8) * Vector256.Load(y + i + 8);
        }

        float sum = Vector256.Sum(acc0 + acc1);
        for (; i < n; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16(byte* x, byte* y, int n)
    {
        ushort* a = (ushort*)x;
        ushort* b = (ushort*)y;
        Vector256<float> acc = Vector256<float>.Zero;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            acc += HalfToSingle(Vector128.Load(a + i)) * HalfToSingle(Vector128.Load(b + i));
        }

        float sum = Vector256.Sum(acc);
        for (; i < n; i++)
        {
            sum += Half16.ToFloat(a[i]) * Half16.ToFloat(b[i]);
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float BF16(byte* x, byte* y, int n)
    {
        ushort* a = (ushort*)x;
        ushort* b = (ushort*)y;
        Vector256<float> acc = Vector256<float>.Zero;
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            acc += BFloat16ToSingle(Vector128.Load(a + i)) * BFloat16ToSingle(Vector128.Load(b + i));
        }

        float sum = Vector256.Sum(acc);
        for (; i < n; i++)
        {
            sum += BFloat16.ToFloat(a[i]) * BFloat16.ToFloat(b[i]);
        }

        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q8_0(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++, x += 34, y += 34)
        {
            Vector256<int> s = DotI8(Vector256.Load((sbyte*)(x + 2)), Vector256.Load((sbyte*)(y + 2)));
            acc += Vector256.Create(H(ht, x) * H(ht, y)) * Vector256.ConvertToSingle(s);
        }

        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_0(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++, x += 18, y += 34)
        {
            Vector256<sbyte> qx = Nibbles(x + 2).AsSByte() - Vector256.Create((sbyte)8);
            Vector256<int> s = DotI8(qx, Vector256.Load((sbyte*)(y + 2)));
            acc += Vector256.Create(H(ht, x) * H(ht, y)) * Vector256.ConvertToSingle(s);
        }

        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_1(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        float summs = 0;
        for (int b = 0; b < blocks; b++, x += 20, y += 36)
        {
            summs += H(ht, x + 2) * H(ht, y + 2);
            Vector256<int> s = DotI8(Nibbles(x + 4).AsSByte(), Vector256.Load((sbyte*)(y + 4)));
            acc += Vector256.Create(H(ht, x) * H(ht, y)) * Vector256.ConvertToSingle(s);
        }

        return Vector256.Sum(acc) + summs;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_0(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++, x += 22, y += 34)
        {
            Vector256<sbyte> qx = (Nibbles(x + 6) | FifthBits(*(uint*)(x + 2))).AsSByte() - Vector256.Create((sbyte)16);
            Vector256<int> s = DotI8(qx, Vector256.Load((sbyte*)(y + 2)));
            acc += Vector256.Create(H(ht, x) * H(ht, y)) * Vector256.ConvertToSingle(s);
        }

        return Vector256.Sum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_1(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        float summs = 0;
        for (int b = 0; b < blocks; b++, x += 24, y += 36)
        {
            summs += H(ht, x + 2) * H(ht, y + 2);
            Vector256<sbyte> qx = (Nibbles(x + 8) | FifthBits(*(uint*)(x + 4))).AsSByte();
            Vector256<int> s = DotI8(qx, Vector256.Load((sbyte*)(y + 4)));
            acc += Vector256.Create(H(ht, x) * H(ht, y)) * Vector256.ConvertToSingle(s);
        }

        return Vector256.Sum(acc) + summs;
    }

    /// <summary>
    /// K-quants: per super-block, unpack to 256 signed bytes and 16 integer scales (one per 16 elements), take the
    /// scaled int8 dot with the Q8_K quants, and subtract the min term computed from the Q8_K 16-element sums.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float KQuant(TensorType t, byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        sbyte* q = stackalloc sbyte[256];
        int* scales = stackalloc int[16];
        int blockBytes = TensorTypeInfo.BlockBytes(t);
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += blockBytes, y += 292)
        {
            short* bsums = (short*)(y + 260);
            float dy = *(float*)y;
            float d;
            float minTerm;
            switch (t)
            {
                case TensorType.Q2_K: d = H(ht, x + 80); minTerm = H(ht, x + 82) * UnpackQ2_K(x, q, scales, bsums); break;
                case TensorType.Q3_K: d = H(ht, x + 108); minTerm = 0; UnpackQ3_K(x, q, scales); break;
                case TensorType.Q4_K: d = H(ht, x); minTerm = H(ht, x + 2) * UnpackQ4_KOrQ5_K(x, q, scales, bsums, false); break;
                case TensorType.Q5_K: d = H(ht, x); minTerm = H(ht, x + 2) * UnpackQ4_KOrQ5_K(x, q, scales, bsums, true); break;
                default: d = H(ht, x + 208); minTerm = 0; UnpackQ6_K(x, q, scales); break;
            }

            Vector256<int> acc = Vector256<int>.Zero;
            sbyte* q8 = (sbyte*)(y + 4);
            for (int g = 0; g < 8; g++)
            {
                (Vector256<short> aLo, Vector256<short> aHi) = Vector256.Widen(Vector256.Load(q + 32 * g));
                (Vector256<short> bLo, Vector256<short> bHi) = Vector256.Widen(Vector256.Load(q8 + 32 * g));
                (Vector256<int> lo0, Vector256<int> lo1) = Vector256.Widen(aLo * bLo);
                (Vector256<int> hi0, Vector256<int> hi1) = Vector256.Widen(aHi * bHi);
                acc += (lo0 + lo1) * Vector256.Create(scales[2 * g]) + (hi0 + hi1) * Vector256.Create(scales[2 * g + 1]);
            }

            sum += d * dy * Vector256.Sum(acc) - dy * minTerm;
        }

        return sum;
    }

    /// <summary>Q2_K: quants 0..3, scale = low nibble; returns sum(bsums * min nibble).</summary>
    private static int UnpackQ2_K(byte* x, sbyte* q, int* scales, short* bsums)
    {
        int summs = 0;
        for (int j = 0; j < 16; j++)
        {
            scales[j] = x[j] & 0xF;
            summs += bsums[j] * (x[j] >> 4);
        }

        Vector256<byte> three = Vector256.Create((byte)3);
        for (int j = 0; j < 2; j++)
        {
            Vector256<byte> bits = Vector256.Load(x + 16 + 32 * j);
            sbyte* o = q + 128 * j;
            (bits & three).AsSByte().Store(o);
            (Vector256.ShiftRightLogical(bits, 2) & three).AsSByte().Store(o + 32);
            (Vector256.ShiftRightLogical(bits, 4) & three).AsSByte().Store(o + 64);
            Vector256.ShiftRightLogical(bits, 6).AsSByte().Store(o + 96);
        }

        return summs;
    }

    /// <summary>Q3_K: quants -4..3 (low 2 bits, minus 4 where the high-mask bit is clear), scales -32..31.</summary>
    private static void UnpackQ3_K(byte* x, sbyte* q, int* scales)
    {
        Span<sbyte> unpacked = stackalloc sbyte[16];
        KQuantScales.UnpackQ3K(new ReadOnlySpan<byte>(x + 96, 12), unpacked);
        for (int j = 0; j < 16; j++)
        {
            scales[j] = unpacked[j];
        }

        Vector256<byte> hbits = Vector256.Load(x);
        Vector256<byte> three = Vector256.Create((byte)3);
        Vector256<byte> four = Vector256.Create((byte)4);
        for (int j = 0; j < 2; j++)
        {
            Vector256<byte> bits = Vector256.Load(x + 32 + 32 * j);
            for (int k = 0; k < 4; k++)
            {
                Vector256<byte> mask = Vector256.Create((byte)(1 << (4 * j + k)));
                Vector256<byte> low = Vector256.ShiftRightLogical(bits, 2 * k) & three;
                Vector256<byte> minus = Vector256.Equals(hbits & mask, Vector256<byte>.Zero) & four;
                (low.AsSByte() - minus.AsSByte()).Store(q + 128 * j + 32 * k);
            }
        }
    }

    /// <summary>Q4_K / Q5_K: quants 0..15 or 0..31, one 6-bit scale per 32 elements; returns sum(bsums * min).</summary>
    private static int UnpackQ4_KOrQ5_K(byte* x, sbyte* q, int* scales, short* bsums, bool isQ5)
    {
        Span<byte> sc = stackalloc byte[8];
        Span<byte> mins = stackalloc byte[8];
        KQuantScales.UnpackK4(new ReadOnlySpan<byte>(x + 4, 12), sc, mins);
        int summs = 0;
        for (int j = 0; j < 8; j++)
        {
            scales[2 * j] = sc[j];
            scales[2 * j + 1] = sc[j];
            summs += (bsums[2 * j] + bsums[2 * j + 1]) * mins[j];
        }

        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        Vector256<byte> sixteen = Vector256.Create((byte)0x10);
        Vector256<byte> hbits = isQ5 ? Vector256.Load(x + 16) : Vector256<byte>.Zero;
        byte* qs = x + (isQ5 ? 48 : 16);
        for (int j = 0; j < 4; j++)
        {
            Vector256<byte> bits = Vector256.Load(qs + 32 * j);
            Vector256<byte> lo = bits & low4;
            Vector256<byte> hi = Vector256.ShiftRightLogical(bits, 4);
            if (isQ5)
            {
                Vector256<byte> m1 = Vector256.Create((byte)(1 << (2 * j)));
                Vector256<byte> m2 = Vector256.Create((byte)(2 << (2 * j)));
                lo |= Vector256.Equals(hbits & m1, m1) & sixteen;
                hi |= Vector256.Equals(hbits & m2, m2) & sixteen;
            }

            lo.AsSByte().Store(q + 64 * j);
            hi.AsSByte().Store(q + 64 * j + 32);
        }

        return summs;
    }

    /// <summary>Q6_K: quants -32..31, int8 scale per 16 elements.</summary>
    private static void UnpackQ6_K(byte* x, sbyte* q, int* scales)
    {
        for (int j = 0; j < 16; j++)
        {
            scales[j] = ((sbyte*)(x + 192))[j];
        }

        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        Vector256<byte> high2 = Vector256.Create((byte)0x30);
        Vector256<sbyte> m32 = Vector256.Create((sbyte)32);
        for (int half = 0; half < 2; half++)
        {
            Vector256<byte> bits1 = Vector256.Load(x + 64 * half);
            Vector256<byte> bits2 = Vector256.Load(x + 64 * half + 32);
            Vector256<byte> bitsH = Vector256.Load(x + 128 + 32 * half);
            sbyte* o = q + 128 * half;
            (((bits1 & low4) | (Vector256.ShiftLeft(bitsH, 4) & high2)).AsSByte() - m32).Store(o);
            (((bits2 & low4) | (Vector256.ShiftLeft(bitsH, 2) & high2)).AsSByte() - m32).Store(o + 32);
            ((Vector256.ShiftRightLogical(bits1, 4) | (bitsH & high2)).AsSByte() - m32).Store(o + 64);
            ((Vector256.ShiftRightLogical(bits2, 4) | (Vector256.ShiftRightLogical(bitsH, 2) & high2)).AsSByte() - m32).Store(o + 96);
        }
    }

    private static ulong[] BuildSpread()
    {
        var table = new ulong[256];
        for (int b = 0; b < 256; b++)
        {
            ulong v = 0;
            for (int k = 0; k < 8; k++)
            {
                if ((b & (1 << k)) != 0)
                {
                    v |= 0x10UL << (8 * k);
                }
            }

            table[b] = v;
        }

        return table;
    }
}
#endif
