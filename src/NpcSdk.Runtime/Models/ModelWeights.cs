using NpcSdk.Gguf;

namespace NpcSdk.Models
{
    /// <summary>The weights of one transformer block.</summary>
    internal sealed class LayerWeights
    {
        public float[] AttnNorm = null!;
        public WeightMatrix Wq = null!, Wk = null!, Wv = null!, Wo = null!;
        public float[]? Bq, Bk, Bv;
        public float[] FfnNorm = null!;
        public WeightMatrix Gate = null!, Up = null!, Down = null!;
    }

    /// <summary>All weights of a decoder, named as llama.cpp's converters write them (llama-arch.cpp's table).</summary>
    internal sealed class ModelWeights
    {
        public WeightMatrix TokenEmbedding = null!;
        public LayerWeights[] Layers = null!;
        public float[] OutputNorm = null!;
        public WeightMatrix Output = null!;

        /// <summary>Every weight matrix once (a tied output is the embedding table).</summary>
        public System.Collections.Generic.IEnumerable<WeightMatrix> Matrices()
        {
            yield return TokenEmbedding;
            if (Output != TokenEmbedding) yield return Output;
            foreach (var l in Layers)
            {
                yield return l.Wq;
                yield return l.Wk;
                yield return l.Wv;
                yield return l.Wo;
                yield return l.Gate;
                yield return l.Up;
                yield return l.Down;
            }
        }

        public static ModelWeights Load(GgufFile f, ModelConfig c)
        {
            var w = new ModelWeights
            {
                TokenEmbedding = WeightMatrix.From(f, "token_embd.weight", c.Dim, c.VocabSize),
                OutputNorm = WeightVector.From(f, "output_norm.weight", c.Dim),
                Layers = new LayerWeights[c.LayerCount],
            };
            // Tied embeddings: no output.weight, the embedding table doubles as the output projection.
            w.Output = f.FindTensor("output.weight") != null
                ? WeightMatrix.From(f, "output.weight", c.Dim, c.VocabSize)
                : w.TokenEmbedding;
            for (int i = 0; i < c.LayerCount; i++)
            {
                string p = $"blk.{i}.";
                var l = new LayerWeights
                {
                    AttnNorm = WeightVector.From(f, p + "attn_norm.weight", c.Dim),
                    Wq = WeightMatrix.From(f, p + "attn_q.weight", c.Dim, c.QueryDim),
                    Wk = WeightMatrix.From(f, p + "attn_k.weight", c.Dim, c.KvDim),
                    Wv = WeightMatrix.From(f, p + "attn_v.weight", c.Dim, c.KvDim),
                    Wo = WeightMatrix.From(f, p + "attn_output.weight", c.QueryDim, c.Dim),
                    FfnNorm = WeightVector.From(f, p + "ffn_norm.weight", c.Dim),
                    Gate = WeightMatrix.From(f, p + "ffn_gate.weight", c.Dim, c.FeedForwardDim),
                    Up = WeightMatrix.From(f, p + "ffn_up.weight", c.Dim, c.FeedForwardDim),
                    Down = WeightMatrix.From(f, p + "ffn_down.weight", c.FeedForwardDim, c.Dim),
                };
                if (c.Architecture.HasQkvBias)
                {
                    l.Bq = WeightVector.From(f, p + "attn_q.bias", c.QueryDim);
                    l.Bk = WeightVector.From(f, p + "attn_k.bias", c.KvDim);
                    l.Bv = WeightVector.From(f, p + "attn_v.bias", c.KvDim);
                }
                w.Layers[i] = l;
            }
            return w;
        }
    }
}
