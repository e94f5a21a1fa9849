using System;
using NpcSdk.Gguf;

namespace NpcSdk.Models
{
    /// <summary>Hyper-parameters of a decoder model, read from GGUF metadata (<c>{arch}.*</c> keys).</summary>
    public sealed class ModelConfig
    {
        /// <summary>The architecture.</summary>
        public ModelArchitecture Architecture { get; private set; } = ModelArchitecture.Llama;
        /// <summary>Training context length.</summary>
        public int ContextLength { get; private set; }
        /// <summary>Model width (embedding length).</summary>
        public int Dim { get; private set; }
        /// <summary>Number of transformer blocks.</summary>
        public int LayerCount { get; private set; }
        /// <summary>Hidden size of the feed-forward network.</summary>
        public int FeedForwardDim { get; private set; }
        /// <summary>Attention heads for queries.</summary>
        public int HeadCount { get; private set; }
        /// <summary>Attention heads for keys and values (GQA when smaller than <see cref="HeadCount"/>).</summary>
        public int KvHeadCount { get; private set; }
        /// <summary>Width of one head.</summary>
        public int HeadDim { get; private set; }
        /// <summary>RMSNorm epsilon.</summary>
        public float RmsEpsilon { get; private set; }
        /// <summary>RoPE frequency base.</summary>
        public float RopeFreqBase { get; private set; }
        /// <summary>RoPE position scale (1 / linear scaling factor).</summary>
        public float RopeFreqScale { get; private set; }
        /// <summary>Number of rotated dimensions per head.</summary>
        public int RopeDim { get; private set; }
        /// <summary>Vocabulary size (rows of the embedding table).</summary>
        public int VocabSize { get; private set; }

        /// <summary>Width of all query heads together.</summary>
        public int QueryDim => HeadCount * HeadDim;
        /// <summary>Width of all key (or value) heads together.</summary>
        public int KvDim => KvHeadCount * HeadDim;

        /// <summary>Reads the configuration from a GGUF file.</summary>
        /// <exception cref="ModelNotSupportedException">Unknown architecture or unsupported feature.</exception>
        /// <exception cref="GgufFormatException">Required metadata missing or inconsistent.</exception>
        public static ModelConfig FromGguf(GgufFile file)
        {
            var arch = ModelArchitecture.FromName(file.GetString("general.architecture"), file.Source);
            string p = arch.Name + ".";
            var c = new ModelConfig { Architecture = arch };
            c.Dim = Positive(file, p + "embedding_length", file.GetInt64(p + "embedding_length"));
            c.LayerCount = Positive(file, p + "block_count", file.GetInt64(p + "block_count"));
            c.FeedForwardDim = Positive(file, p + "feed_forward_length", file.GetInt64(p + "feed_forward_length"));
            c.HeadCount = Positive(file, p + "attention.head_count", file.GetInt64(p + "attention.head_count"));
            c.KvHeadCount = Positive(file, p + "attention.head_count_kv", file.GetInt64(p + "attention.head_count_kv", c.HeadCount));
            c.ContextLength = Positive(file, p + "context_length", file.GetInt64(p + "context_length", 2048));
            if (c.Dim % c.HeadCount != 0)
                throw new GgufFormatException($"{file.Source}: embedding_length {c.Dim} is not a multiple of head_count {c.HeadCount}");
            if (c.HeadCount % c.KvHeadCount != 0)
                throw new GgufFormatException($"{file.Source}: head_count {c.HeadCount} is not a multiple of head_count_kv {c.KvHeadCount}");
            c.HeadDim = Positive(file, p + "attention.key_length", file.GetInt64(p + "attention.key_length", c.Dim / c.HeadCount));
            long valueLength = file.GetInt64(p + "attention.value_length", c.HeadDim);
            if (valueLength != c.HeadDim)
                throw new ModelNotSupportedException($"{file.Source}: key_length {c.HeadDim} != value_length {valueLength} is not supported");
            c.RmsEpsilon = file.GetFloat(p + "attention.layer_norm_rms_epsilon", 1e-5f);
            c.RopeFreqBase = file.GetFloat(p + "rope.freq_base", 10000f);
            c.RopeDim = Positive(file, p + "rope.dimension_count", file.GetInt64(p + "rope.dimension_count", c.HeadDim));
            if (c.RopeDim > c.HeadDim || c.RopeDim % 2 != 0)
                throw new GgufFormatException($"{file.Source}: rope.dimension_count {c.RopeDim} must be even and at most the head size {c.HeadDim}");

            float scale = 1f;
            string? scalingType = file.GetString(p + "rope.scaling.type");
            float factor = file.GetFloat(p + "rope.scaling.factor", file.GetFloat(p + "rope.scale_linear", 0f));
            if (scalingType == null || scalingType == "linear" || scalingType == "none")
            {
                if (scalingType != "none" && factor > 0f) scale = 1f / factor;
            }
            else
            {
                throw new ModelNotSupportedException($"{file.Source}: rope scaling '{scalingType}' is not supported (supported: none, linear)");
            }
            c.RopeFreqScale = scale;

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
