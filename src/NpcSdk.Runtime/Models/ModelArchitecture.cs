using System;
using System.Collections.Generic;
using System.Linq;

namespace NpcSdk.Models
{
    /// <summary>How rotary position embeddings pair the dimensions of a head.</summary>
    public enum RopeStyle
    {
        /// <summary>Adjacent pairs (x[2i], x[2i+1]), llama.cpp's LLAMA_ROPE_TYPE_NORM.</summary>
        Normal,
        /// <summary>Halves (x[i], x[i + n/2]), GPT-NeoX style, llama.cpp's LLAMA_ROPE_TYPE_NEOX.</summary>
        Neox,
    }

    /// <summary>
    /// What distinguishes one decoder architecture from another: data, not code. One generic forward pass reads this.
    /// </summary>
    public sealed class ModelArchitecture
    {
        private ModelArchitecture(string name, RopeStyle rope, bool qkvBias)
        {
            Name = name;
            Rope = rope;
            HasQkvBias = qkvBias;
        }

        /// <summary>The GGUF <c>general.architecture</c> name.</summary>
        public string Name { get; }

        /// <summary>RoPE pairing.</summary>
        public RopeStyle Rope { get; }

        /// <summary>Whether the q/k/v projections have biases (required when true).</summary>
        public bool HasQkvBias { get; }

        /// <summary>Llama 2/3, TinyLlama, SmolLM, Mistral-style models.</summary>
        public static ModelArchitecture Llama { get; } = new ModelArchitecture("llama", RopeStyle.Normal, qkvBias: false);

        /// <summary>Qwen2 / Qwen2.5: NEOX rope and q/k/v biases.</summary>
        public static ModelArchitecture Qwen2 { get; } = new ModelArchitecture("qwen2", RopeStyle.Neox, qkvBias: true);

        /// <summary>Every architecture this runtime runs.</summary>
        public static IReadOnlyList<ModelArchitecture> Supported { get; } = new[] { Llama, Qwen2 };

        /// <summary>Looks an architecture up by its GGUF name.</summary>
        /// <exception cref="ModelNotSupportedException">The name is not supported; the message lists the supported ones.</exception>
        public static ModelArchitecture FromName(string? name, string source)
        {
            var arch = Supported.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.Ordinal));
            if (arch != null) return arch;
            throw new ModelNotSupportedException(
                $"{source}: architecture '{name ?? "(missing general.architecture)"}' is not supported; supported: {string.Join(", ", Supported.Select(a => a.Name))}");
        }

        /// <inheritdoc/>
        public override string ToString() => Name;
    }
}
