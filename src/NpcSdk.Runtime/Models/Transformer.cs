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
        /// Lays out the weights the chosen kernels read faster another way: Q4_0 and Q4_K matrices in 8-row groups, for
        /// the managed kernels or a plugin that has them, and long-rowed Q8_0 matrices in 4-row groups for the managed
        /// kernels. Returns the bytes laid out.
        /// </summary>
        public long PrepareWeights(NpcSdk.Compute.WorkerPool pool)
        {
            bool q4_0, q4_k, q8_0;
            if (UseNativeKernels)
            {
                q4_0 = NpcSdk.Native.NativeKernels.SupportsQ4_0Interleaved;
                q4_k = NpcSdk.Native.NativeKernels.SupportsQ4_KInterleaved;
                q8_0 = false;
            }
            else
            {
#if NET
                q4_0 = q4_k = q8_0 = NpcSdk.Tensors.Q4_0Interleaved.IsSupported;
#else
                q4_0 = q4_k = q8_0 = false;
#endif
            }
            long bytes = 0;
            foreach (var w in Weights.Matrices())
            {
                bool wanted = w.Type switch
                {
                    NpcSdk.Tensors.TensorType.Q4_0 => q4_0,
                    NpcSdk.Tensors.TensorType.Q4_K => q4_k,
                    NpcSdk.Tensors.TensorType.Q8_0 => q8_0,
                    _ => false,
                };
                if (wanted && w.TryInterleave(pool)) bytes += (long)w.Rows * w.RowBytes;
            }
            return bytes;
        }

        /// <summary>Frees what <see cref="PrepareWeights"/> made.</summary>
        public void FreeWeights()
        {
            foreach (var w in Weights.Matrices()) w.FreeInterleaved();
        }
    }
}
