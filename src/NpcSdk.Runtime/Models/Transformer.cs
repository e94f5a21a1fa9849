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

        /// <summary>
        /// Lays out the weights the chosen kernels read faster another way: Q4_0 matrices for the managed 8-row kernels.
        /// Returns the bytes laid out.
        /// </summary>
        public long PrepareWeights(NpcSdk.Compute.WorkerPool pool)
        {
            long bytes = 0;
#if NET
            if (UseNativeKernels || !NpcSdk.Tensors.Q4_0Interleaved.IsSupported) return 0;
            foreach (var w in Weights.Matrices())
                if (w.TryInterleave(pool)) bytes += (long)w.Rows * w.RowBytes;
#endif
            return bytes;
        }

        /// <summary>Frees what <see cref="PrepareWeights"/> made.</summary>
        public void FreeWeights()
        {
            foreach (var w in Weights.Matrices()) w.FreeInterleaved();
        }
    }
}
