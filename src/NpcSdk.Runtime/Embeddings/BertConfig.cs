using System;
using NpcSdk.Gguf;
using NpcSdk.Models;

namespace NpcSdk.Embeddings
{
    /// <summary>How token states become one sentence vector (llama.cpp's <c>llama_pooling_type</c>, <c>bert.pooling_type</c>).</summary>
    internal enum PoolingType
    {
        /// <summary>Average of every token's state, [CLS] and [SEP] included (sentence-transformers' mean pooling).</summary>
        Mean = 1,

        /// <summary>The state of the first token, [CLS].</summary>
        Cls = 2,
    }

    /// <summary>Hyper-parameters of a BERT encoder, read from GGUF metadata (<c>bert.*</c> keys, as llama.cpp's converter writes them).</summary>
    internal sealed class BertConfig
    {
        public const string Architecture = "bert";

        /// <summary>Model width.</summary>
        public int Dim { get; private set; }

        /// <summary>Number of encoder blocks.</summary>
        public int LayerCount { get; private set; }

        /// <summary>Hidden size of the feed-forward network.</summary>
        public int FeedForwardDim { get; private set; }

        /// <summary>Attention heads.</summary>
        public int HeadCount { get; private set; }

        /// <summary>Width of one head.</summary>
        public int HeadDim => Dim / HeadCount;

        /// <summary>LayerNorm epsilon.</summary>
        public float LayerNormEpsilon { get; private set; }

        /// <summary>Longest input in tokens (rows of the position embedding table).</summary>
        public int ContextLength { get; private set; }

        /// <summary>Rows of the token embedding table.</summary>
        public int VocabSize { get; private set; }

        /// <summary>How token states are pooled into the sentence vector.</summary>
        public PoolingType Pooling { get; private set; }

        /// <summary>Reads and checks the configuration.</summary>
        /// <exception cref="ModelNotSupportedException">Not a <c>bert</c> file, causal attention, or an unsupported pooling type.</exception>
        /// <exception cref="GgufFormatException">Required metadata missing or inconsistent.</exception>
        public static BertConfig FromGguf(GgufFile file)
        {
            string? arch = file.GetString("general.architecture");
            if (arch != Architecture)
                throw new ModelNotSupportedException(
                    $"{file.Source}: architecture '{arch ?? "(missing general.architecture)"}' is not an embedding model this runtime runs; supported: {Architecture}");

            const string p = Architecture + ".";
            var c = new BertConfig
            {
                Dim = Positive(file, p + "embedding_length", file.GetInt64(p + "embedding_length")),
                LayerCount = Positive(file, p + "block_count", file.GetInt64(p + "block_count")),
                FeedForwardDim = Positive(file, p + "feed_forward_length", file.GetInt64(p + "feed_forward_length")),
                HeadCount = Positive(file, p + "attention.head_count", file.GetInt64(p + "attention.head_count")),
                LayerNormEpsilon = file.GetFloat(p + "attention.layer_norm_epsilon", 1e-12f),
                ContextLength = Positive(file, p + "context_length", file.GetInt64(p + "context_length", 512)),
            };
            if (c.Dim % c.HeadCount != 0)
                throw new GgufFormatException($"{file.Source}: embedding_length {c.Dim} is not a multiple of head_count {c.HeadCount}");
            if (file.GetBool(p + "attention.causal", false))
                throw new ModelNotSupportedException($"{file.Source}: {p}attention.causal is true; a BERT encoder attends both ways");

            long pooling = file.GetInt64(p + "pooling_type", (long)PoolingType.Mean);
            if (pooling != (long)PoolingType.Mean && pooling != (long)PoolingType.Cls)
                throw new ModelNotSupportedException($"{file.Source}: {p}pooling_type = {pooling} is not supported (supported: 1 mean, 2 cls)");
            c.Pooling = (PoolingType)pooling;

            var embd = file.GetTensor("token_embd.weight");
            if (embd.Shape.Length != 2 || embd.Shape[0] != c.Dim)
                throw new GgufFormatException($"{file.Source}: token_embd.weight has shape [{string.Join(", ", embd.Shape)}], expected [{c.Dim}, n_vocab]");
            c.VocabSize = checked((int)embd.Shape[1]);
            return c;
        }

        private static int Positive(GgufFile file, string key, long v)
        {
            if (v <= 0 || v > int.MaxValue) throw new GgufFormatException($"{file.Source}: metadata '{key}' = {v} is out of range");
            return (int)v;
        }
    }
}
