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
        /// the managed kernels or a plugin that has them. Returns the bytes laid out.
        /// </summary>
        public long PrepareWeights(NpcSdk.Compute.WorkerPool pool)
        {
            bool q4_0, q4_k;
            if (UseNativeKernels)
            {
                q4_0 = NpcSdk.Native.NativeKernels.SupportsQ4_0Interleaved;
                q4_k = NpcSdk.Native.NativeKernels.SupportsQ4_KInterleaved;
            }
            else
            {
#if NET
                q4_0 = q4_k = NpcSdk.Tensors.Q4_0Interleaved.IsSupported;
#else
                q4_0 = q4_k = false;
#endif
            }
            long bytes = 0;
            foreach (var w in Weights.Matrices())
            {
                if ((w.Type == NpcSdk.Tensors.TensorType.Q4_0 && q4_0) || (w.Type == NpcSdk.Tensors.TensorType.Q4_K && q4_k))
                    if (w.TryInterleave(pool)) bytes += (long)w.Rows * w.RowBytes;
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
