using System;
using NpcSdk.Gguf;

namespace NpcSdk.Models
{
    /// <summary>A decoder-only transformer: configuration plus weights mapped from a GGUF file. Shared read-only by every session.</summary>
    internal sealed class Transformer
    {
        public Transformer(GgufFile file)
        {
            Config = ModelConfig.FromGguf(file);
            Weights = ModelWeights.Load(file, Config);
        }

        public ModelConfig Config { get; }

        /// <summary>Matrix products go to the native plugin instead of the managed kernels.</summary>
        public bool UseNativeKernels { get; set; }
        public ModelWeights Weights { get; }
    }
}
