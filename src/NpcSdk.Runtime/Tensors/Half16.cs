using System;

namespace NpcSdk.Tensors;

/// <summary>
/// IEEE 754 binary16 conversions, bit-exact with ggml: <see cref="FromFloat"/> rounds to nearest even like
/// <c>GGML_FP32_TO_FP16</c> (F16C <c>vcvtps2ph</c> with rounding mode 0); NaNs stay NaN (quieted, sign and top payload
/// bits kept, as F16C does). <see cref="ToFloat"/> is exact, read from a 64K-entry table like ggml's
/// <c>ggml_table_f32_f16</c>. netstandard2.1 has no <c>System.Half</c>, hence our own.
/// </summary>
internal static unsafe class Half16
{
    private static readonly float[] Table = BuildTable();

#if NET
    /// <summary>Address of the table (allocated pinned), for kernels that read it without bounds checks.</summary>
    internal static readonly float* TablePointer = (float*)System.Runtime.CompilerServices.Unsafe.AsPointer(ref Table[0]);
#endif

    public static float ToFloat(ushort h) => Table[h];

    /// <summary>The table itself, for kernels that convert many values.</summary>
    internal static float[] ToFloatTable => Table;

    public static ushort FromFloat(float f)
    {
        uint x = (uint)BitConverter.SingleToInt32Bits(f);
        uint sign = (x >> 16) & 0x8000u;
        uint ax = x & 0x7FFFFFFFu;

        if (ax >= 0x7F800000u)
        {
            // Infinity, or NaN: quiet it and keep the top 9 payload bits.
            return ax == 0x7F800000u ? (ushort)(sign | 0x7C00u) : (ushort)(sign | 0x7E00u | ((ax >> 13) & 0x3FFu));
        }

        if (ax >= 0x477FF000u)
        {
            // >= 65520 (halfway between 65504 and the next binade) rounds to infinity.
            return (ushort)(sign | 0x7C00u);
        }

        if (ax >= 0x38800000u)
        {
            // Normal result: rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits to nearest even.
            uint h = (ax - 0x38000000u) >> 13;
            uint rest = ax & 0x1FFFu;
            if (rest > 0x1000u || (rest == 0x1000u && (h & 1u) != 0))
            {
                h++;
            }

            return (ushort)(sign | h);
        }

        if (ax < 0x33000000u)
        {
            // Below half of the smallest subnormal (2^-25): rounds to zero.
            return (ushort)sign;
        }

        // Subnormal result: the value in units of 2^-24, rounded to nearest even. A carry into 0x400 correctly
        // produces the smallest normal.
        uint mant = (ax & 0x7FFFFFu) | 0x800000u;
        int shift = 126 - (int)(ax >> 23);
        uint q = mant >> shift;
        uint rem = mant & ((1u << shift) - 1u);
        uint half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u) != 0))
        {
            q++;
        }

        return (ushort)(sign | q);
    }

    private static float ComputeToFloat(ushort h)
    {
        uint sign = (uint)(h & 0x8000) << 16;
        uint exp = (uint)(h >> 10) & 0x1Fu;
        uint mant = h & 0x3FFu;
        uint bits;
        if (exp == 0x1F)
        {
            bits = sign | 0x7F800000u | (mant << 13);
        }
        else if (exp != 0)
        {
            bits = sign | ((exp + 112u) << 23) | (mant << 13);
        }
        else if (mant == 0)
        {
            bits = sign;
        }
        else
        {
            // Subnormal: mant * 2^-24, exact in single precision.
            float v = mant * (1.0f / 16777216.0f);
            bits = sign | (uint)BitConverter.SingleToInt32Bits(v);
        }

        return BitConverter.Int32BitsToSingle((int)bits);
    }

    private static float[] BuildTable()
    {
#if NET
        float[] table = GC.AllocateArray<float>(65536, pinned: true);
#else
        var table = new float[65536];
#endif
        for (int i = 0; i < table.Length; i++)
        {
            table[i] = ComputeToFloat((ushort)i);
        }

        return table;
    }
}
