using System;

namespace NpcSdk.Embeddings
{
    /// <summary>Token states to one unit-length sentence vector, as llama.cpp's <c>build_pooling</c> and <c>common_embd_normalize(…, 2)</c>.</summary>
    internal static class SentencePooling
    {
        /// <summary>Pools <paramref name="tokens"/> rows of <paramref name="hidden"/> into <paramref name="output"/>, then scales it to length 1.</summary>
        public static void Pool(ReadOnlySpan<float> hidden, int tokens, PoolingType pooling, Span<float> output)
        {
            int dim = output.Length;
            if (pooling == PoolingType.Cls)
            {
                hidden.Slice(0, dim).CopyTo(output);
            }
            else
            {
                // llama.cpp multiplies the states by a column of 1/n: sum over tokens of x·(1/n).
                float inverse = 1.0f / tokens;
                for (int d = 0; d < dim; d++)
                {
                    double sum = 0;
                    for (int t = 0; t < tokens; t++) sum += hidden[t * dim + d] * inverse;
                    output[d] = (float)sum;
                }
            }
            NormalizeL2(output);
        }

        /// <summary>v /= |v| (sum of squares in double); a zero vector stays zero.</summary>
        public static void NormalizeL2(Span<float> v)
        {
            double sum = 0;
            for (int i = 0; i < v.Length; i++) sum += v[i] * v[i];
            sum = Math.Sqrt(sum);
            float scale = sum > 0.0 ? (float)(1.0 / sum) : 0.0f;
            for (int i = 0; i < v.Length; i++) v[i] *= scale;
        }
    }
}
