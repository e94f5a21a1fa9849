#if NET
using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NpcSdk.Tensors;

/// <summary>
/// Vectorized activation quantizers producing the same bytes as the scalar forms in <see cref="Quantizer"/>
/// (ggml-cpu's x86 <c>quantize_row_q8_0</c>, <c>quantize_row_q8_K_ref</c>, and fp32-to-fp16 with round to nearest even).
/// </summary>
internal static unsafe class QuantizerAvx2
{
    public static bool IsSupported => Avx2.IsSupported;

    /// <summary>ggml-cpu's AVX2 quantize_row_q8_0, instruction for instruction: d = amax/127, q = round_even(x*127/amax).</summary>
    public static void Q8_0(ReadOnlySpan<float> src, Span<byte> dst) => Q8Legacy(src, dst, withSum: false);

    /// <summary>ggml-cpu's AVX2 quantize_row_q8_1: as <see cref="Q8_0"/>, plus s = d * sum(q).</summary>
    public static void Q8_1(ReadOnlySpan<float> src, Span<byte> dst) => Q8Legacy(src, dst, withSum: true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q8Legacy(ReadOnlySpan<float> src, Span<byte> dst, bool withSum)
    {
        Vector256<int> order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        int blockBytes = withSum ? 36 : 34;
        int qOffset = withSum ? 4 : 2;
        fixed (float* xp = src)
        fixed (byte* yp = dst)
        {
            float* x = xp;
            byte* y = yp;
            for (int b = 0; b < src.Length / 32; b++, x += 32, y += blockBytes)
            {
                Vector256<float> v0 = Avx.LoadVector256(x);
                Vector256<float> v1 = Avx.LoadVector256(x + 8);
                Vector256<float> v2 = Avx.LoadVector256(x + 16);
                Vector256<float> v3 = Avx.LoadVector256(x + 24);
                Vector256<float> maxAbs = Avx.Max(Avx.Max(Vector256.Abs(v0), Vector256.Abs(v1)), Avx.Max(Vector256.Abs(v2), Vector256.Abs(v3)));
                float amax = HorizontalMax(maxAbs);

                float d = amax / 127f;
                *(ushort*)y = Half16.FromFloat(d);
                Vector256<float> id = Vector256.Create(amax != 0f ? 127f / amax : 0f);
                Vector256<int> i0 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(v0 * id));
                Vector256<int> i1 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(v1 * id));
                Vector256<int> i2 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(v2 * id));
                Vector256<int> i3 = Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(v3 * id));
                if (withSum)
                {
                    *(ushort*)(y + 2) = Half16.FromFloat(d * Vector256.Sum((i0 + i1) + (i2 + i3)));
                }

