using NpcSdk.Gguf;
using NpcSdk.Models;

namespace NpcSdk.Embeddings
{
    /// <summary>A LayerNorm's scale and shift.</summary>
    internal sealed class NormWeights
    {
        public NormWeights(float[] weight, float[] bias)
        {
            Weight = weight;
            Bias = bias;
        }

        public float[] Weight { get; }
        public float[] Bias { get; }

        public static NormWeights From(GgufFile f, string name, int dim) =>
            new NormWeights(WeightVector.From(f, name + ".weight", dim), WeightVector.From(f, name + ".bias", dim));
    }

    /// <summary>The weights of one encoder block (post-norm: attention, add and norm, feed-forward, add and norm).</summary>
    internal sealed class BertLayerWeights
    {
        public WeightMatrix Wq = null!, Wk = null!, Wv = null!, Wo = null!;
        public float[] Bq = null!, Bk = null!, Bv = null!, Bo = null!;
        public NormWeights AttentionOutputNorm = null!;
        public WeightMatrix Up = null!, Down = null!;
        public float[] BUp = null!, BDown = null!;
        public NormWeights OutputNorm = null!;
    }

    /// <summary>All weights of a BERT encoder, named as llama.cpp's converter writes them (llama-arch.cpp, LLM_ARCH_BERT).</summary>
    internal sealed class BertWeights
    {
        public WeightMatrix TokenEmbedding = null!;
        public WeightMatrix PositionEmbedding = null!;

        /// <summary>Row 0 of <c>token_types.weight</c> ("sentence A", all llama.cpp uses), or null when the file has none.</summary>
        public float[]? TokenType0;

        public NormWeights EmbeddingNorm = null!;
        public BertLayerWeights[] Layers = null!;

        /// <exception cref="GgufFormatException">A tensor is missing or has the wrong shape.</exception>
        public static BertWeights Load(GgufFile f, BertConfig c)
        {
            int d = c.Dim, ff = c.FeedForwardDim;
            var w = new BertWeights
            {
                TokenEmbedding = WeightMatrix.From(f, "token_embd.weight", d, c.VocabSize),
                PositionEmbedding = WeightMatrix.From(f, "position_embd.weight", d, c.ContextLength),
                EmbeddingNorm = NormWeights.From(f, "token_embd_norm", d),
                Layers = new BertLayerWeights[c.LayerCount],
            };
            var types = f.FindTensor("token_types.weight");
            if (types != null)
            {
                if (types.Shape[0] != d)
                    throw new GgufFormatException($"{f.Source}: tensor 'token_types.weight' has shape [{string.Join(", ", types.Shape)}], expected [{d}, n_token_types]");
                w.TokenType0 = new float[d];
                var table = WeightMatrix.From(f, "token_types.weight", d, checked((int)types.RowCount));
                Tensors.Dequantizer.DequantizeRow(table.Type, table.RowSpan(0, 1), w.TokenType0);
            }

            for (int i = 0; i < c.LayerCount; i++)
            {
                string p = $"blk.{i}.";
                w.Layers[i] = new BertLayerWeights
                {
                    Wq = WeightMatrix.From(f, p + "attn_q.weight", d, d),
                    Bq = WeightVector.From(f, p + "attn_q.bias", d),
                    Wk = WeightMatrix.From(f, p + "attn_k.weight", d, d),
                    Bk = WeightVector.From(f, p + "attn_k.bias", d),
                    Wv = WeightMatrix.From(f, p + "attn_v.weight", d, d),
                    Bv = WeightVector.From(f, p + "attn_v.bias", d),
                    Wo = WeightMatrix.From(f, p + "attn_output.weight", d, d),
                    Bo = WeightVector.From(f, p + "attn_output.bias", d),
                    AttentionOutputNorm = NormWeights.From(f, p + "attn_output_norm", d),
                    Up = WeightMatrix.From(f, p + "ffn_up.weight", d, ff),
                    BUp = WeightVector.From(f, p + "ffn_up.bias", ff),
                    Down = WeightMatrix.From(f, p + "ffn_down.weight", ff, d),
                    BDown = WeightVector.From(f, p + "ffn_down.bias", d),
                    OutputNorm = NormWeights.From(f, p + "layer_output_norm", d),
                };
            }
            return w;
        }
    }
}
