using System;

namespace NpcSdk.Embeddings
{
    /// <summary>
    /// LayerNorm with scale and shift, in the steps and precision of llama.cpp's <c>build_norm(LLM_NORM)</c> on ggml-cpu:
    /// <c>ggml_norm</c> (mean summed in double, centred squares summed in groups of 8 floats into a double), then
    /// <c>ggml_mul</c> by the weight and <c>ggml_add</c> of the bias, each rounded to float.
    /// </summary>
    internal static class LayerNorm
    {
        /// <summary>y = (x − mean) / √(var + eps) · weight + bias; <paramref name="y"/> may be <paramref name="x"/>.</summary>
        public static void Apply(ReadOnlySpan<float> x, NormWeights w, float eps, Span<float> y)
        {
            int n = x.Length;
            double sum = 0;
            for (int i = 0; i < n; i++) sum += x[i];
            float mean = (float)sum / n;

            double squares = 0;
            int k = 0;
            // ggml_vec_cvar_f32 (AVX2): each group of 8 squares is reduced in float, lanes folded 8 → 4 → 2 → 1.
            for (; k + 7 < n; k += 8)
            {
                float s0 = Centre(x, y, k, mean), s1 = Centre(x, y, k + 1, mean), s2 = Centre(x, y, k + 2, mean), s3 = Centre(x, y, k + 3, mean);
                float s4 = Centre(x, y, k + 4, mean), s5 = Centre(x, y, k + 5, mean), s6 = Centre(x, y, k + 6, mean), s7 = Centre(x, y, k + 7, mean);
                float a0 = s4 + s0, a1 = s5 + s1, a2 = s6 + s2, a3 = s7 + s3;
                squares += (a0 + a2) + (a1 + a3);
            }
            for (; k < n; k++) squares += Centre(x, y, k, mean);
            float variance = (float)(squares / n);

            float scale = 1.0f / MathF.Sqrt(variance + eps);
            float[] weight = w.Weight, bias = w.Bias;
            for (int i = 0; i < n; i++)
            {
                float v = y[i] * scale;
                v *= weight[i];
                y[i] = v + bias[i];
            }
        }

        /// <summary>Stores x[i] − mean in y[i] and returns its square.</summary>
        private static float Centre(ReadOnlySpan<float> x, Span<float> y, int i, float mean)
        {
            float v = x[i] - mean;
            y[i] = v;
            return v * v;
        }
    }
}