                Vector256<sbyte> packed = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(i0, i1), Avx2.PackSignedSaturate(i2, i3));
                Avx.Store(y + qOffset, Avx2.PermuteVar8x32(packed.AsInt32(), order).AsByte());
            }
        }
    }

    /// <summary>quantize_row_q8_K_ref: q = min(127, nearest_int(-127/max * x)) where max is the first element of largest magnitude.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_K(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Vector256<int> order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
        fixed (float* xp = src)
        fixed (byte* yp = dst)
        {
            float* x = xp;
            byte* y = yp;
            for (int b = 0; b < src.Length / 256; b++, x += 256, y += 292)
            {
                Vector256<float> maxAbs = Vector256<float>.Zero;
                for (int j = 0; j < 256; j += 8)
                {
                    maxAbs = Avx.Max(maxAbs, Vector256.Abs(Avx.LoadVector256(x + j)));
                }

                float amax = HorizontalMax(maxAbs);
                if (amax == 0f)
                {
                    new Span<byte>(y, 292).Clear();
                    continue;
                }

                // The scalar reference keeps the first element whose magnitude is the maximum (its sign matters).
                Vector256<float> target = Vector256.Create(amax);
                float max = 0f;
                for (int j = 0; j < 256; j += 8)
                {
                    uint hits = Vector256.Equals(Vector256.Abs(Avx.LoadVector256(x + j)), target).ExtractMostSignificantBits();
                    if (hits != 0)
                    {
                        max = x[j + System.Numerics.BitOperations.TrailingZeroCount(hits)];
                        break;
                    }
                }

                float iscale = -127f / max;
                Vector256<float> scale = Vector256.Create(iscale);
                Vector256<int> limit = Vector256.Create(127);
                sbyte* q = (sbyte*)(y + 4);
                short* bsums = (short*)(y + 260);
                for (int j = 0; j < 256; j += 32)
                {
                    // nearest_int rounds half to even, as vroundps does.
                    Vector256<int> i0 = Avx2.Min(Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.LoadVector256(x + j) * scale)), limit);
                    Vector256<int> i1 = Avx2.Min(Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.LoadVector256(x + j + 8) * scale)), limit);
                    Vector256<int> i2 = Avx2.Min(Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.LoadVector256(x + j + 16) * scale)), limit);
                    Vector256<int> i3 = Avx2.Min(Avx.ConvertToVector256Int32(Avx.RoundToNearestInteger(Avx.LoadVector256(x + j + 24) * scale)), limit);
                    bsums[j / 16] = (short)Vector256.Sum(i0 + i1);
                    bsums[j / 16 + 1] = (short)Vector256.Sum(i2 + i3);
                    Vector256<sbyte> packed = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(i0, i1), Avx2.PackSignedSaturate(i2, i3));
                    Avx.Store(q + j, Avx2.PermuteVar8x32(packed.AsInt32(), order).AsSByte());
                }

                *(float*)y = 1 / iscale;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float HorizontalMax(Vector256<float> v)
    {
        Vector128<float> max4 = Sse.Max(v.GetUpper(), v.GetLower());
        max4 = Sse.Max(max4, Sse.MoveHighToLow(max4, max4));
        return Sse.MaxScalar(max4, Sse3.MoveHighAndDuplicate(max4)).ToScalar();
    }

    /// <summary>
    /// fp32 to fp16 with round to nearest even (what F16C's vcvtps2ph does for ggml-cpu), bit-exact with
    /// <see cref="Half16.FromFloat"/> including subnormals, overflow to infinity and NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F16(ReadOnlySpan<float> src, Span<byte> dst)
    {
        fixed (float* xp = src)
        fixed (byte* yp = dst)
        {
            uint* x = (uint*)xp;
            ushort* y = (ushort*)yp;
            int i = 0;
            for (; i + 16 <= src.Length; i += 16)
            {
                Vector256.Narrow(SingleToHalfBits(Vector256.Load(x + i)), SingleToHalfBits(Vector256.Load(x + i + 8))).Store(y + i);
            }

            for (; i < src.Length; i++)
            {
                y[i] = Half16.FromFloat(xp[i]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> SingleToHalfBits(Vector256<uint> x)
    {
        Vector256<uint> sign = (x >> 16) & Vector256.Create(0x8000u);
        Vector256<uint> ax = x & Vector256.Create(0x7FFFFFFFu);

        // Normal results: rebias the exponent and round the 13 dropped bits to nearest even.
        Vector256<uint> normal = (ax + Vector256.Create(0x0FFFu) + ((ax >> 13) & Vector256<uint>.One) - Vector256.Create(0x38000000u)) >> 13;

        // Subnormal results: adding 0.5 makes the FPU round to a multiple of 2^-24, the half subnormal step.
        Vector256<uint> subnormal = (ax.AsSingle() + Vector256.Create(0.5f)).AsUInt32() - Vector256.Create(0x3F000000u);

        Vector256<uint> h = Vector256.ConditionalSelect(Vector256.LessThan(ax.AsInt32(), Vector256.Create(0x38800000)).AsUInt32(), subnormal, normal);
        h = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(ax.AsInt32(), Vector256.Create(0x477FF000)).AsUInt32(), Vector256.Create(0x7C00u), h);
        Vector256<uint> nan = Vector256.Create(0x7E00u) | ((ax >> 13) & Vector256.Create(0x3FFu));
        h = Vector256.ConditionalSelect(Vector256.GreaterThan(ax.AsInt32(), Vector256.Create(0x7F800000)).AsUInt32(), nan, h);
        return h | sign;
    }

    /// <summary>fp32 to bf16 like ggml_compute_fp32_to_bf16 (round to nearest even, NaNs forced quiet).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BF16(ReadOnlySpan<float> src, Span<byte> dst)
    {
        fixed (float* xp = src)
        fixed (byte* yp = dst)
        {
            uint* x = (uint*)xp;
            ushort* y = (ushort*)yp;
            int i = 0;
            for (; i + 16 <= src.Length; i += 16)
            {
                Vector256.Narrow(SingleToBFloat16Bits(Vector256.Load(x + i)), SingleToBFloat16Bits(Vector256.Load(x + i + 8))).Store(y + i);
            }

            for (; i < src.Length; i++)
            {
                y[i] = BFloat16.FromFloat(xp[i]);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> SingleToBFloat16Bits(Vector256<uint> u)
    {
        Vector256<uint> rounded = (u + Vector256.Create(0x7FFFu) + ((u >> 16) & Vector256<uint>.One)) >> 16;
        Vector256<uint> quietNaN = (u >> 16) | Vector256.Create(64u);
        Vector256<uint> isNaN = Vector256.GreaterThan((u & Vector256.Create(0x7FFFFFFFu)).AsInt32(), Vector256.Create(0x7F800000)).AsUInt32();
        return Vector256.ConditionalSelect(isNaN, quietNaN, rounded);
    }
}
#endif
