using System;

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

        /// <summary>gate = silu(gate) * up.</summary>
        public static void SwiGlu(Span<float> gate, ReadOnlySpan<float> up)
        {
            for (int i = 0; i < gate.Length; i++)
            {
                float g = gate[i];
                gate[i] = g / (1.0f + MathF.Exp(-g)) * up[i];
            }
        }

        /// <summary>In-place softmax; the normaliser is accumulated in double as ggml_soft_max does.</summary>
        public static void Softmax(Span<float> x)
        {
            float max = float.NegativeInfinity;
            for (int i = 0; i < x.Length; i++) if (x[i] > max) max = x[i];
            double sum = 0;
            for (int i = 0; i < x.Length; i++)
            {
                float e = MathF.Exp(x[i] - max);
                x[i] = e;
                sum += e;
            }
            float inv = (float)(1.0 / sum);
            for (int i = 0; i < x.Length; i++) x[i] *= inv;
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
