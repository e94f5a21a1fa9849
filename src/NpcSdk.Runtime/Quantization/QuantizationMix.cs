using System;
using System.Collections.Generic;
using System.Linq;
using NpcSdk.Tensors;

namespace NpcSdk.Quantization
{
    /// <summary>
    /// A target of <see cref="ModelQuantizer"/>: what llama-quantize calls a file type (<c>llama_ftype</c>), e.g.
    /// <c>Q4_K_M</c>. It names a default tensor type; the per-tensor rules (<see cref="QuantizationRules"/>) then give
    /// some tensors more bits, and <see cref="FileType"/> is written as <c>general.file_type</c>.
    /// </summary>
    public sealed class QuantizationMix
    {
        private QuantizationMix(string name, int fileType, TensorType defaultType, string description)
        {
            Name = name;
            FileType = fileType;
            DefaultType = defaultType;
            Description = description;
        }

        /// <summary>The name on the command line, as llama-quantize spells it (<c>Q4_K_M</c>).</summary>
        public string Name { get; }

        /// <summary>llama.cpp's <c>llama_ftype</c> value, written as <c>general.file_type</c>.</summary>
        public int FileType { get; }

        /// <summary>The type of every weight matrix the rules do not single out (<c>llama_ftype_get_default_type</c>).</summary>
        public TensorType DefaultType { get; }

        /// <summary>One line for help texts.</summary>
        public string Description { get; }

        /// <summary>True when the default type is a block quantization (so the per-tensor rules and fallbacks apply).</summary>
        public bool IsQuantized => TensorTypeInfo.IsQuantized(DefaultType);

        /// <summary>Every mix this runtime writes, in llama-quantize's order of <c>llama_ftype</c> values.</summary>
        public static IReadOnlyList<QuantizationMix> All { get; } = new[]
        {
            new QuantizationMix("F32", 0, TensorType.F32, "32-bit float"),
            new QuantizationMix("F16", 1, TensorType.F16, "16-bit float"),
            new QuantizationMix("Q4_0", 2, TensorType.Q4_0, "4.5 bits per weight, legacy; output Q6_K"),
            new QuantizationMix("Q4_1", 3, TensorType.Q4_1, "5.0 bits per weight, legacy; output Q6_K"),
            new QuantizationMix("Q8_0", 7, TensorType.Q8_0, "8.5 bits per weight, near lossless"),
            new QuantizationMix("Q5_0", 8, TensorType.Q5_0, "5.5 bits per weight, legacy; output Q6_K"),
            new QuantizationMix("Q5_1", 9, TensorType.Q5_1, "6.0 bits per weight, legacy; output Q6_K"),
            new QuantizationMix("Q2_K", 10, TensorType.Q2_K, "Q2_K, attn_v Q3_K/Q4_K, ffn_down and attn_output Q3_K"),
            new QuantizationMix("Q3_K_S", 11, TensorType.Q3_K, "Q3_K throughout"),
            new QuantizationMix("Q3_K_M", 12, TensorType.Q3_K, "Q3_K, attn_v Q5_K/Q4_K, ffn_down and attn_output Q4_K"),
            new QuantizationMix("Q3_K_L", 13, TensorType.Q3_K, "Q3_K, attn_v, ffn_down and attn_output Q5_K"),
            new QuantizationMix("Q4_K_S", 14, TensorType.Q4_K, "Q4_K, first layers' attn_v and ffn_down Q5_K"),
            new QuantizationMix("Q4_K_M", 15, TensorType.Q4_K, "Q4_K, half of attn_v and ffn_down Q6_K (recommended)"),
            new QuantizationMix("Q5_K_S", 16, TensorType.Q5_K, "Q5_K throughout"),
            new QuantizationMix("Q5_K_M", 17, TensorType.Q5_K, "Q5_K, half of attn_v and ffn_down Q6_K"),
            new QuantizationMix("Q6_K", 18, TensorType.Q6_K, "Q6_K throughout"),
            new QuantizationMix("BF16", 32, TensorType.BF16, "bfloat16"),
        };

        /// <summary>Finds a mix by name (case-insensitive).</summary>
        /// <exception cref="ArgumentException">No mix has that name; the message lists the known ones.</exception>
        public static QuantizationMix Parse(string name)
        {
            if (name == null) throw new ArgumentNullException(nameof(name));
            return All.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException($"unknown quantization type '{name}'; known: {string.Join(", ", All.Select(m => m.Name))}", nameof(name));
        }

        /// <inheritdoc/>
        public override string ToString() => Name;
    }
}
