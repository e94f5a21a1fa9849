using System;
using NpcSdk.Tensors;

namespace NpcSdk.Embeddings
{
    /// <summary>
    /// GELU as ggml-cpu computes <c>ggml_gelu</c> on floats (<c>GGML_GELU_FP16</c>, the default build): the tanh
    /// approximation 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²))), looked up in a table over every half-precision
    /// input and rounded to half; x ≤ −10 gives 0 and x ≥ 10 gives x.
    /// </summary>
    /// <remarks>The table costs 256 KB and a few milliseconds once; it matches llama.cpp to the bit, where evaluating the
    /// formula in float would differ from it by up to half a half-precision step.</remarks>
    internal static class Gelu
    {
        private const float CoefA = 0.044715f;
        private const float SqrtTwoOverPi = 0.79788456080286535587989211986876f;

        private static readonly float[] Table = BuildTable();

        /// <summary>x = gelu(x), in place.</summary>
        public static void Apply(Span<float> x)
        {
            float[] table = Table;
            for (int i = 0; i < x.Length; i++)
            {
                float v = x[i];
                if (v <= -10.0f) x[i] = 0.0f;
                else if (v >= 10.0f) x[i] = v;
                else x[i] = table[Half16.FromFloat(v)];
            }
        }

        /// <summary>
        /// The formula in float (ggml's <c>ggml_gelu_f32</c>) as GCC compiles it for the table: 1 + A·x·x contracted to one FMA.
        /// </summary>
        public static float Formula(float x) => 0.5f * x * (1.0f + MathF.Tanh(SqrtTwoOverPi * x * ScalarFma.Compute(CoefA * x, x, 1.0f)));

        private static float[] BuildTable()
        {
            var table = new float[1 << 16];
            for (int i = 0; i < table.Length; i++)
                table[i] = Half16.ToFloat(Half16.FromFloat(Formula(Half16.ToFloat((ushort)i))));
            return table;
        }
    }
}
