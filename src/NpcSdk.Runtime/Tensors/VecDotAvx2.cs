#if NET
using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NpcSdk.Compute;

namespace NpcSdk.Tensors;

/// <summary>
/// AVX2+FMA dot products, following ggml's <c>arch/x86/quants.c</c>: unpack a block's quants to bytes, int8 x int8
/// products with <c>vpmaddubsw</c> (unsigned x signed, via <c>vpsignb</c> for signed weights) and <c>vpmaddwd</c>
/// into exact int32 sums, then one FMA per block with the product of the scales. <c>x</c> is the weight row,
/// <c>y</c> the activation row in the partner format.
/// </summary>
internal static unsafe class VecDotAvx2
{
    public static bool IsSupported => Avx2.IsSupported && Fma.IsSupported;

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
            case TensorType.Q2_K: return Q2_K(x, y, n / 256);
            case TensorType.Q3_K: return Q3_K(x, y, n / 256);
            case TensorType.Q4_K: return Q4_K(x, y, n / 256);
            case TensorType.Q5_K: return Q5_K(x, y, n / 256);
            case TensorType.Q6_K: return Q6_K(x, y, n / 256);
            default: return VecDotScalar.Dot(t, x, y, n);
        }
    }

    /// <summary>
    /// An F16 scale from <see cref="Half16.TablePointer"/>, which kernels copy into a local first: native AOT re-checks a
    /// static field's class initialisation on every read, and inside a loop that check spills the accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float H(float* table, byte* p) => table[*(ushort*)p];

    /// <summary>Signed int8 x int8, summed in adjacent groups of 4 into 8 int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> MulSumI8(Vector256<sbyte> x, Vector256<sbyte> y)
    {
        Vector256<sbyte> ax = Avx2.Sign(x, x);
        Vector256<sbyte> sy = Avx2.Sign(y, x);
        return Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(ax.AsByte(), sy), Vector256.Create((short)1));
    }

    /// <summary>Unsigned int8 (at most 127) x signed int8, summed in adjacent groups of 4 into 8 int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> MulSumU8(Vector256<byte> x, Vector256<sbyte> y) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, y), Vector256.Create((short)1));

    /// <summary>8 x the sum of a block's 32 signed bytes, in every int32 lane (<paramref name="eight"/>: bytes of 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> EightTimesSum(Vector256<sbyte> y, Vector256<sbyte> eight)
    {
        Vector256<int> s = MulSumU8(eight.AsByte(), y);
        s = Avx2.HorizontalAdd(s, s);
        s = Avx2.HorizontalAdd(s, s);
        return s + Avx2.Permute2x128(s, s, 0x01);
    }

    /// <summary>16 bytes of nibbles to 32 bytes: low nibbles in the lower half, high nibbles in the upper half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> Nibbles(byte* p)
    {
        Vector128<byte> raw = Sse2.LoadVector128(p);
        return Vector256.Create(raw, Sse2.ShiftRightLogical(raw.AsUInt16(), 4).AsByte()) & Vector256.Create((byte)0x0F);
    }

    /// <summary>Spreads 32 bits to 32 bytes of 0x00 / 0xFF (ggml's bytes_from_bits_32).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> BytesFromBits(uint bits)
    {
        Vector256<byte> shuffle = Vector256.Create(0x0000000000000000UL, 0x0101010101010101UL, 0x0202020202020202UL, 0x0303030303030303UL).AsByte();
        Vector256<byte> bytes = Avx2.Shuffle(Vector256.Create(bits).AsByte(), shuffle);
        bytes |= Vector256.Create(0x7FBFDFEFF7FBFDFEUL).AsByte();
        return Avx2.CompareEqual(bytes, Vector256<byte>.AllBitsSet);
    }

    /// <summary>Broadcasts 16-bit lane <paramref name="i"/> (0..7) of each 128-bit half across that half.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> BroadcastLane(Vector256<short> v, int i) =>
        Avx2.Shuffle(v.AsByte(), Vector256.Create((ushort)((2 * i) | ((2 * i + 1) << 8))).AsByte()).AsInt16();

    /// <summary>
    /// With the same 8 shorts in both halves of <paramref name="v"/>: lane <paramref name="i"/> across the lower half
    /// and lane i+1 across the upper half (the scales of the two 16-element halves of a 32-element group).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> PairLanes(Vector256<short> v, int i) =>
        Avx2.Shuffle(v.AsByte(), Vector256.Create(
            Vector128.Create((ushort)((2 * i) | ((2 * i + 1) << 8))).AsByte(),
            Vector128.Create((ushort)((2 * i + 2) | ((2 * i + 3) << 8))).AsByte())).AsInt16();

    /// <summary>8 fp16 values to float, exact for subnormals, infinities and NaNs, without touching float denormals.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> HalfToSingle(Vector128<ushort> h)
    {
        // Sign-extending puts the sign in bit 31 directly; masks replace most shifts (shifts have fewer ports).
        Vector256<uint> w = Avx2.ConvertToVector256Int32(h.AsInt16()).AsUInt32();
        Vector256<uint> sign = w & Vector256.Create(0x80000000u);
        Vector256<uint> magnitude = Avx2.ShiftLeftLogical(w, 13) & Vector256.Create(0x0FFFE000u);
        Vector256<float> normalized = (magnitude + Vector256.Create(0x70000000u)).AsSingle() * Vector256.Create(0x07800000u).AsSingle(); // 2^-112
        Vector256<float> denormalized = ((w & Vector256.Create(0x3FFu)) | Vector256.Create(0x3F000000u)).AsSingle() - Vector256.Create(0.5f);
        Vector256<float> isDenormal = Avx2.CompareEqual(w & Vector256.Create(0x7C00u), Vector256<uint>.Zero).AsSingle();
        return Avx.BlendVariable(normalized, denormalized, isDenormal) | sign.AsSingle();
    }

    /// <summary>
    /// 8 finite fp16 values to float in 6 instructions instead of <see cref="HalfToSingle"/>'s 11: the magnitude's bits
    /// moved into a float's exponent and mantissa fields read as a float 2^112 too small (denormals included), scaled
    /// (exact; with float denormals honoured, as .NET leaves them), then the sign. Infinities and NaNs come out finite.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> HalfToSingleFinite(Vector128<ushort> h)
    {
        Vector256<uint> w = Avx2.ConvertToVector256Int32(h.AsInt16()).AsUInt32();
        Vector256<float> magnitude = (Avx2.ShiftLeftLogical(w, 13) & Vector256.Create(0x0FFFE000u)).AsSingle() * Vector256.Create(5.192296858534828e33f);
        return magnitude | (w & Vector256.Create(0x80000000u)).AsSingle();
    }

    /// <summary>How a kernel widens fp16 values: <see cref="ExactHalves"/> for any, <see cref="FiniteHalves"/> for values known finite.</summary>
    internal interface IHalfWidening
    {
        static abstract Vector256<float> Widen(Vector128<ushort> h);
    }

    /// <summary><see cref="HalfToSingle"/>: every fp16 value, infinities and NaNs included.</summary>
    internal struct ExactHalves : IHalfWidening
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Widen(Vector128<ushort> h) => HalfToSingle(h);
    }

    /// <summary><see cref="HalfToSingleFinite"/>: only for values known to hold no infinity or NaN (the same floats then).</summary>
    internal struct FiniteHalves : IHalfWidening
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Widen(Vector128<ushort> h) => HalfToSingleFinite(h);
    }

    /// <summary>Whether <paramref name="count"/> fp16 values hold no infinity or NaN (no all-ones exponent).</summary>
    public static bool AllFiniteHalves(ushort* h, long count)
    {
        Vector256<ushort> exponent = Vector256.Create((ushort)0x7C00), any = Vector256<ushort>.Zero;
        long i = 0;
        for (; i + 16 <= count; i += 16)
            any |= Avx2.CompareEqual(Avx.LoadVector256(h + i) & exponent, exponent);
        bool finite = any == Vector256<ushort>.Zero;
        for (; i < count; i++) finite &= (h[i] & 0x7C00) != 0x7C00;
        return finite;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> BFloat16ToSingle(Vector128<ushort> b) =>
        Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(b), 16).AsSingle();

    /// <summary>
    /// ggml_vec_dot_f32: four 8-lane FMA accumulators over 32-element steps, <c>GGML_F32x8_REDUCE</c>, then the
    /// leftover elements one by one as a separate multiply and add (not contracted, as the reference data shows).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F32(float* x, float* y, int n)
    {
        int np = n & ~31;
        float sum = FourAccumulatorDot(x, y, np);
        for (int i = np; i < n; i++)
        {
            sum += x[i] * y[i];
        }

        return sum;
    }

    /// <summary>The vector part of ggml_vec_dot_f32 over the first <paramref name="np"/> (a multiple of 32) elements: four 8-lane FMA accumulators, <c>GGML_F32x8_REDUCE</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float FourAccumulatorDot(float* x, float* y, int np)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int i = 0; i < np; i += 32)
        {
            acc0 = Fma.MultiplyAdd(Avx.LoadVector256(x + i), Avx.LoadVector256(y + i), acc0);
            acc1 = Fma.MultiplyAdd(Avx.LoadVector256(x + i + 8), Avx.LoadVector256(y + i + 8), acc1);
            acc2 = Fma.MultiplyAdd(Avx.LoadVector256(x + i + 16), Avx.LoadVector256(y + i + 16), acc2);
            acc3 = Fma.MultiplyAdd(Avx.LoadVector256(x + i + 24), Avx.LoadVector256(y + i + 24), acc3);
        }

        return GgmlMath.Reduce(acc0, acc1, acc2, acc3);
    }

    /// <summary>ggml_vec_dot_f16: as <see cref="F32(float*, float*, int)"/> on widened values, reduced into a double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16(byte* x, byte* y, int n)
    {
        float* ht = Half16.TablePointer;
        ushort* a = (ushort*)x;
        ushort* b = (ushort*)y;
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int np = n & ~31;
        for (int i = 0; i < np; i += 32)
        {
            acc0 = Fma.MultiplyAdd(HalfToSingle(Sse2.LoadVector128(a + i)), HalfToSingle(Sse2.LoadVector128(b + i)), acc0);
            acc1 = Fma.MultiplyAdd(HalfToSingle(Sse2.LoadVector128(a + i + 8)), HalfToSingle(Sse2.LoadVector128(b + i + 8)), acc1);
            acc2 = Fma.MultiplyAdd(HalfToSingle(Sse2.LoadVector128(a + i + 16)), HalfToSingle(Sse2.LoadVector128(b + i + 16)), acc2);
            acc3 = Fma.MultiplyAdd(HalfToSingle(Sse2.LoadVector128(a + i + 24)), HalfToSingle(Sse2.LoadVector128(b + i + 24)), acc3);
        }

        double sum = GgmlMath.Reduce(acc0, acc1, acc2, acc3);
        for (int i = np; i < n; i++)
        {
            sum += ht[a[i]] * ht[b[i]];
        }

        return (float)sum;
    }

    /// <summary><see cref="F16(byte*, byte*, int)"/> with both rows already widened to float: the same values.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16Widened(float* x, float* y, int n)
    {
        int np = n & ~31;
        double sum = FourAccumulatorDot(x, y, np);
        for (int i = np; i < n; i++)
        {
            sum += x[i] * y[i];
        }

        return (float)sum;
    }

    /// <summary><see cref="F16Widened"/> of two rows with one query, their FMA chains interleaved.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void F16WidenedPair(float* x0, float* x1, float* y, int n, out float r0, out float r1)
    {
        if ((n & 31) != 0)
        {
            r0 = F16Widened(x0, y, n);
            r1 = F16Widened(x1, y, n);
            return;
        }
        F16WidenedPairSums(x0, x1, y, n, out Vector256<float> s0, out Vector256<float> s1);
        r0 = GgmlMath.ReduceLanes(s0);
        r1 = GgmlMath.ReduceLanes(s1);
    }

    /// <summary>
    /// <see cref="F16WidenedPair"/> (n a multiple of 32) stopped before the lane reduction: each row's four
    /// accumulators added as <see cref="GgmlMath.Reduce"/> adds them, for <see cref="GgmlMath.ReduceLanes8"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void F16WidenedPairSums(float* x0, float* x1, float* y, int n, out Vector256<float> r0, out Vector256<float> r1)
    {
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int i = 0; i < n; i += 32)
        {
            Vector256<float> y0 = Avx.LoadVector256(y + i), y1 = Avx.LoadVector256(y + i + 8), y2 = Avx.LoadVector256(y + i + 16), y3 = Avx.LoadVector256(y + i + 24);
            a0 = Fma.MultiplyAdd(Avx.LoadVector256(x0 + i), y0, a0); b0 = Fma.MultiplyAdd(Avx.LoadVector256(x1 + i), y0, b0);
            a1 = Fma.MultiplyAdd(Avx.LoadVector256(x0 + i + 8), y1, a1); b1 = Fma.MultiplyAdd(Avx.LoadVector256(x1 + i + 8), y1, b1);
            a2 = Fma.MultiplyAdd(Avx.LoadVector256(x0 + i + 16), y2, a2); b2 = Fma.MultiplyAdd(Avx.LoadVector256(x1 + i + 16), y2, b2);
            a3 = Fma.MultiplyAdd(Avx.LoadVector256(x0 + i + 24), y3, a3); b3 = Fma.MultiplyAdd(Avx.LoadVector256(x1 + i + 24), y3, b3);
        }

        r0 = (a0 + a2) + (a1 + a3);
        r1 = (b0 + b2) + (b1 + b3);
    }

    /// <summary>F16 weights with an activation already widened to float (MatVec widens it once per call); same values as <see cref="F16(byte*, byte*, int)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float F16F32<TWiden>(byte* x, float* y, int n) where TWiden : struct, IHalfWidening
    {
        float* ht = Half16.TablePointer;
        ushort* a = (ushort*)x;
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int np = n & ~31;
        for (int i = 0; i < np; i += 32)
        {
            acc0 = Fma.MultiplyAdd(TWiden.Widen(Sse2.LoadVector128(a + i)), Avx.LoadVector256(y + i), acc0);
            acc1 = Fma.MultiplyAdd(TWiden.Widen(Sse2.LoadVector128(a + i + 8)), Avx.LoadVector256(y + i + 8), acc1);
            acc2 = Fma.MultiplyAdd(TWiden.Widen(Sse2.LoadVector128(a + i + 16)), Avx.LoadVector256(y + i + 16), acc2);
            acc3 = Fma.MultiplyAdd(TWiden.Widen(Sse2.LoadVector128(a + i + 24)), Avx.LoadVector256(y + i + 24), acc3);
        }

        double sum = GgmlMath.Reduce(acc0, acc1, acc2, acc3);
        for (int i = np; i < n; i++)
        {
            sum += ht[a[i]] * y[i];
        }

        return (float)sum;
    }

    /// <summary>
    /// ggml_vec_dot_bf16 (AVX2): four 8-lane accumulators of products over 32-element steps (GCC fuses its
    /// <c>add(mul(x, y), c)</c> into an FMA), (c1+c3)+(c2+c4), <c>hsum</c>, leftovers in double.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float BF16(byte* x, byte* y, int n)
    {
        ushort* a = (ushort*)x;
        ushort* b = (ushort*)y;
        Vector256<float> c1 = Vector256<float>.Zero, c2 = c1, c3 = c1, c4 = c1;
        int i = 0;
        for (; i + 32 <= n; i += 32)
        {
            c1 = Fma.MultiplyAdd(BFloat16ToSingle(Sse2.LoadVector128(a + i)), BFloat16ToSingle(Sse2.LoadVector128(b + i)), c1);
            c2 = Fma.MultiplyAdd(BFloat16ToSingle(Sse2.LoadVector128(a + i + 8)), BFloat16ToSingle(Sse2.LoadVector128(b + i + 8)), c2);
            c3 = Fma.MultiplyAdd(BFloat16ToSingle(Sse2.LoadVector128(a + i + 16)), BFloat16ToSingle(Sse2.LoadVector128(b + i + 16)), c3);
            c4 = Fma.MultiplyAdd(BFloat16ToSingle(Sse2.LoadVector128(a + i + 24)), BFloat16ToSingle(Sse2.LoadVector128(b + i + 24)), c4);
        }

        double sum = GgmlMath.Hsum((c1 + c3) + (c2 + c4));
        for (; i < n; i++)
        {
            sum += BFloat16.ToFloat(a[i]) * BFloat16.ToFloat(b[i]);
        }

        return (float)sum;
    }

    /// <summary>BF16 weights with an activation already widened to float; same values as <see cref="BF16(byte*, byte*, int)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float BF16F32(byte* x, float* y, int n)
    {
        ushort* a = (ushort*)x;
        Vector256<float> c1 = Vector256<float>.Zero, c2 = c1, c3 = c1, c4 = c1;
        int i = 0;
        for (; i + 32 <= n; i += 32)
        {
            c1 = Fma.MultiplyAdd(BFloat16ToSingle(Sse2.LoadVector128(a + i)), Avx.LoadVector256(y + i), c1);
            c2 = Fma.MultiplyAdd(BFloat16ToSingle(Sse2.LoadVector128(a + i + 8)), Avx.LoadVector256(y + i + 8), c2);
            c3 = Fma.MultiplyAdd(BFloat16ToSingle(Sse2.LoadVector128(a + i + 16)), Avx.LoadVector256(y + i + 16), c3);
            c4 = Fma.MultiplyAdd(BFloat16ToSingle(Sse2.LoadVector128(a + i + 24)), Avx.LoadVector256(y + i + 24), c4);
        }

        double sum = GgmlMath.Hsum((c1 + c3) + (c2 + c4));
        for (; i < n; i++)
        {
            sum += BFloat16.ToFloat(a[i]) * y[i];
        }

        return (float)sum;
    }

    /// <summary>Scalar <c>summs += m * s</c> of the Q4_1/Q5_1/Q5_K kernels, contracted into an FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float MulAdd(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);

    /// <summary>ggml_vec_dot_q8_0_q8_0 (AVX2): one 8-lane accumulator, one FMA per block, <c>hsum_float_8</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q8_0(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++, x += 34, y += 34)
        {
            Vector256<int> s = MulSumI8(Avx.LoadVector256((sbyte*)(x + 2)), Avx.LoadVector256((sbyte*)(y + 2)));
            acc = Fma.MultiplyAdd(Vector256.Create(H(ht, x) * H(ht, y)), Avx.ConvertToVector256Single(s), acc);
        }

        return GgmlMath.Hsum(acc);
    }

    /// <summary>
    /// <see cref="Q8_0"/> of four weight rows (<paramref name="rowBytes"/> apart) with one activation: the same
    /// arithmetic per row, but four independent FMA chains share the activation loads and hide the FMA latency.
    /// <paramref name="prefetch"/>, when given, is swept over the next rows' bytes as the four rows are read: the
    /// hardware prefetchers do not follow four interleaved streams, and from DRAM the kernel would run at a third of
    /// the one-row speed without it. <paramref name="blockStride"/>: bytes from a row's block to its next (34 in place,
    /// 136 in <see cref="Q8_0Interleaved"/>'s 4-row groups, whose rows are 34 bytes apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_0x4(byte* x, long rowBytes, byte* y, int blocks, float* output, byte* prefetch = null, int blockStride = 34)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        byte* x1 = x + rowBytes, x2 = x + 2 * rowBytes, x3 = x + 3 * rowBytes;
        for (int b = 0; b < blocks; b++, x += blockStride, x1 += blockStride, x2 += blockStride, x3 += blockStride, y += 34)
        {
            if (prefetch != null)
            {
                // Four rows' worth of bytes per row length: 136 per block.
                Sse.Prefetch0(prefetch);
                Sse.Prefetch0(prefetch + 64);
                Sse.Prefetch0(prefetch + 128);
                prefetch += 136;
            }

            Vector256<sbyte> qy = Avx.LoadVector256((sbyte*)(y + 2));
            float dy = H(ht, y);
            Vector256<int> s0 = MulSumI8(Avx.LoadVector256((sbyte*)(x + 2)), qy);
            Vector256<int> s1 = MulSumI8(Avx.LoadVector256((sbyte*)(x1 + 2)), qy);
            Vector256<int> s2 = MulSumI8(Avx.LoadVector256((sbyte*)(x2 + 2)), qy);
            Vector256<int> s3 = MulSumI8(Avx.LoadVector256((sbyte*)(x3 + 2)), qy);
            acc0 = Fma.MultiplyAdd(Vector256.Create(H(ht, x) * dy), Avx.ConvertToVector256Single(s0), acc0);
            acc1 = Fma.MultiplyAdd(Vector256.Create(H(ht, x1) * dy), Avx.ConvertToVector256Single(s1), acc1);
            acc2 = Fma.MultiplyAdd(Vector256.Create(H(ht, x2) * dy), Avx.ConvertToVector256Single(s2), acc2);
            acc3 = Fma.MultiplyAdd(Vector256.Create(H(ht, x3) * dy), Avx.ConvertToVector256Single(s3), acc3);
        }

        output[0] = GgmlMath.Hsum(acc0);
        output[1] = GgmlMath.Hsum(acc1);
        output[2] = GgmlMath.Hsum(acc2);
        output[3] = GgmlMath.Hsum(acc3);
    }

    /// <summary>
    /// <see cref="Q8_0"/> of every weight row against every activation row: <c>output[t * outputStride + r]</c> for
    /// <paramref name="rows"/> rows and <paramref name="tokens"/> activation rows (<paramref name="activationStride"/>
    /// bytes apart). Tiles of 2 rows x 4 activations share their loads and the rows' absolute values; each output keeps
    /// its own accumulator with <see cref="Q8_0"/>'s arithmetic, so the result is bit-identical.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q8_0Tiled(byte* x, long rowBytes, int rows, byte* y, long activationStride, int tokens, int blocks, float* output, int outputStride)
    {
        int t = 0;
        if (blocks <= MaxScaledBlocks)
        {
            // Eight, then four activations per weight row, their F16 scales widened once for all rows.
            t = ScaledPasses(8, x, rowBytes, rows, y, activationStride, t, tokens, blocks, output, outputStride);
            t = ScaledPasses(4, x, rowBytes, rows, y, activationStride, t, tokens, blocks, output, outputStride);
        }
        for (; t + 4 <= tokens; t += 4)
        {
            byte* y0 = y + t * activationStride;
            int r = 0;
            for (; r + 2 <= rows; r += 2)
                Q8_0x2x4(x + r * rowBytes, rowBytes, y0, activationStride, blocks, output + t * outputStride + r, outputStride);
            for (; r < rows; r++)
                for (int k = 0; k < 4; k++) output[(t + k) * outputStride + r] = Q8_0(x + r * rowBytes, y0 + k * activationStride, blocks);
        }
        // Two activations per weight row: one pass in row order, which the hardware prefetchers follow (one pass per
        // token over four interleaved row streams read a 17 MB matrix at a quarter of one token's speed).
        if (blocks <= MaxScaledBlocks) t = ScaledPasses(2, x, rowBytes, rows, y, activationStride, t, tokens, blocks, output, outputStride);
        // A token left (or up to three, with rows longer than MaxScaledBlocks blocks): the first pass over the rows
        // reads them from L3 or memory in four interleaved streams, which the hardware prefetchers do not follow, so it
        // sweeps the rows two groups ahead as the one-token kernel does.
        for (int first = t; t < tokens; t++)
        {
            byte* yt = y + t * activationStride;
            int r = 0;
            for (; r + 4 <= rows; r += 4) Q8_0x4(x + r * rowBytes, rowBytes, yt, blocks, output + t * outputStride + r, t == first ? x + (r + 8) * rowBytes : null);
            for (; r < rows; r++) output[t * outputStride + r] = Q8_0(x + r * rowBytes, yt, blocks);
        }
    }

    /// <summary>
    /// Activations from <paramref name="t"/> on, <paramref name="width"/> (8, 4 or 2) at a time while that many are left:
    /// each weight row against all of them in one pass, their scales widened once for all rows
    /// (<see cref="Q8_0x1x8"/>, <see cref="Q8_0x1x4"/>, <see cref="Q8_0x1x2"/>). Returns the first activation left.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ScaledPasses(int width, byte* x, long rowBytes, int rows, byte* y, long activationStride, int t, int tokens, int blocks, float* output, int outputStride)
    {
        if (tokens - t < width) return t;
        float* ht = Half16.TablePointer;
        float* scales = stackalloc float[width * blocks];
        for (; t + width <= tokens; t += width)
        {
            byte* y0 = y + t * activationStride;
            ActivationScales(ht, y0, activationStride, blocks, width, scales);
            for (int r = 0; r < rows; r++)
            {
                byte* row = x + r * rowBytes;
                float* o = output + t * outputStride + r;
                if (width == 8) Q8_0x1x8(row, y0, activationStride, blocks, scales, ht, o, outputStride);
                else if (width == 4) Q8_0x1x4(row, y0, activationStride, blocks, scales, ht, o, outputStride);
                else Q8_0x1x2(row, y0, activationStride, blocks, scales, ht, o, outputStride);
            }
        }
        return t;
    }

    /// <summary>scales[n·b + i] = the F16 scale of block b of activation i, widened, for <paramref name="n"/> activations <paramref name="stride"/> bytes apart.</summary>
    private static void ActivationScales(float* ht, byte* y0, long stride, int blocks, int n, float* scales)
    {
        for (int b = 0; b < blocks; b++)
            for (int i = 0; i < n; i++) scales[n * b + i] = H(ht, y0 + i * stride + 34L * b);
    }

    /// <summary>Blocks per row up to which <see cref="Q8_0Tiled"/> keeps eight activations' scales on the stack (8 KiB).</summary>
    private const int MaxScaledBlocks = 256;

    /// <summary>
    /// One Q8_0 row against eight activations (<paramref name="yStride"/> bytes apart) whose scales are in
    /// <paramref name="scales"/> (eight per block): per output ggml_vec_dot_q8_0_q8_0's arithmetic, the eight products
    /// d_x * d_y of a block taken in one multiply (the same float products).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q8_0x1x8(byte* x, byte* y0, long yStride, int blocks, float* scales, float* ht, float* output, int outputStride)
    {
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        byte* y1 = y0 + yStride, y2 = y1 + yStride, y3 = y2 + yStride, y4 = y3 + yStride, y5 = y4 + yStride, y6 = y5 + yStride, y7 = y6 + yStride;
        float* d = stackalloc float[8];
        for (int b = 0; b < blocks; b++, x += 34, y0 += 34, y1 += 34, y2 += 34, y3 += 34, y4 += 34, y5 += 34, y6 += 34, y7 += 34, scales += 8)
        {
            Vector256<sbyte> q = Avx.LoadVector256((sbyte*)(x + 2));
            Vector256<sbyte> abs = Avx2.Sign(q, q);
            Avx.Store(d, Vector256.Create(H(ht, x)) * Avx.LoadVector256(scales));
            a0 = Q8_0ScaledStep(abs, q, y0, d, a0); a1 = Q8_0ScaledStep(abs, q, y1, d + 1, a1);
            a2 = Q8_0ScaledStep(abs, q, y2, d + 2, a2); a3 = Q8_0ScaledStep(abs, q, y3, d + 3, a3);
            a4 = Q8_0ScaledStep(abs, q, y4, d + 4, a4); a5 = Q8_0ScaledStep(abs, q, y5, d + 5, a5);
            a6 = Q8_0ScaledStep(abs, q, y6, d + 6, a6); a7 = Q8_0ScaledStep(abs, q, y7, d + 7, a7);
        }

        output[0] = GgmlMath.Hsum(a0); output[outputStride] = GgmlMath.Hsum(a1);
        output[2 * outputStride] = GgmlMath.Hsum(a2); output[3 * outputStride] = GgmlMath.Hsum(a3);
        output[4 * outputStride] = GgmlMath.Hsum(a4); output[5 * outputStride] = GgmlMath.Hsum(a5);
        output[6 * outputStride] = GgmlMath.Hsum(a6); output[7 * outputStride] = GgmlMath.Hsum(a7);
    }

    /// <summary><see cref="Q8_0x1x8"/> for two activations (scales two per block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q8_0x1x2(byte* x, byte* y0, long yStride, int blocks, float* scales, float* ht, float* output, int outputStride)
    {
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0;
        byte* y1 = y0 + yStride;
        for (int b = 0; b < blocks; b++, x += 34, y0 += 34, y1 += 34, scales += 2)
        {
            Vector256<sbyte> q = Avx.LoadVector256((sbyte*)(x + 2));
            Vector256<sbyte> abs = Avx2.Sign(q, q);
            float dx = H(ht, x);
            float d0 = dx * scales[0], d1 = dx * scales[1];
            a0 = Q8_0ScaledStep(abs, q, y0, &d0, a0);
            a1 = Q8_0ScaledStep(abs, q, y1, &d1, a1);
        }

        output[0] = GgmlMath.Hsum(a0);
        output[outputStride] = GgmlMath.Hsum(a1);
    }

    /// <summary><see cref="Q8_0x1x8"/> for four activations (scales four per block).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Q8_0x1x4(byte* x, byte* y0, long yStride, int blocks, float* scales, float* ht, float* output, int outputStride)
    {
        Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        byte* y1 = y0 + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
        float* d = stackalloc float[4];
        for (int b = 0; b < blocks; b++, x += 34, y0 += 34, y1 += 34, y2 += 34, y3 += 34, scales += 4)
        {
            Vector256<sbyte> q = Avx.LoadVector256((sbyte*)(x + 2));
            Vector256<sbyte> abs = Avx2.Sign(q, q);
            Sse.Store(d, Vector128.Create(H(ht, x)) * Sse.LoadVector128(scales));
            a0 = Q8_0ScaledStep(abs, q, y0, d, a0); a1 = Q8_0ScaledStep(abs, q, y1, d + 1, a1);
            a2 = Q8_0ScaledStep(abs, q, y2, d + 2, a2); a3 = Q8_0ScaledStep(abs, q, y3, d + 3, a3);
        }

        output[0] = GgmlMath.Hsum(a0); output[outputStride] = GgmlMath.Hsum(a1);
        output[2 * outputStride] = GgmlMath.Hsum(a2); output[3 * outputStride] = GgmlMath.Hsum(a3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q8_0ScaledStep(Vector256<sbyte> absX, Vector256<sbyte> x, byte* y, float* d, Vector256<float> acc)
    {
        Vector256<int> s = MulSumU8(absX.AsByte(), Avx2.Sign(Avx.LoadVector256((sbyte*)(y + 2)), x));
        return Fma.MultiplyAdd(Vector256.Create(*d), Avx.ConvertToVector256Single(s), acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Q8_0Step(Vector256<sbyte> absX, Vector256<sbyte> x, byte* y, float dx, float* ht, Vector256<float> acc)
    {
        Vector256<int> s = MulSumU8(absX.AsByte(), Avx2.Sign(Avx.LoadVector256((sbyte*)(y + 2)), x));
        return Fma.MultiplyAdd(Vector256.Create(dx * H(ht, y)), Avx.ConvertToVector256Single(s), acc);
    }

    private static void Q8_0x2x4(byte* x0, long rowBytes, byte* y0, long yStride, int blocks, float* output, int outputStride)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> a00 = Vector256<float>.Zero, a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        byte* x1 = x0 + rowBytes;
        byte* y1 = y0 + yStride, y2 = y0 + 2 * yStride, y3 = y0 + 3 * yStride;
        for (int b = 0; b < blocks; b++, x0 += 34, x1 += 34, y0 += 34, y1 += 34, y2 += 34, y3 += 34)
        {
            Vector256<sbyte> q0 = Avx.LoadVector256((sbyte*)(x0 + 2)), q1 = Avx.LoadVector256((sbyte*)(x1 + 2));
            Vector256<sbyte> abs0 = Avx2.Sign(q0, q0), abs1 = Avx2.Sign(q1, q1);
            float d0 = H(ht, x0), d1 = H(ht, x1);
            a00 = Q8_0Step(abs0, q0, y0, d0, ht, a00); a10 = Q8_0Step(abs1, q1, y0, d1, ht, a10);
            a01 = Q8_0Step(abs0, q0, y1, d0, ht, a01); a11 = Q8_0Step(abs1, q1, y1, d1, ht, a11);
            a02 = Q8_0Step(abs0, q0, y2, d0, ht, a02); a12 = Q8_0Step(abs1, q1, y2, d1, ht, a12);
            a03 = Q8_0Step(abs0, q0, y3, d0, ht, a03); a13 = Q8_0Step(abs1, q1, y3, d1, ht, a13);
        }

        output[0] = GgmlMath.Hsum(a00); output[1] = GgmlMath.Hsum(a10);
        output[outputStride] = GgmlMath.Hsum(a01); output[outputStride + 1] = GgmlMath.Hsum(a11);
        output[2 * outputStride] = GgmlMath.Hsum(a02); output[2 * outputStride + 1] = GgmlMath.Hsum(a12);
        output[3 * outputStride] = GgmlMath.Hsum(a03); output[3 * outputStride + 1] = GgmlMath.Hsum(a13);
    }

    /// <summary>ggml_vec_dot_q4_0_q8_0 (AVX2): one 8-lane accumulator, one FMA per block, <c>hsum_float_8</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_0(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        Vector256<sbyte> eight = Vector256.Create((sbyte)8);
        for (int b = 0; b < blocks; b++, x += 18, y += 34)
        {
            Vector256<int> s = MulSumI8(Nibbles(x + 2).AsSByte() - eight, Avx.LoadVector256((sbyte*)(y + 2)));
            acc = Fma.MultiplyAdd(Vector256.Create(H(ht, x) * H(ht, y)), Avx.ConvertToVector256Single(s), acc);
        }

        return GgmlMath.Hsum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_1(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        float summs = 0;
        for (int b = 0; b < blocks; b++, x += 20, y += 36)
        {
            summs = MulAdd(H(ht, x + 2), H(ht, y + 2), summs);
            Vector256<int> s = MulSumU8(Nibbles(x + 4), Avx.LoadVector256((sbyte*)(y + 4)));
            acc = Fma.MultiplyAdd(Vector256.Create(H(ht, x) * H(ht, y)), Avx.ConvertToVector256Single(s), acc);
        }

        return GgmlMath.Hsum(acc) + summs;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_0(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++, x += 22, y += 34) acc = Q5_0Step(x, y, ht, acc);
        return GgmlMath.Hsum(acc);
    }

    /// <summary>One Q5_0 block of <see cref="Q5_0"/>: <paramref name="acc"/> + d_x * d_y * (its int32 lanes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Q5_0Step(byte* x, byte* y, float* ht, Vector256<float> acc)
    {
        // A cleared fifth bit means value - 16: OR in 0xF0 (= -16 on top of the nibble) where the bit is 0.
        Vector256<byte> high = Avx2.AndNot(BytesFromBits(*(uint*)(x + 2)), Vector256.Create((byte)0xF0));
        Vector256<sbyte> qx = (Nibbles(x + 6) | high).AsSByte();
        Vector256<int> s = MulSumI8(qx, Avx.LoadVector256((sbyte*)(y + 2)));
        return Fma.MultiplyAdd(Vector256.Create(H(ht, x) * H(ht, y)), Avx.ConvertToVector256Single(s), acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_1(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        Vector256<byte> bit4 = Vector256.Create((byte)0x10);
        float summs = 0;
        for (int b = 0; b < blocks; b++, x += 24, y += 36)
        {
            summs = MulAdd(H(ht, x + 2), H(ht, y + 2), summs);
            Vector256<byte> qx = Nibbles(x + 8) | (BytesFromBits(*(uint*)(x + 4)) & bit4);
            Vector256<int> s = MulSumU8(qx, Avx.LoadVector256((sbyte*)(y + 4)));
            acc = Fma.MultiplyAdd(Vector256.Create(H(ht, x) * H(ht, y)), Avx.ConvertToVector256Single(s), acc);
        }

        return GgmlMath.Hsum(acc) + summs;
    }

    /// <summary>
    /// Unpacks the 12 bytes of Q4_K/Q5_K 6-bit scales and mins into 8 scales (bytes 0..7) and 8 mins (bytes 8..15),
    /// the same bit shuffling as ggml's utmp/kmask code.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<byte> UnpackScalesK4(byte* q)
    {
        const uint kmask1 = 0x3F3F3F3F, kmask2 = 0x0F0F0F0F, kmask3 = 0x03030303;
        uint u0 = *(uint*)q, u1 = *(uint*)(q + 4), u2 = *(uint*)(q + 8);
        uint s0 = u0 & kmask1;
        uint s1 = (u2 & kmask2) | (((u0 >> 6) & kmask3) << 4);
        uint m0 = u1 & kmask1;
        uint m1 = ((u2 >> 4) & kmask2) | (((u1 >> 6) & kmask3) << 4);
        return Vector128.Create(s0, s1, m0, m1).AsByte();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int HsumInt(Vector256<int> v)
    {
        Vector128<int> s = v.GetLower() + v.GetUpper();
        return (s.ToScalar() + s.GetElement(1)) + (s.GetElement(2) + s.GetElement(3));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int HsumInt(Vector128<int> s) => (s.ToScalar() + s.GetElement(1)) + (s.GetElement(2) + s.GetElement(3));

    // ---- K-quant super-blocks: exact int32 lanes (ggml's lane layout), shared by every float flavour below ----

    /// <summary>Q4_K super-block: lanes of sum(scale * q * y); <paramref name="mins"/> = mins x 32-element activation sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q4KBlock(byte* x, byte* y, out Vector128<int> mins)
    {
        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        Vector256<short> scalesAndMins = Avx2.ConvertToVector256Int16(UnpackScalesK4(x + 4));
        mins = KMinSums(y, scalesAndMins);

        Vector256<short> scales = Vector256.Create(scalesAndMins.GetLower(), scalesAndMins.GetLower());
        byte* q4 = x + 16;
        sbyte* q8 = (sbyte*)(y + 4);
        // Unrolled so that the scales' shuffles are constants.
        return Q4KGroup(Avx.LoadVector256(q4), scales, 0, Avx.LoadVector256(q8), Avx.LoadVector256(q8 + 32), low4)
            + Q4KGroup(Avx.LoadVector256(q4 + 32), scales, 1, Avx.LoadVector256(q8 + 64), Avx.LoadVector256(q8 + 96), low4)
            + Q4KGroup(Avx.LoadVector256(q4 + 64), scales, 2, Avx.LoadVector256(q8 + 128), Avx.LoadVector256(q8 + 160), low4)
            + Q4KGroup(Avx.LoadVector256(q4 + 96), scales, 3, Avx.LoadVector256(q8 + 192), Avx.LoadVector256(q8 + 224), low4);
    }

    /// <summary>Q5_K super-block, as <see cref="Q4KBlock"/> with the fifth bit from qh.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q5KBlock(byte* x, byte* y, out Vector128<int> mins)
    {
        Vector256<short> scalesAndMins = Avx2.ConvertToVector256Int16(UnpackScalesK4(x + 4));
        mins = KMinSums(y, scalesAndMins);
        Vector256<short> scales = Vector256.Create(scalesAndMins.GetLower(), scalesAndMins.GetLower());
        Vector256<ushort> hbits = Avx.LoadVector256((ushort*)(x + 16));
        sbyte* q8 = (sbyte*)(y + 4);
        Vector256<byte> low4 = Vector256.Create((byte)0x0F), bit4 = Vector256.Create((byte)0x10);
        // Unrolled so that each fifth bit moves to bit 4 with one constant shift of the plane.
        return Q5KGroup(x + 48, q8, scales, hbits, 0, low4, bit4) + Q5KGroup(x + 80, q8 + 64, scales, hbits, 1, low4, bit4)
            + Q5KGroup(x + 112, q8 + 128, scales, hbits, 2, low4, bit4) + Q5KGroup(x + 144, q8 + 192, scales, hbits, 3, low4, bit4);
    }

    /// <summary>64 Q5_K elements (group <paramref name="j"/>) against the 64 activations at <paramref name="q8"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q5KGroup(byte* q4, sbyte* q8, Vector256<short> scales, Vector256<ushort> hbits, int j, Vector256<byte> low4, Vector256<byte> bit4)
    {
        Q5KUnpack(q4, hbits, j, low4, bit4, out Vector256<byte> lo, out Vector256<byte> hi);
        return Q5KDot(lo, hi, BroadcastLane(scales, 2 * j), BroadcastLane(scales, 2 * j + 1), q8);
    }

    /// <summary>64 Q5_K quants: 32 bytes of nibbles, and bits 2j (low nibbles) and 2j + 1 (high) of the fifth-bit plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q5KUnpack(byte* q4, Vector256<ushort> hbits, int j, Vector256<byte> low4, Vector256<byte> bit4, out Vector256<byte> lo, out Vector256<byte> hi)
    {
        Vector256<byte> bits = Avx.LoadVector256(q4);
        lo = (bits & low4) | (PlaneBit(hbits, 2 * j) & bit4);
        hi = (Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & low4) | (PlaneBit(hbits, 2 * j + 1) & bit4);
    }

    /// <summary>Unpacked Q5_K quants times 64 activations, each half weighted by its scale (<paramref name="sl"/>, <paramref name="sh"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q5KDot(Vector256<byte> lo, Vector256<byte> hi, Vector256<short> sl, Vector256<short> sh, sbyte* q8) =>
        Avx2.MultiplyAddAdjacent(sl, Avx2.MultiplyAddAdjacent(lo, Avx.LoadVector256(q8)))
        + Avx2.MultiplyAddAdjacent(sh, Avx2.MultiplyAddAdjacent(hi, Avx.LoadVector256(q8 + 32)));

    /// <summary>
    /// A bit plane's bit <paramref name="k"/> of every byte moved to bit 4 (see <see cref="MoveBit"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> PlaneBit(Vector256<ushort> plane, int k) => MoveBit(plane, k, 4);

    /// <summary>
    /// Bit <paramref name="from"/> of every byte of a bit plane moved to bit <paramref name="to"/> by one shift of the
    /// 16-bit lanes (both constants after inlining). Only bit <paramref name="to"/> of each byte is meant (the caller
    /// masks it), and it comes from the same byte: a left shift by s brings bit to - s = from, a right one bit to + s = from.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<byte> MoveBit(Vector256<ushort> plane, int from, int to) => (to - from) switch
    {
        0 => plane.AsByte(),
        1 => Avx2.ShiftLeftLogical(plane, 1).AsByte(),
        2 => Avx2.ShiftLeftLogical(plane, 2).AsByte(),
        3 => Avx2.ShiftLeftLogical(plane, 3).AsByte(),
        4 => Avx2.ShiftLeftLogical(plane, 4).AsByte(),
        5 => Avx2.ShiftLeftLogical(plane, 5).AsByte(),
        6 => Avx2.ShiftLeftLogical(plane, 6).AsByte(),
        7 => Avx2.ShiftLeftLogical(plane, 7).AsByte(),
        -1 => Avx2.ShiftRightLogical(plane, 1).AsByte(),
        -2 => Avx2.ShiftRightLogical(plane, 2).AsByte(),
        -3 => Avx2.ShiftRightLogical(plane, 3).AsByte(),
        -4 => Avx2.ShiftRightLogical(plane, 4).AsByte(),
        -5 => Avx2.ShiftRightLogical(plane, 5).AsByte(),
        -6 => Avx2.ShiftRightLogical(plane, 6).AsByte(),
        _ => Avx2.ShiftRightLogical(plane, 7).AsByte(),
    };

    /// <summary>
    /// Q6_K super-block: lanes of sum(scale * q * y) over the unsigned 6-bit quants, minus 32 * sum(scale * bsum16)
    /// per lane (lane l takes the correction of the 16-element groups 2l and 2l+1, as ggml's <c>q8sclsub</c> does;
    /// the total is the same as subtracting 32 per element but the lanes, hence the float result, differ).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q6KBlock(byte* x, byte* y)
    {
        Vector256<short> scales = Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)(x + 192)));
        Vector256<short> lowScales = Vector256.Create(scales.GetLower(), scales.GetLower());
        Vector256<short> highScales = Vector256.Create(scales.GetUpper(), scales.GetUpper());
        Vector256<int> sumi = Q6Half(x, x + 128, (sbyte*)(y + 4), lowScales) + Q6Half(x + 64, x + 160, (sbyte*)(y + 132), highScales);
        return sumi - Q6KBsums(y, scales);
    }

    /// <summary>128 Q6_K elements: 64 bytes of low nibbles, 32 bytes of high bit pairs, 8 scales.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q6Half(byte* ql, byte* qh, sbyte* q8, Vector256<short> scales)
    {
        Q6Unpack(ql, qh, out Vector256<byte> q0, out Vector256<byte> q1, out Vector256<byte> q2, out Vector256<byte> q3);
        return Q6Dot4(q0, q1, q2, q3, PairLanes(scales, 0), PairLanes(scales, 2), PairLanes(scales, 4), PairLanes(scales, 6), q8);
    }

    /// <summary>128 Q6_K quants (0..63) from 64 bytes of low nibbles and 32 bytes of high bit pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q6Unpack(byte* ql, byte* qh, out Vector256<byte> q0, out Vector256<byte> q1, out Vector256<byte> q2, out Vector256<byte> q3)
    {
        Vector256<byte> low4 = Vector256.Create((byte)0x0F), high2 = Vector256.Create((byte)0x30);
        Vector256<byte> bits1 = Avx.LoadVector256(ql), bits2 = Avx.LoadVector256(ql + 32);
        Vector256<ushort> bitsH = Avx.LoadVector256(qh).AsUInt16();
        q0 = (bits1 & low4) | (Avx2.ShiftLeftLogical(bitsH, 4).AsByte() & high2);
        q1 = (bits2 & low4) | (Avx2.ShiftLeftLogical(bitsH, 2).AsByte() & high2);
        q2 = (Avx2.ShiftRightLogical(bits1.AsUInt16(), 4).AsByte() & low4) | (bitsH.AsByte() & high2);
        q3 = (Avx2.ShiftRightLogical(bits2.AsUInt16(), 4).AsByte() & low4) | (Avx2.ShiftRightLogical(bitsH, 2).AsByte() & high2);
    }

    /// <summary>Q2_K super-block: lanes of sum(scale * q * y); <paramref name="mins"/> = mins x 16-element activation sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q2KBlock(byte* x, byte* y, out Vector256<int> mins)
    {
        Vector128<byte> low4 = Vector128.Create((byte)0x0F);
        Vector256<byte> low2 = Vector256.Create((byte)3);
        Vector128<byte> packed = Sse2.LoadVector128(x);
        Vector256<short> minValues = Avx2.ConvertToVector256Int16(Sse2.ShiftRightLogical(packed.AsUInt16(), 4).AsByte() & low4);
        mins = Avx2.MultiplyAddAdjacent(minValues, Avx.LoadVector256((short*)(y + 260)));

        Vector256<short> allScales = Avx2.ConvertToVector256Int16(packed & low4);
        Vector256<int> sumi = Vector256<int>.Zero;
        for (int j = 0; j < 2; j++)
        {
            Vector128<short> half = j == 0 ? allScales.GetLower() : allScales.GetUpper();
            Vector256<short> scales = Vector256.Create(half, half);
            Vector256<byte> bits = Avx.LoadVector256(x + 16 + 32 * j);
            sbyte* q8 = (sbyte*)(y + 4 + 128 * j);
            sumi += Q2Group(bits & low2, q8, scales, 0);
            sumi += Q2Group(Avx2.ShiftRightLogical(bits.AsUInt16(), 2).AsByte() & low2, q8 + 32, scales, 2);
            sumi += Q2Group(Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & low2, q8 + 64, scales, 4);
            sumi += Q2Group(Avx2.ShiftRightLogical(bits.AsUInt16(), 6).AsByte() & low2, q8 + 96, scales, 6);
        }

        return sumi;
    }

    /// <summary>32 Q2_K quants (0..3) times 32 activations, weighted by scales i (first 16) and i+1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q2Group(Vector256<byte> q2, sbyte* q8, Vector256<short> scales, int i) =>
        Avx2.MultiplyAddAdjacent(PairLanes(scales, i), Avx2.MultiplyAddAdjacent(q2, Avx.LoadVector256(q8)));

    /// <summary>Q3_K super-block: lanes of sum((scale - 32) * (q - 4) * y).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q3KBlock(byte* x, byte* y)
    {
        Vector256<byte> low2 = Vector256.Create((byte)3);
        Vector256<short> allScales = Avx2.ConvertToVector256Int16(UnpackScalesQ3K(x + 96));
        Vector256<ushort> hbits = Avx.LoadVector256((ushort*)x);
        // Unrolled so that the halves, shuffles and high-bit shifts are constants.
        return Q3Half(x, y, allScales, hbits, 0, low2) + Q3Half(x, y, allScales, hbits, 1, low2);
    }

    /// <summary>Half <paramref name="j"/> (128 elements) of a Q3_K super-block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q3Half(byte* x, byte* y, Vector256<short> allScales, Vector256<ushort> hbits, int j, Vector256<byte> low2)
    {
        Vector128<short> half = j == 0 ? allScales.GetLower() : allScales.GetUpper();
        Vector256<short> scales = Vector256.Create(half, half);
        Vector256<byte> bits = Avx.LoadVector256(x + 32 + 32 * j);
        sbyte* q8 = (sbyte*)(y + 4 + 128 * j);
        int bit = 4 * j;
        return Q3Group(bits & low2, hbits, bit, q8, scales, 0)
            + Q3Group(Avx2.ShiftRightLogical(bits.AsUInt16(), 2).AsByte() & low2, hbits, bit + 1, q8 + 32, scales, 2)
            + Q3Group(Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & low2, hbits, bit + 2, q8 + 64, scales, 4)
            + Q3Group(Avx2.ShiftRightLogical(bits.AsUInt16(), 6).AsByte() & low2, hbits, bit + 3, q8 + 96, scales, 6);
    }

    /// <summary>32 Q3_K quants (low bits 0..3, minus 4 where high-mask bit <paramref name="bit"/> is clear) times 32 activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q3Group(Vector256<byte> q3, Vector256<ushort> hbits, int bit, sbyte* q8, Vector256<short> scales, int i)
    {
        // 4 where the plane's bit is clear: the bit moved to bit 2 of its byte, inverted, masked.
        Vector256<byte> minus4 = Avx2.AndNot(MoveBit(hbits, bit, 2), Vector256.Create((byte)4));
        Vector256<sbyte> a = Avx.LoadVector256(q8);
        Vector256<short> p = Avx2.MultiplyAddAdjacent(q3, a) - Avx2.MultiplyAddAdjacent(minus4, a);
        return Avx2.MultiplyAddAdjacent(PairLanes(scales, i), p);
    }

    /// <summary>The 16 6-bit Q3_K scales, minus 32, as signed bytes (ggml's kmask shuffling of 3 uints).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector128<sbyte> UnpackScalesQ3K(byte* q)
    {
        const uint kmask1 = 0x03030303, kmask2 = 0x0F0F0F0F;
        uint a0 = *(uint*)q, a1 = *(uint*)(q + 4), tmp = *(uint*)(q + 8);
        uint s0 = (a0 & kmask2) | ((tmp & kmask1) << 4);
        uint s1 = (a1 & kmask2) | (((tmp >> 2) & kmask1) << 4);
        uint s2 = ((a0 >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        uint s3 = ((a1 >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        return Vector128.Create(s0, s1, s2, s3).AsSByte() - Vector128.Create((sbyte)32);
    }

    // ---- ggml_vec_dot_*_q8_K (AVX2): one FMA per super-block into 8 lanes, hsum_float_8 ----

    /// <summary>ggml_vec_dot_q4_K_q8_K: the mins go into a 4-lane accumulator reduced as (m0+m2)+(m1+m3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q4_K(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        Vector128<float> accMin = Vector128<float>.Zero;
        for (int b = 0; b < blocks; b++, x += 144, y += 292)
        {
            float dy = *(float*)y;
            Vector256<int> sumi = Q4KBlock(x, y, out Vector128<int> mins);
            accMin = Fma.MultiplyAdd(Vector128.Create(-dy * H(ht, x + 2)), Sse2.ConvertToVector128Single(mins), accMin);
            acc = Fma.MultiplyAdd(Vector256.Create(dy * H(ht, x)), Avx.ConvertToVector256Single(sumi), acc);
        }

        return GgmlMath.Hsum(acc) + ((accMin.ToScalar() + accMin.GetElement(2)) + (accMin.GetElement(1) + accMin.GetElement(3)));
    }

    /// <summary>ggml_vec_dot_q5_K_q8_K: the mins' integer total times dmin goes into a scalar.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q5_K(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        float summs = 0f;
        for (int b = 0; b < blocks; b++, x += 176, y += 292)
        {
            float dy = *(float*)y;
            Vector256<int> sumi = Q5KBlock(x, y, out Vector128<int> mins);
            summs = MulAdd(-dy * H(ht, x + 2), HsumInt(mins), summs);
            acc = Fma.MultiplyAdd(Vector256.Create(dy * H(ht, x)), Avx.ConvertToVector256Single(sumi), acc);
        }

        return GgmlMath.Hsum(acc) + summs;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q6_K(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++, x += 210, y += 292)
        {
            acc = Fma.MultiplyAdd(Vector256.Create(*(float*)y * H(ht, x + 208)), Avx.ConvertToVector256Single(Q6KBlock(x, y)), acc);
        }

        return GgmlMath.Hsum(acc);
    }

    /// <summary>
    /// <see cref="Q6_K"/> of one weight row against four Q8_K activations <paramref name="yStride"/> bytes apart: each
    /// half super-block unpacked once for the four (a prompt's rows are in cache, so unpacking is the cost), every
    /// output with <see cref="Q6_K"/>'s lanes and FMA order, so the same bits. <c>output[k * outputStride]</c> for activation k.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q6_Kx4(byte* x, byte* y, long yStride, int blocks, float* output, int outputStride)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        byte* y0 = y, y1 = y + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
        for (int b = 0; b < blocks; b++, x += 210, y0 += 292, y1 += 292, y2 += 292, y3 += 292)
        {
            Vector256<short> scales = Avx2.ConvertToVector256Int16(Sse2.LoadVector128((sbyte*)(x + 192)));
            Vector256<short> low = Vector256.Create(scales.GetLower(), scales.GetLower()), high = Vector256.Create(scales.GetUpper(), scales.GetUpper());
            Q6HalfX4(x, x + 128, 4, low, y0, y1, y2, y3, out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3);
            Q6HalfX4(x + 64, x + 160, 132, high, y0, y1, y2, y3, out Vector256<int> h0, out Vector256<int> h1, out Vector256<int> h2, out Vector256<int> h3);
            float dx = H(ht, x + 208);
            acc0 = Fma.MultiplyAdd(Vector256.Create(*(float*)y0 * dx), Avx.ConvertToVector256Single(s0 + h0 - Q6KBsums(y0, scales)), acc0);
            acc1 = Fma.MultiplyAdd(Vector256.Create(*(float*)y1 * dx), Avx.ConvertToVector256Single(s1 + h1 - Q6KBsums(y1, scales)), acc1);
            acc2 = Fma.MultiplyAdd(Vector256.Create(*(float*)y2 * dx), Avx.ConvertToVector256Single(s2 + h2 - Q6KBsums(y2, scales)), acc2);
            acc3 = Fma.MultiplyAdd(Vector256.Create(*(float*)y3 * dx), Avx.ConvertToVector256Single(s3 + h3 - Q6KBsums(y3, scales)), acc3);
        }

        output[0] = GgmlMath.Hsum(acc0);
        output[outputStride] = GgmlMath.Hsum(acc1);
        output[2 * outputStride] = GgmlMath.Hsum(acc2);
        output[3 * outputStride] = GgmlMath.Hsum(acc3);
    }

    /// <summary>32 x (each 16-element group's scale x its activation sum), per lane as <see cref="Q6KBlock"/> takes it off.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q6KBsums(byte* y, Vector256<short> scales) =>
        Avx2.ShiftLeftLogical(Avx2.MultiplyAddAdjacent(Avx.LoadVector256((short*)(y + 260)), scales), 5);

    /// <summary><see cref="Q6Half"/>'s 128 elements unpacked once, against the quants at offset <paramref name="q8Offset"/> of four activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q6HalfX4(byte* ql, byte* qh, int q8Offset, Vector256<short> scales, byte* y0, byte* y1, byte* y2, byte* y3,
        out Vector256<int> s0, out Vector256<int> s1, out Vector256<int> s2, out Vector256<int> s3)
    {
        Q6Unpack(ql, qh, out Vector256<byte> q0, out Vector256<byte> q1, out Vector256<byte> q2, out Vector256<byte> q3);
        Vector256<short> p0 = PairLanes(scales, 0), p1 = PairLanes(scales, 2), p2 = PairLanes(scales, 4), p3 = PairLanes(scales, 6);
        s0 = Q6Dot4(q0, q1, q2, q3, p0, p1, p2, p3, (sbyte*)(y0 + q8Offset));
        s1 = Q6Dot4(q0, q1, q2, q3, p0, p1, p2, p3, (sbyte*)(y1 + q8Offset));
        s2 = Q6Dot4(q0, q1, q2, q3, p0, p1, p2, p3, (sbyte*)(y2 + q8Offset));
        s3 = Q6Dot4(q0, q1, q2, q3, p0, p1, p2, p3, (sbyte*)(y3 + q8Offset));
    }

    /// <summary>Four groups of 32 unpacked Q6_K quants times 128 activations, each weighted by its pair of scales (63 * 127 * 2 fits the 16-bit pair sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q6Dot4(Vector256<byte> q0, Vector256<byte> q1, Vector256<byte> q2, Vector256<byte> q3,
        Vector256<short> p0, Vector256<short> p1, Vector256<short> p2, Vector256<short> p3, sbyte* q8) =>
        Avx2.MultiplyAddAdjacent(p0, Avx2.MultiplyAddAdjacent(q0, Avx.LoadVector256(q8)))
        + Avx2.MultiplyAddAdjacent(p1, Avx2.MultiplyAddAdjacent(q1, Avx.LoadVector256(q8 + 32)))
        + Avx2.MultiplyAddAdjacent(p2, Avx2.MultiplyAddAdjacent(q2, Avx.LoadVector256(q8 + 64)))
        + Avx2.MultiplyAddAdjacent(p3, Avx2.MultiplyAddAdjacent(q3, Avx.LoadVector256(q8 + 96)));

    /// <summary>
    /// <see cref="Q5_K"/> of one weight row against four Q8_K activations <paramref name="yStride"/> bytes apart: each
    /// 64 elements unpacked once for the four, every output with <see cref="Q5_K"/>'s lanes, FMA order and mins term.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q5_Kx4(byte* x, byte* y, long yStride, int blocks, float* output, int outputStride)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        float m0 = 0f, m1 = 0f, m2 = 0f, m3 = 0f;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F), bit4 = Vector256.Create((byte)0x10);
        byte* y0 = y, y1 = y + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
        for (int b = 0; b < blocks; b++, x += 176, y0 += 292, y1 += 292, y2 += 292, y3 += 292)
        {
            Vector256<short> scalesAndMins = Avx2.ConvertToVector256Int16(UnpackScalesK4(x + 4));
            Vector256<short> scales = Vector256.Create(scalesAndMins.GetLower(), scalesAndMins.GetLower());
            Vector256<ushort> hbits = Avx.LoadVector256((ushort*)(x + 16));
            Vector256<int> s0 = Vector256<int>.Zero, s1 = s0, s2 = s0, s3 = s0;
            Q5KGroupX4(x + 48, 0, scales, hbits, low4, bit4, y0, y1, y2, y3, ref s0, ref s1, ref s2, ref s3);
            Q5KGroupX4(x + 80, 1, scales, hbits, low4, bit4, y0, y1, y2, y3, ref s0, ref s1, ref s2, ref s3);
            Q5KGroupX4(x + 112, 2, scales, hbits, low4, bit4, y0, y1, y2, y3, ref s0, ref s1, ref s2, ref s3);
            Q5KGroupX4(x + 144, 3, scales, hbits, low4, bit4, y0, y1, y2, y3, ref s0, ref s1, ref s2, ref s3);
            float dx = H(ht, x), dmin = H(ht, x + 2);
            m0 = Q5KMins(y0, scalesAndMins, dmin, m0); m1 = Q5KMins(y1, scalesAndMins, dmin, m1);
            m2 = Q5KMins(y2, scalesAndMins, dmin, m2); m3 = Q5KMins(y3, scalesAndMins, dmin, m3);
            acc0 = Fma.MultiplyAdd(Vector256.Create(*(float*)y0 * dx), Avx.ConvertToVector256Single(s0), acc0);
            acc1 = Fma.MultiplyAdd(Vector256.Create(*(float*)y1 * dx), Avx.ConvertToVector256Single(s1), acc1);
            acc2 = Fma.MultiplyAdd(Vector256.Create(*(float*)y2 * dx), Avx.ConvertToVector256Single(s2), acc2);
            acc3 = Fma.MultiplyAdd(Vector256.Create(*(float*)y3 * dx), Avx.ConvertToVector256Single(s3), acc3);
        }

        output[0] = GgmlMath.Hsum(acc0) + m0;
        output[outputStride] = GgmlMath.Hsum(acc1) + m1;
        output[2 * outputStride] = GgmlMath.Hsum(acc2) + m2;
        output[3 * outputStride] = GgmlMath.Hsum(acc3) + m3;
    }

    /// <summary><see cref="Q5_K"/>'s mins term of one super-block added to <paramref name="summs"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Q5KMins(byte* y, Vector256<short> scalesAndMins, float dmin, float summs) =>
        MulAdd(-*(float*)y * dmin, HsumInt(KMinSums(y, scalesAndMins)), summs);

    /// <summary>Q4_K/Q5_K: each 32-element group's min times its activation sum (the activation's 16-element sums added in pairs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> KMinSums(byte* y, Vector256<short> scalesAndMins)
    {
        Vector128<short> q8Sums = Ssse3.HorizontalAdd(Sse2.LoadVector128((short*)(y + 260)), Sse2.LoadVector128((short*)(y + 276)));
        return Sse2.MultiplyAddAdjacent(scalesAndMins.GetUpper(), q8Sums);
    }

    /// <summary><see cref="Q5KGroup"/>'s 64 elements unpacked once, against four activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q5KGroupX4(byte* q4, int j, Vector256<short> scales, Vector256<ushort> hbits, Vector256<byte> low4, Vector256<byte> bit4,
        byte* y0, byte* y1, byte* y2, byte* y3, ref Vector256<int> s0, ref Vector256<int> s1, ref Vector256<int> s2, ref Vector256<int> s3)
    {
        Q5KUnpack(q4, hbits, j, low4, bit4, out Vector256<byte> lo, out Vector256<byte> hi);
        Vector256<short> sl = BroadcastLane(scales, 2 * j), sh = BroadcastLane(scales, 2 * j + 1);
        int o = 4 + 64 * j;
        s0 += Q5KDot(lo, hi, sl, sh, (sbyte*)(y0 + o));
        s1 += Q5KDot(lo, hi, sl, sh, (sbyte*)(y1 + o));
        s2 += Q5KDot(lo, hi, sl, sh, (sbyte*)(y2 + o));
        s3 += Q5KDot(lo, hi, sl, sh, (sbyte*)(y3 + o));
    }

    /// <summary>ggml_vec_dot_q2_K_q8_K: the mins term is FMA'd into the same accumulator first.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q2_K(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++, x += 84, y += 292)
        {
            float dy = *(float*)y;
            Vector256<int> sumi = Q2KBlock(x, y, out Vector256<int> mins);
            acc = Fma.MultiplyAdd(Vector256.Create(-dy * H(ht, x + 82)), Avx.ConvertToVector256Single(mins), acc);
            acc = Fma.MultiplyAdd(Vector256.Create(dy * H(ht, x + 80)), Avx.ConvertToVector256Single(sumi), acc);
        }

        return GgmlMath.Hsum(acc);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Q3_K(byte* x, byte* y, int blocks)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc = Vector256<float>.Zero;
        for (int b = 0; b < blocks; b++, x += 110, y += 292)
        {
            acc = Fma.MultiplyAdd(Vector256.Create(*(float*)y * H(ht, x + 108)), Avx.ConvertToVector256Single(Q3KBlock(x, y)), acc);
        }

        return GgmlMath.Hsum(acc);
    }

    // ---- CPU_REPACK kernels (Q4_0 / Q4_K weights with a multiple of 8 rows, 8 rows per vector): each output
    //      element is a scalar accumulation of fma(integer total, d_x * d_y, acc), one lane of ggml's 8-row vectors ----

    /// <summary>
    /// One output element of ggml_gemv_q4_0_8x8_q8_0 / ggml_gemm_q4_0_8x8_q8_0 (the same arithmetic: one FMA per
    /// 32-element block) or ggml_gemv_q4_K_8x8_q8_K (one FMA per super-block for the scales, one for the mins).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Repacked(TensorType t, byte* x, byte* y, int n)
    {
        float* ht = Half16.TablePointer;
        if (t == TensorType.Q4_0)
        {
            Vector256<sbyte> eight = Vector256.Create((sbyte)8);
            float acc = 0f;
            for (int b = 0; b < n / 32; b++, x += 18, y += 34)
            {
                int s = HsumInt(MulSumI8(Nibbles(x + 2).AsSByte() - eight, Avx.LoadVector256((sbyte*)(y + 2))));
                acc = MathF.FusedMultiplyAdd(s, H(ht, x) * H(ht, y), acc);
            }

            return acc;
        }

        if (t == TensorType.Q4_K)
        {
            float acc = 0f, accMin = 0f;
            for (int b = 0; b < n / 256; b++, x += 144, y += 292)
            {
                float dy = *(float*)y;
                int s = HsumInt(Q4KBlock(x, y, out Vector128<int> mins));
                acc = MathF.FusedMultiplyAdd(s, H(ht, x) * dy, acc);
                accMin = MathF.FusedMultiplyAdd(HsumInt(mins), H(ht, x + 2) * dy, accMin);
            }

            return acc - accMin;
        }

        throw TensorTypeInfo.Unsupported(t);
    }

    /// <summary>
    /// <see cref="Repacked"/> for Q4_0 on eight rows at once (<paramref name="rowBytes"/> apart), as ggml's
    /// <c>ggml_gemv_q4_0_8x8_q8_0</c> runs them: lane i of one float accumulator is row i, and per block it gets
    /// <c>fma(exact integer dot, d_x * d_y, acc)</c>, the same operations <see cref="Repacked"/> does per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_0Repacked8(byte* x, long rowBytes, byte* y, int blocks, float* output)
    {
        float* ht = Half16.TablePointer;
        Vector256<sbyte> eight = Vector256.Create((sbyte)8);
        Vector256<float> acc = Vector256<float>.Zero;
        byte* x1 = x + rowBytes, x2 = x1 + rowBytes, x3 = x2 + rowBytes, x4 = x3 + rowBytes, x5 = x4 + rowBytes, x6 = x5 + rowBytes, x7 = x6 + rowBytes;
        // Eight interleaved rows are eight short streams the hardware prefetcher does not follow: sweep the bytes of
        // the rows two groups ahead in order instead, 144 of them per block.
        byte* sweep = x + 16 * rowBytes;
        for (int b = 0; b < blocks; b++, y += 34, sweep += 144)
        {
            long o = b * 18L;
            Sse.Prefetch0(sweep);
            Sse.Prefetch0(sweep + 64);
            Sse.Prefetch0(sweep + 128);
            Vector256<sbyte> qy = Avx.LoadVector256((sbyte*)(y + 2));
            // Only each row's exact integer total matters, so the nibbles (0..15) multiply unsigned, without the sign
            // trick, and the -8 comes off once per block: sum (q - 8) y = sum q y - 8 sum y, the same integer.
            Vector256<int> h01 = Avx2.HorizontalAdd(MulSumU8(Nibbles(x + o + 2), qy), MulSumU8(Nibbles(x1 + o + 2), qy));
            Vector256<int> h23 = Avx2.HorizontalAdd(MulSumU8(Nibbles(x2 + o + 2), qy), MulSumU8(Nibbles(x3 + o + 2), qy));
            Vector256<int> h45 = Avx2.HorizontalAdd(MulSumU8(Nibbles(x4 + o + 2), qy), MulSumU8(Nibbles(x5 + o + 2), qy));
            Vector256<int> h67 = Avx2.HorizontalAdd(MulSumU8(Nibbles(x6 + o + 2), qy), MulSumU8(Nibbles(x7 + o + 2), qy));
            Vector256<int> h0123 = Avx2.HorizontalAdd(h01, h23), h4567 = Avx2.HorizontalAdd(h45, h67);
            // Lanes [r0..r3 of elements 0-3 | r4..r7 of elements 0-3] + [same, elements 4-7]: row i's exact sum in lane i.
            Vector256<int> sums = Avx2.Permute2x128(h0123, h4567, 0x20) + Avx2.Permute2x128(h0123, h4567, 0x31) - EightTimesSum(qy, eight);
            Vector256<float> d = Vector256.Create(H(ht, x + o), H(ht, x1 + o), H(ht, x2 + o), H(ht, x3 + o), H(ht, x4 + o), H(ht, x5 + o), H(ht, x6 + o), H(ht, x7 + o)) * Vector256.Create(H(ht, y));
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(sums), d, acc);
        }

        Avx.Store(output, acc);
    }

    /// <summary>
    /// <see cref="Q4_0Repacked8"/> for four activation rows (<paramref name="yStride"/> bytes apart) at once, as
    /// <c>ggml_gemm_q4_0_8x8_q8_0</c> takes them: each row's nibbles are unpacked once for the four. Output
    /// <c>output[k * outputStride + i]</c> for activation k and row i; per output the same operations as one row alone.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_0Repacked8x4(byte* x, long rowBytes, byte* y, long yStride, int blocks, float* output, int outputStride)
    {
        float* ht = Half16.TablePointer;
        Vector256<sbyte> eight = Vector256.Create((sbyte)8);
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int b = 0; b < blocks; b++)
        {
            byte* xb = x + b * 18L;
            byte* y0 = y + b * 34L, y1 = y0 + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
            Q4_0Pair(xb, rowBytes, y0, y1, y2, y3, out var p01a, out var p01b, out var p01c, out var p01d);
            Q4_0Pair(xb + 2 * rowBytes, rowBytes, y0, y1, y2, y3, out var p23a, out var p23b, out var p23c, out var p23d);
            Vector256<int> h0123a = Avx2.HorizontalAdd(p01a, p23a), h0123b = Avx2.HorizontalAdd(p01b, p23b);
            Vector256<int> h0123c = Avx2.HorizontalAdd(p01c, p23c), h0123d = Avx2.HorizontalAdd(p01d, p23d);
            Q4_0Pair(xb + 4 * rowBytes, rowBytes, y0, y1, y2, y3, out var p45a, out var p45b, out var p45c, out var p45d);
            Q4_0Pair(xb + 6 * rowBytes, rowBytes, y0, y1, y2, y3, out var p67a, out var p67b, out var p67c, out var p67d);
            Vector256<float> dx = Vector256.Create(H(ht, xb), H(ht, xb + rowBytes), H(ht, xb + 2 * rowBytes), H(ht, xb + 3 * rowBytes),
                H(ht, xb + 4 * rowBytes), H(ht, xb + 5 * rowBytes), H(ht, xb + 6 * rowBytes), H(ht, xb + 7 * rowBytes));
            // Unsigned nibbles: sum (q - 8) y = sum q y - 8 sum y, per activation.
            Vector256<int> c0 = EightTimesSum(Avx.LoadVector256((sbyte*)(y0 + 2)), eight), c1 = EightTimesSum(Avx.LoadVector256((sbyte*)(y1 + 2)), eight);
            Vector256<int> c2 = EightTimesSum(Avx.LoadVector256((sbyte*)(y2 + 2)), eight), c3 = EightTimesSum(Avx.LoadVector256((sbyte*)(y3 + 2)), eight);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(RowSums(h0123a, Avx2.HorizontalAdd(p45a, p67a)) - c0), dx * Vector256.Create(H(ht, y0)), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(RowSums(h0123b, Avx2.HorizontalAdd(p45b, p67b)) - c1), dx * Vector256.Create(H(ht, y1)), acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(RowSums(h0123c, Avx2.HorizontalAdd(p45c, p67c)) - c2), dx * Vector256.Create(H(ht, y2)), acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(RowSums(h0123d, Avx2.HorizontalAdd(p45d, p67d)) - c3), dx * Vector256.Create(H(ht, y3)), acc3);
        }

        Avx.Store(output, acc0);
        Avx.Store(output + outputStride, acc1);
        Avx.Store(output + 2 * outputStride, acc2);
        Avx.Store(output + 3 * outputStride, acc3);
    }

    /// <summary>
    /// Two Q4_0 rows against four activations: per activation, the pairwise sums of both rows' int32 lanes, with the
    /// nibbles (0..15) unsigned; the caller takes 8 x each activation's sum off the row totals.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Q4_0Pair(byte* x0, long rowBytes, byte* y0, byte* y1, byte* y2, byte* y3,
        out Vector256<int> a, out Vector256<int> b, out Vector256<int> c, out Vector256<int> d)
    {
        Vector256<byte> q0 = Nibbles(x0 + 2), q1 = Nibbles(x0 + rowBytes + 2);
        Vector256<sbyte> v = Avx.LoadVector256((sbyte*)(y0 + 2));
        a = Avx2.HorizontalAdd(MulSumU8(q0, v), MulSumU8(q1, v));
        v = Avx.LoadVector256((sbyte*)(y1 + 2));
        b = Avx2.HorizontalAdd(MulSumU8(q0, v), MulSumU8(q1, v));
        v = Avx.LoadVector256((sbyte*)(y2 + 2));
        c = Avx2.HorizontalAdd(MulSumU8(q0, v), MulSumU8(q1, v));
        v = Avx.LoadVector256((sbyte*)(y3 + 2));
        d = Avx2.HorizontalAdd(MulSumU8(q0, v), MulSumU8(q1, v));
    }

    /// <summary>From hadd trees of rows 0-3 and 4-7, row i's exact total in lane i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> RowSums(Vector256<int> h0123, Vector256<int> h4567) =>
        Avx2.Permute2x128(h0123, h4567, 0x20) + Avx2.Permute2x128(h0123, h4567, 0x31);

    /// <summary>
    /// Repacked Q4_K on four rows at once (<paramref name="rowBytes"/> apart), lane i of each float accumulator being
    /// row i as in ggml's 8x8 kernels: per super-block (<see cref="Repacked"/>, the gemv) or per 64 elements
    /// (<paramref name="perSubBlockPair"/>, <see cref="RepackedGemm"/>) one FMA of the exact integer total into the
    /// scale sum and one into the min sum, then their difference: the operations those functions do for one row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Q4_KRepacked4(byte* x, long rowBytes, byte* y, int blocks, bool perSubBlockPair, float* output)
    {
        float* ht = Half16.TablePointer;
        Vector128<float> acc = Vector128<float>.Zero, accMin = Vector128<float>.Zero;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        byte* x1 = x + rowBytes, x2 = x1 + rowBytes, x3 = x2 + rowBytes;
        // As in Q4_0Repacked8: the rows two groups ahead swept in order, 4 x 144 bytes per super-block.
        byte* sweep = x + 8 * rowBytes;
        for (int b = 0; b < blocks; b++, x += 144, x1 += 144, x2 += 144, x3 += 144, y += 292, sweep += 576)
        {
            for (int k = 0; k < 576; k += 64) Sse.Prefetch0(sweep + k);
            Vector128<float> dy = Vector128.Create(*(float*)y);
            Vector128<float> d = Vector128.Create(H(ht, x), H(ht, x1), H(ht, x2), H(ht, x3)) * dy;
            Vector128<float> dmin = Vector128.Create(H(ht, x + 2), H(ht, x1 + 2), H(ht, x2 + 2), H(ht, x3 + 2)) * dy;
            Vector128<short> q8Sums = Ssse3.HorizontalAdd(Sse2.LoadVector128((short*)(y + 260)), Sse2.LoadVector128((short*)(y + 276)));
            Vector256<short> sm0 = Avx2.ConvertToVector256Int16(UnpackScalesK4(x + 4)), sm1 = Avx2.ConvertToVector256Int16(UnpackScalesK4(x1 + 4));
            Vector256<short> sm2 = Avx2.ConvertToVector256Int16(UnpackScalesK4(x2 + 4)), sm3 = Avx2.ConvertToVector256Int16(UnpackScalesK4(x3 + 4));
            Vector128<int> m0 = Sse2.MultiplyAddAdjacent(sm0.GetUpper(), q8Sums), m1 = Sse2.MultiplyAddAdjacent(sm1.GetUpper(), q8Sums);
            Vector128<int> m2 = Sse2.MultiplyAddAdjacent(sm2.GetUpper(), q8Sums), m3 = Sse2.MultiplyAddAdjacent(sm3.GetUpper(), q8Sums);
            Vector256<short> s0 = Vector256.Create(sm0.GetLower(), sm0.GetLower()), s1 = Vector256.Create(sm1.GetLower(), sm1.GetLower());
            Vector256<short> s2 = Vector256.Create(sm2.GetLower(), sm2.GetLower()), s3 = Vector256.Create(sm3.GetLower(), sm3.GetLower());
            Vector128<int> total = Vector128<int>.Zero;
            sbyte* q8 = (sbyte*)(y + 4);
            for (int j = 0; j < 4; j++, q8 += 64)
            {
                Vector256<sbyte> yLo = Avx.LoadVector256(q8), yHi = Avx.LoadVector256(q8 + 32);
                int o = 16 + 32 * j;
                Vector128<int> t = SumFourRows(
                    Q4KGroup(Avx.LoadVector256(x + o), s0, j, yLo, yHi, low4), Q4KGroup(Avx.LoadVector256(x1 + o), s1, j, yLo, yHi, low4),
                    Q4KGroup(Avx.LoadVector256(x2 + o), s2, j, yLo, yHi, low4), Q4KGroup(Avx.LoadVector256(x3 + o), s3, j, yLo, yHi, low4));
                if (perSubBlockPair)
                {
                    acc = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(t), d, acc);
                    Vector128<int> mj = Vector128.Create(m0.GetElement(j), m1.GetElement(j), m2.GetElement(j), m3.GetElement(j));
                    accMin = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(mj), dmin, accMin);
                }
                else
                {
                    total += t;
                }
            }
            if (!perSubBlockPair)
            {
                acc = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(total), d, acc);
                Vector128<int> mins = Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(m0, m1), Ssse3.HorizontalAdd(m2, m3));
                accMin = Fma.MultiplyAdd(Sse2.ConvertToVector128Single(mins), dmin, accMin);
            }
        }

        Sse.Store(output, acc - accMin);
    }

    /// <summary>The int32 lanes of one Q4_K row's 64 elements of group <paramref name="j"/> (both nibbles, scaled).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Q4KGroup(Vector256<byte> bits, Vector256<short> scales, int j, Vector256<sbyte> yLo, Vector256<sbyte> yHi, Vector256<byte> low4) =>
        Avx2.MultiplyAddAdjacent(BroadcastLane(scales, 2 * j), Avx2.MultiplyAddAdjacent(bits & low4, yLo))
        + Avx2.MultiplyAddAdjacent(BroadcastLane(scales, 2 * j + 1), Avx2.MultiplyAddAdjacent(Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & low4, yHi));

    /// <summary>Row i's exact total of the int32 lanes of its vector, in lane i.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> SumFourRows(Vector256<int> r0, Vector256<int> r1, Vector256<int> r2, Vector256<int> r3)
    {
        Vector256<int> h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(r0, r1), Avx2.HorizontalAdd(r2, r3));
        return h.GetLower() + h.GetUpper();
    }

    /// <summary>
    /// One output element of ggml_gemm_q4_K_8x8_q8_K (Q4_0: identical to <see cref="Repacked"/>): the scale and min
    /// terms are accumulated per 64 elements (two sub-blocks), each an FMA of its exact integer total.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float RepackedGemm(TensorType t, byte* x, byte* y, int n)
    {
        float* ht = Half16.TablePointer;
        if (t != TensorType.Q4_K)
        {
            return Repacked(t, x, y, n);
        }

        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        float acc = 0f, accMin = 0f;
        for (int b = 0; b < n / 256; b++, x += 144, y += 292)
        {
            float dy = *(float*)y;
            float d = H(ht, x) * dy, dmin = H(ht, x + 2) * dy;
            Vector256<short> scalesAndMins = Avx2.ConvertToVector256Int16(UnpackScalesK4(x + 4));
            Vector128<short> q8Sums = Ssse3.HorizontalAdd(Sse2.LoadVector128((short*)(y + 260)), Sse2.LoadVector128((short*)(y + 276)));
            Vector128<int> mins = Sse2.MultiplyAddAdjacent(scalesAndMins.GetUpper(), q8Sums);
            Vector256<short> scales = Vector256.Create(scalesAndMins.GetLower(), scalesAndMins.GetLower());
            byte* q4 = x + 16;
            sbyte* q8 = (sbyte*)(y + 4);
            for (int j = 0; j < 4; j++, q4 += 32, q8 += 64)
            {
                int s = HsumInt(Q4KGroup(Avx.LoadVector256(q4), scales, j, Avx.LoadVector256(q8), Avx.LoadVector256(q8 + 32), low4));
                acc = MathF.FusedMultiplyAdd(s, d, acc);
                accMin = MathF.FusedMultiplyAdd(mins.GetElement(j), dmin, accMin);
            }
        }

        return acc - accMin;
    }
}
#endif
