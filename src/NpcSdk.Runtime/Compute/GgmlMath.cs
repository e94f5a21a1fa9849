using System;
using System.Runtime.CompilerServices;
#if NET
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace NpcSdk.Compute
{
    /// <summary>
    /// The float building blocks of ggml-cpu's AVX2 kernels, reproduced operation for operation so that results match
    /// llama.cpp bit for bit: the horizontal sums (<c>hsum_float_8</c>, <c>GGML_F32x8_REDUCE</c>) and the vectorized
    /// exponential <c>ggml_v_expf</c> behind softmax and SiLU.
    /// </summary>
    /// <remarks>
    /// Every vector routine has a scalar twin working on the same lanes in the same order (with <see cref="FusedMultiplyAdd"/> where
    /// ggml uses FMA), so the netstandard2.1 build computes the same values.
    /// Float addition is commutative in IEEE arithmetic, so only the pairing of operands matters, not their order.
    /// </remarks>
    internal static class GgmlMath
    {
        // ggml_v_expf constants (hex floats in ggml's source).
        private const float ExpRound = 12582912f; // 0x1.8p23f: adding it rounds to an integer
        private static readonly float Log2E = BitConverter.Int32BitsToSingle(0x3FB8AA3B);  // 0x1.715476p+0f
        private static readonly float Ln2Lo = BitConverter.Int32BitsToSingle(0x35BFBE8E);  // 0x1.7f7d1cp-20f
        private static readonly float Ln2Hi = BitConverter.Int32BitsToSingle(0x3F317200);  // 0x1.62e4p-1f
        private static readonly float P5 = BitConverter.Int32BitsToSingle(0x3C072010);     // 0x1.0e4020p-7f
        private static readonly float P4 = BitConverter.Int32BitsToSingle(0x3D2B9F17);     // 0x1.573e2ep-5f
        private static readonly float P3 = BitConverter.Int32BitsToSingle(0x3E2AAF33);     // 0x1.555e66p-3f
        private static readonly float P2 = BitConverter.Int32BitsToSingle(0x3EFFFEDB);     // 0x1.fffdb6p-2f
        private static readonly float P1 = BitConverter.Int32BitsToSingle(0x3F7FFFF6);     // 0x1.ffffecp-1f

        /// <summary>
        /// <c>hsum_float_8</c> (and tinyBLAS' <c>hsum</c>) over 8 lanes: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Hsum8(float l0, float l1, float l2, float l3, float l4, float l5, float l6, float l7) =>
            ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7));

        /// <summary><see cref="Hsum8(float, float, float, float, float, float, float, float)"/> of lanes[0..8).</summary>
        public static float Hsum8(ReadOnlySpan<float> lanes) =>
            Hsum8(lanes[0], lanes[1], lanes[2], lanes[3], lanes[4], lanes[5], lanes[6], lanes[7]);

        /// <summary>
        /// <c>GGML_F32x8_REDUCE</c> of ggml's four 8-lane accumulators (lanes[8*a + l] = lane l of accumulator a):
        /// x = (a0+a2)+(a1+a3) lane-wise, then t = x[l]+x[l+4], then (t0+t1)+(t2+t3) (two <c>hadd</c>s).
        /// </summary>
        public static float Reduce4x8(ReadOnlySpan<float> lanes)
        {
            Span<float> t = stackalloc float[4];
            for (int l = 0; l < 4; l++)
            {
                float lo = (lanes[l] + lanes[16 + l]) + (lanes[8 + l] + lanes[24 + l]);
                float hi = (lanes[l + 4] + lanes[16 + l + 4]) + (lanes[8 + l + 4] + lanes[24 + l + 4]);
                t[l] = lo + hi;
            }

            return (t[0] + t[1]) + (t[2] + t[3]);
        }

        /// <summary>
        /// Fused multiply-add with a single rounding: the FMA instruction on net10.0, <see cref="SoftFusedMultiplyAdd"/>
        /// on netstandard2.1, which has no <c>MathF.FusedMultiplyAdd</c>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float FusedMultiplyAdd(float a, float b, float c)
        {
#if NET
            return MathF.FusedMultiplyAdd(a, b, c);
#else
            return SoftFusedMultiplyAdd(a, b, c);
#endif
        }

        /// <summary>
        /// a*b + c rounded once, in double arithmetic: the product is exact in double (24 + 24 significant bits), and
        /// rounding the double sum to float gives the correctly rounded result unless the sum landed exactly on a float
        /// midpoint (no other float midpoint can lie between the exact sum and its nearest double): only then, or outside
        /// the normal float range, does <see cref="SoftFusedMultiplyAddSlow"/> round the sum to odd first.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float SoftFusedMultiplyAdd(float a, float b, float c)
        {
            double s = (double)a * b + c;
            long bits = BitConverter.DoubleToInt64Bits(s);
            // The 29 bits below a float's significand are 1000...0 at a midpoint; the biased exponent of a normal
            // float's range is 1023 - 126 .. 1023 + 127. A zero sum is exact (a*b = -c), and frequent (zeroed accumulators).
            if (((bits & 0x1FFF_FFFF) != 0x1000_0000 && (uint)((int)(bits >> 52 & 0x7FF) - (1023 - 126)) <= 253u) || s == 0) return (float)s;
            return SoftFusedMultiplyAddSlow(a, b, c);
        }

        /// <summary>
        /// a*b + c rounded once for every input: the sum is rounded to odd (TwoSum gives its error), so the final
        /// rounding to float is not a double rounding.
        /// </summary>
        private static float SoftFusedMultiplyAddSlow(float a, float b, float c)
        {
            double p = (double)a * b;
            double s = p + c;
            double bv = s - p;
            double err = (p - (s - bv)) + (c - bv); // TwoSum: p + c = s + err exactly
            if (err != 0 && !double.IsInfinity(s) && !double.IsNaN(s))
            {
                long bits = BitConverter.DoubleToInt64Bits(s);
                if ((bits & 1) == 0) bits += (err > 0) == (s > 0) ? 1 : -1;
                s = BitConverter.Int64BitsToDouble(bits);
            }

            return (float)s;
        }

        /// <summary>One lane of <c>ggml_v_expf</c> (AVX2 flavour): the ARM optimized-routines expf, max error 1.5 ulp.</summary>
        public static float Exp(float x)
        {
            float z = FusedMultiplyAdd(x, Log2E, ExpRound);
            float n = z - ExpRound;
            float b = FusedMultiplyAdd(-n, Ln2Lo, FusedMultiplyAdd(-n, Ln2Hi, x));
            int e = BitConverter.SingleToInt32Bits(z) << 23;
            float k = BitConverter.Int32BitsToSingle(e + 0x3F800000);
            float u = b * b;
            float j = FusedMultiplyAdd(
                FusedMultiplyAdd(FusedMultiplyAdd(P5, b, P4), u, FusedMultiplyAdd(P3, b, P2)),
                u, P1 * b);
            float absN = Math.Abs(n);
            if (!(absN > 126f)) return FusedMultiplyAdd(j, k, k);
            int g = n <= 0f ? unchecked((int)0x82000000u) : 0;
            float s1 = BitConverter.Int32BitsToSingle(g + 0x7F000000);
            float s2 = BitConverter.Int32BitsToSingle(e - g);
            if (absN > 192f) return s1 * s1;
            return FusedMultiplyAdd(s2, j, s2) * s1;
        }

        /// <summary>One lane of <c>ggml_v_silu</c>: x / (1 + v_expf(-x)).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Silu(float x) => x / (1f + Exp(0f - x));

        /// <summary><c>ggml_silu_f32</c>, the scalar tail of ggml's SiLU loops (libm expf).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float SiluTail(float x) => x / (1f + MathF.Exp(-x));

