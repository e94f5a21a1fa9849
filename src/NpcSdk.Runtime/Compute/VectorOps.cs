using System;
#if NET
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace NpcSdk.Compute
{
    /// <summary>The float math of a transformer step, numerically as ggml-cpu does it (double accumulation where ggml uses it).</summary>
    internal static class VectorOps
    {
        /// <summary>y = (x / rms(x)) * w, with the sum of squares accumulated in double like ggml_rms_norm.</summary>
        public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, float eps)
        {
            double sum = 0;
            for (int i = 0; i < x.Length; i++)
            {
                float sq = x[i] * x[i];
                sum += sq;
            }
            float mean = (float)(sum / x.Length);
            float scale = 1.0f / MathF.Sqrt(mean + eps);
            for (int i = 0; i < x.Length; i++) y[i] = x[i] * scale * w[i];
        }

        /// <summary>x += y.</summary>
        public static void Add(Span<float> x, ReadOnlySpan<float> y)
        {
#if NET
            System.Numerics.Tensors.TensorPrimitives.Add(x, y, x);
#else
            for (int i = 0; i < x.Length; i++) x[i] += y[i];
#endif
        }

        /// <summary>
        /// gate = silu(gate) * up as ggml_vec_swiglu_f32 computes it on AVX2: <c>ggml_v_silu</c> on whole groups of 8,
        /// <c>ggml_silu_f32</c> (libm expf) on the tail.
        /// </summary>
        public static unsafe void SwiGlu(Span<float> gate, ReadOnlySpan<float> up)
        {
            int n = gate.Length, i = 0;
#if NET
            if (GgmlMath.IsAccelerated)
            {
                fixed (float* g = gate)
                fixed (float* u = up)
                {
                    for (; i + 8 <= n; i += 8)
                        Avx.Store(g + i, GgmlMath.Silu(Avx.LoadVector256(g + i)) * Avx.LoadVector256(u + i));
                }
            }
#endif
            for (int full = n & ~7; i < full; i++) gate[i] = GgmlMath.Silu(gate[i]) * up[i];
            for (; i < n; i++) gate[i] = GgmlMath.SiluTail(gate[i]) * up[i];
        }

        /// <summary>
        /// In-place softmax as ggml_soft_max_f32 computes a row: the maximum, then <c>ggml_vec_soft_max_f32</c>
        /// (<c>ggml_v_expf</c> on whole groups of 8, each group's <c>hsum</c> added into a double; libm expf on the tail),
        /// then every value times (float)(1/sum). Masked entries are -inf and become exactly 0.
        /// </summary>
        public static unsafe void Softmax(Span<float> x)
        {
            int n = x.Length;
            float max = float.NegativeInfinity;
            for (int i = 0; i < n; i++) max = x[i] > max ? x[i] : max;
            double sum = 0;
            int k = 0;
#if NET
            if (GgmlMath.IsAccelerated)
            {
                fixed (float* p = x)
                {
                    Vector256<float> vmax = Vector256.Create(max);
                    for (; k + 8 <= n; k += 8)
                    {
                        Vector256<float> e = GgmlMath.Exp(Avx.LoadVector256(p + k) - vmax);
                        Avx.Store(p + k, e);
                        sum += GgmlMath.Hsum(e);
                    }
                }
            }
#endif
            for (; k + 8 <= n; k += 8)
            {
                for (int l = 0; l < 8; l++) x[k + l] = GgmlMath.Exp(x[k + l] - max);
                sum += GgmlMath.Hsum8(x.Slice(k, 8));
            }

            for (; k < n; k++)
            {
                float e = MathF.Exp(x[k] - max);
                sum += e;
                x[k] = e;
            }

            float scale = (float)(1.0 / sum);
            for (int i = 0; i < n; i++) x[i] *= scale;
        }

        /// <summary>acc += a * x.</summary>
        public static void MultiplyAdd(Span<float> acc, ReadOnlySpan<float> x, float a)
        {
#if NET
            System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(x, a, acc, acc);
#else
            for (int i = 0; i < acc.Length; i++) acc[i] += a * x[i];
#endif
        }

        /// <summary>Index of the largest value; the lowest index wins ties.</summary>
        public static int ArgMax(ReadOnlySpan<float> x)
        {
            int best = 0;
            for (int i = 1; i < x.Length; i++) if (x[i] > x[best]) best = i;
            return best;
        }
    }
}
