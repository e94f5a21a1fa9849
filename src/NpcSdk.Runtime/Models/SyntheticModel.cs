using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NpcSdk.Gguf;
using NpcSdk.Tensors;

namespace NpcSdk.Models
{
    /// <summary>The shape of a model to synthesise for benchmarks.</summary>
    public sealed class SyntheticShape
    {
        /// <summary>Name used on the command line (<c>llama-110m</c>).</summary>
        public string Name { get; set; } = "";
        /// <summary>Architecture.</summary>
        public ModelArchitecture Architecture { get; set; } = ModelArchitecture.Llama;
        /// <summary>Model width.</summary>
        public int Dim { get; set; }
        /// <summary>Blocks.</summary>
        public int Layers { get; set; }
        /// <summary>Query heads.</summary>
        public int Heads { get; set; }
        /// <summary>Key/value heads.</summary>
        public int KvHeads { get; set; }
        /// <summary>Feed-forward width.</summary>
        public int FeedForward { get; set; }
        /// <summary>Vocabulary size.</summary>
        public int Vocab { get; set; }
        /// <summary>Output projection shares the embedding table.</summary>
        public bool Tied { get; set; }
        /// <summary>Training context length.</summary>
        public int Context { get; set; } = 2048;

        /// <summary>The shapes of ../shared/bench/BASELINE.md and the bundled NPC model.</summary>
        public static IReadOnlyList<SyntheticShape> Known { get; } = new[]
        {
            new SyntheticShape { Name = "npc-14m", Dim = 384, Layers = 8, Heads = 6, KvHeads = 2, FeedForward = 1024, Vocab = 4096, Tied = true, Context = 512 },
            // llama-110m: BASELINE.md calls its output untied, but its file sizes (209.6 MiB F16 = 110M parameters) and type
            // mixes ("the tied token_embd/output Q6_K") are those of a tied one, so that is what the comparison needs.
            new SyntheticShape { Name = "llama-110m", Dim = 768, Layers = 12, Heads = 12, KvHeads = 12, FeedForward = 2048, Vocab = 32000, Tied = true },
            new SyntheticShape { Name = "qwen2-0.5b", Architecture = ModelArchitecture.Qwen2, Dim = 896, Layers = 24, Heads = 14, KvHeads = 2, FeedForward = 4864, Vocab = 151936, Tied = true },
            new SyntheticShape { Name = "llama3.2-1b", Dim = 2048, Layers = 16, Heads = 32, KvHeads = 8, FeedForward = 8192, Vocab = 128256, Tied = true },
        };