#if NET
        /// <summary>Hardware path for the vector routines below (AVX2 + FMA).</summary>
        public static bool IsAccelerated => Avx2.IsSupported && Fma.IsSupported;

        /// <summary><c>hsum_float_8</c>: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Hsum(Vector256<float> v)
        {
            Vector128<float> r = v.GetUpper() + v.GetLower();
            r += Sse.MoveHighToLow(r, r);
            return r.ToScalar() + r.GetElement(1);
        }

        /// <summary><c>GGML_F32x8_REDUCE</c> of four accumulators.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Reduce(Vector256<float> a0, Vector256<float> a1, Vector256<float> a2, Vector256<float> a3) =>
            ReduceLanes((a0 + a2) + (a1 + a3));

        /// <summary><see cref="Reduce"/>'s last part, once its accumulators are added into one vector: t = lower + upper half, then (t0+t1)+(t2+t3).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float ReduceLanes(Vector256<float> x)
        {
            Vector128<float> t = x.GetLower() + x.GetUpper();
            return (t.ToScalar() + t.GetElement(1)) + (t.GetElement(2) + t.GetElement(3));
        }

        /// <summary>
        /// <see cref="Hsum"/> of eight vectors at once: lane j of the result is <c>Hsum(vj)</c>, by the same additions
        /// done lane-wise on a transposed layout (a dot product kernel's eight outputs in one store).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Hsum8(Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3,
            Vector256<float> v4, Vector256<float> v5, Vector256<float> v6, Vector256<float> v7) =>
            TransposedSum(v0, v1, v2, v3, v4, v5, v6, v7, hsumPairs: true);

        /// <summary>
        /// The lane reduction of <see cref="Reduce"/> (after its accumulators are added into one vector per output) for
        /// eight vectors at once: lane j of the result is ((t0+t1)+(t2+t3)) with t = lower + upper half of vj.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> ReduceLanes8(Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3,
            Vector256<float> v4, Vector256<float> v5, Vector256<float> v6, Vector256<float> v7) =>
            TransposedSum(v0, v1, v2, v3, v4, v5, v6, v7, hsumPairs: false);

        /// <summary>
        /// b = lower + upper half of each vector (two per register), then pairs of b's lanes: (0,2),(1,3) for
        /// <c>hsum_float_8</c>'s movehl, (0,1),(2,3) for <c>GGML_F32x8_REDUCE</c>'s hadd; then the two partial sums.
        /// Additions are commutative in IEEE arithmetic, so only which values meet matters, and that is the same.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> TransposedSum(Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, Vector256<float> v3,
            Vector256<float> v4, Vector256<float> v5, Vector256<float> v6, Vector256<float> v7, bool hsumPairs)
        {
            Vector256<float> b01 = Avx.Permute2x128(v0, v1, 0x20) + Avx.Permute2x128(v0, v1, 0x31); // [b0 | b1]
            Vector256<float> b23 = Avx.Permute2x128(v2, v3, 0x20) + Avx.Permute2x128(v2, v3, 0x31);
            Vector256<float> b45 = Avx.Permute2x128(v4, v5, 0x20) + Avx.Permute2x128(v4, v5, 0x31);
            Vector256<float> b67 = Avx.Permute2x128(v6, v7, 0x20) + Avx.Permute2x128(v6, v7, 0x31);
            Vector256<float> c0123, c4567; // [c0 c2 | c1 c3], two lanes each
            if (hsumPairs)
            {
                c0123 = Avx.Shuffle(b01, b23, 0x44) + Avx.Shuffle(b01, b23, 0xEE);
                c4567 = Avx.Shuffle(b45, b67, 0x44) + Avx.Shuffle(b45, b67, 0xEE);
            }
            else
            {
                c0123 = Avx.Shuffle(b01, b23, 0x88) + Avx.Shuffle(b01, b23, 0xDD);
                c4567 = Avx.Shuffle(b45, b67, 0x88) + Avx.Shuffle(b45, b67, 0xDD);
            }
            Vector256<float> s = Avx.Shuffle(c0123, c4567, 0x88) + Avx.Shuffle(c0123, c4567, 0xDD); // [s0 s2 s4 s6 | s1 s3 s5 s7]
            return Avx2.PermuteVar8x32(s, Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7));
        }

        /// <summary><c>ggml_v_expf</c> on 8 lanes (AVX2 + FMA).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Exp(Vector256<float> x)
        {
            Vector256<float> r = Vector256.Create(ExpRound);
            Vector256<float> z = Fma.MultiplyAdd(x, Vector256.Create(Log2E), r);
            Vector256<float> n = z - r;
            Vector256<float> b = Fma.MultiplyAddNegated(n, Vector256.Create(Ln2Lo), Fma.MultiplyAddNegated(n, Vector256.Create(Ln2Hi), x));
            Vector256<int> e = Avx2.ShiftLeftLogical(z.AsInt32(), 23);
            Vector256<float> k = (e + Vector256.Create(0x3F800000)).AsSingle();
            Vector256<float> absN = Avx.AndNot(Vector256.Create(-0f), n);
            Vector256<float> c = Avx.CompareGreaterThan(absN, Vector256.Create(126f));
            Vector256<float> u = b * b;
            Vector256<float> j = Fma.MultiplyAdd(
                Fma.MultiplyAdd(Fma.MultiplyAdd(Vector256.Create(P5), b, Vector256.Create(P4)), u, Fma.MultiplyAdd(Vector256.Create(P3), b, Vector256.Create(P2))),
                u, Vector256.Create(P1) * b);
            if (Avx.MoveMask(c) == 0) return Fma.MultiplyAdd(j, k, k);
            Vector256<int> g = Avx.CompareLessThanOrEqual(n, Vector256<float>.Zero).AsInt32() & Vector256.Create(unchecked((int)0x82000000u));
            Vector256<float> s1 = (g + Vector256.Create(0x7F000000)).AsSingle();
            Vector256<float> s2 = (e - g).AsSingle();
            Vector256<float> d = Avx.CompareGreaterThan(absN, Vector256.Create(192f));
            Vector256<float> inner = Avx.BlendVariable(Fma.MultiplyAdd(k, j, k), Fma.MultiplyAdd(s2, j, s2) * s1, c);
            return Avx.BlendVariable(inner, s1 * s1, d);
        }

        /// <summary><c>ggml_v_silu</c> on 8 lanes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<float> Silu(Vector256<float> x) =>
            Avx.Divide(x, Vector256.Create(1f) + Exp(Vector256<float>.Zero - x));
#endif
    }
}