        /// <summary>Finds a known shape by name.</summary>
        public static SyntheticShape Find(string name) =>
            Known.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"unknown shape '{name}'; known: {string.Join(", ", Known.Select(s => s.Name))}");
    }

    /// <summary>
    /// Writes random-weight GGUF models of a given shape and type mix (the mixes llama-quantize writes, see
    /// ../shared/bench/BASELINE.md), for speed measurements: "how fast would a 1B model be on this machine?".
    /// </summary>
    public static class SyntheticModel
    {
        /// <summary>Type mixes understood by <see cref="Write"/>.</summary>
        public static IReadOnlyList<string> Mixes { get; } = new[] { "F16", "Q8_0", "Q4_0", "Q4_K_M" };

        /// <summary>Writes the model to <paramref name="path"/>.</summary>
        public static void Write(string path, SyntheticShape shape, string mix, int seed = 1)
        {
            if (!Mixes.Contains(mix, StringComparer.OrdinalIgnoreCase)) throw new ArgumentException($"unknown type mix '{mix}'; known: {string.Join(", ", Mixes)}");
            mix = Mixes.First(m => string.Equals(m, mix, StringComparison.OrdinalIgnoreCase));
            string arch = shape.Architecture.Name;
            int headDim = shape.Dim / shape.Heads;
            var w = new GgufWriter();
            w.Set("general.architecture", GgufValue.Of(arch));
            w.Set("general.name", GgufValue.Of($"synthetic-{shape.Name}-{mix}"));
            w.Set(arch + ".context_length", GgufValue.Of((uint)shape.Context));
            w.Set(arch + ".embedding_length", GgufValue.Of((uint)shape.Dim));
            w.Set(arch + ".block_count", GgufValue.Of((uint)shape.Layers));
            w.Set(arch + ".feed_forward_length", GgufValue.Of((uint)shape.FeedForward));
            w.Set(arch + ".attention.head_count", GgufValue.Of((uint)shape.Heads));
            w.Set(arch + ".attention.head_count_kv", GgufValue.Of((uint)shape.KvHeads));
            w.Set(arch + ".rope.dimension_count", GgufValue.Of((uint)headDim));
            w.Set(arch + ".rope.freq_base", GgufValue.Of(arch == "qwen2" ? 1e6f : 10000f));
            w.Set(arch + ".attention.layer_norm_rms_epsilon", GgufValue.Of(1e-5f));
            AddVocabulary(w, shape.Vocab);

            var rng = new Random(seed);
            bool qwen = shape.Architecture == ModelArchitecture.Qwen2;
            // K-quants need rows of whole 256-element super-blocks; llama-quantize falls back to Q8_0 otherwise.
            bool superBlocks = shape.Dim % 256 == 0;
            TensorType Embedding() => mix switch
            {
                "F16" => TensorType.F16,
                "Q8_0" => TensorType.Q8_0,
                _ => qwen || !superBlocks ? TensorType.Q8_0 : (shape.Tied || mix == "Q4_K_M" ? TensorType.Q6_K : TensorType.Q4_0),
            };
            bool MoreBits(int i) => i < shape.Layers / 8 || i >= 7 * shape.Layers / 8 || (i - shape.Layers / 8) % 3 == 2;
            TensorType Layer(string kind, int i, int cols)
            {
                switch (mix)
                {
                    case "F16": return TensorType.F16;
                    case "Q8_0": return TensorType.Q8_0;
                    case "Q4_0": return TensorType.Q4_0;
                    default:
                        bool kOk = cols % 256 == 0;
                        if (kind == "attn_v") return MoreBits(i) ? (kOk ? TensorType.Q6_K : TensorType.Q8_0) : (kOk ? TensorType.Q4_K : TensorType.Q5_0);
                        if (kind == "ffn_down") return MoreBits(i) ? (kOk ? TensorType.Q6_K : TensorType.Q8_0) : (kOk ? TensorType.Q4_K : TensorType.Q5_0);
                        return kOk ? TensorType.Q4_K : TensorType.Q5_0;
                }
            }
            void Matrix(string name, TensorType type, int cols, int rows) => w.AddTensor(name, type, new long[] { cols, rows }, s => WriteRows(s, type, cols, rows, rng));
            void Vector(string name, int n, float value) => w.AddTensor(name, TensorType.F32, new long[] { n }, s => WriteConstant(s, n, value));

            Matrix("token_embd.weight", Embedding(), shape.Dim, shape.Vocab);
            Vector("output_norm.weight", shape.Dim, 1f);
            if (!shape.Tied) Matrix("output.weight", mix == "F16" ? TensorType.F16 : mix == "Q8_0" || !superBlocks ? TensorType.Q8_0 : TensorType.Q6_K, shape.Dim, shape.Vocab);
            int kvDim = shape.KvHeads * headDim;
            for (int i = 0; i < shape.Layers; i++)
            {
                string p = $"blk.{i}.";
                Vector(p + "attn_norm.weight", shape.Dim, 1f);
                Matrix(p + "attn_q.weight", Layer("attn_q", i, shape.Dim), shape.Dim, shape.Dim);
                Matrix(p + "attn_k.weight", Layer("attn_k", i, shape.Dim), shape.Dim, kvDim);
                Matrix(p + "attn_v.weight", Layer("attn_v", i, shape.Dim), shape.Dim, kvDim);
                if (qwen)
                {
                    Vector(p + "attn_q.bias", shape.Dim, 0f);
                    Vector(p + "attn_k.bias", kvDim, 0f);
                    Vector(p + "attn_v.bias", kvDim, 0f);
                }
                Matrix(p + "attn_output.weight", Layer("attn_output", i, shape.Dim), shape.Dim, shape.Dim);
                Vector(p + "ffn_norm.weight", shape.Dim, 1f);
                Matrix(p + "ffn_gate.weight", Layer("ffn_gate", i, shape.Dim), shape.Dim, shape.FeedForward);
                Matrix(p + "ffn_up.weight", Layer("ffn_up", i, shape.Dim), shape.Dim, shape.FeedForward);
                Matrix(p + "ffn_down.weight", Layer("ffn_down", i, shape.FeedForward), shape.FeedForward, shape.Dim);
            }
            w.WriteTo(path);
        }

        /// <summary>A SentencePiece-style vocabulary: unk, BOS, EOS, 256 byte tokens, then filler pieces.</summary>
        private static void AddVocabulary(GgufWriter w, int size)
        {
            var tokens = new string[size];
            var scores = new float[size];
            var types = new int[size];
            tokens[0] = "<unk>"; types[0] = 2;
            tokens[1] = "<s>"; types[1] = 3;
            tokens[2] = "</s>"; types[2] = 3;
            for (int b = 0; b < 256; b++) { tokens[3 + b] = $"<0x{b:X2}>"; types[3 + b] = 6; }
            for (int i = 259; i < size; i++) { tokens[i] = "\u2581t" + i.ToString(System.Globalization.CultureInfo.InvariantCulture); types[i] = 1; scores[i] = -i; }
            w.Set("tokenizer.ggml.model", GgufValue.Of("llama"));
            w.Set("tokenizer.ggml.tokens", GgufValue.Of(tokens));
            w.Set("tokenizer.ggml.scores", GgufValue.Of(scores));
            w.Set("tokenizer.ggml.token_type", GgufValue.Of(types));
            w.Set("tokenizer.ggml.bos_token_id", GgufValue.Of(1u));
            w.Set("tokenizer.ggml.eos_token_id", GgufValue.Of(2u));
        }

        private static void WriteConstant(Stream s, int n, float value)
        {
            var bytes = new byte[n * 4];
            for (int i = 0; i < n; i++) BitConverter.GetBytes(value).CopyTo(bytes, i * 4);
            s.Write(bytes, 0, bytes.Length);
        }

        /// <summary>Rows of random N(0, 0.02)-like weights: 16 distinct quantized rows repeated (speed does not depend on the values).</summary>
        private static void WriteRows(Stream s, TensorType type, int cols, int rows, Random rng)
        {
            int rowBytes = (int)TensorTypeInfo.RowBytes(type, cols);
            const int distinct = 16;
            var block = new byte[distinct * rowBytes];
            var f = new float[cols];
            for (int r = 0; r < distinct; r++)
            {
                for (int i = 0; i < cols; i++) f[i] = (float)((rng.NextDouble() * 2 - 1) * 0.035);
                Quantizer.QuantizeRowReference(type, f, block.AsSpan(r * rowBytes, rowBytes));
            }
            for (int r = 0; r < rows; r += distinct)
            {
                int n = Math.Min(distinct, rows - r);
                s.Write(block, 0, n * rowBytes);
            }
        }
    }
}
