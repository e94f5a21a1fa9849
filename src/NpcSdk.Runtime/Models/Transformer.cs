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
        /// Lays out the weights the chosen kernels read faster another way: Q4_0 and Q4_K matrices in 8-row groups and
        /// Q5_0 ones in 4-row groups, for the managed kernels or a plugin that has them, long-rowed Q8_0 matrices in 4-row
        /// groups for the managed kernels. Returns the bytes laid out.
        /// </summary>
        public long PrepareWeights(NpcSdk.Compute.WorkerPool pool)
        {
            long bytes = 0;
            foreach (var w in Weights.Matrices())
            {
                if (Wanted(w) && w.TryInterleave(pool)) bytes += (long)w.Rows * w.RowBytes;
                // F16 weights without infinities or NaNs (all of a real model's) take the managed kernels' shorter widening.
                if (!UseNativeKernels) w.CheckFiniteHalves();
            }
            return bytes;
        }

        /// <summary>Whether <see cref="PrepareWeights"/> will lay out any matrix (which makes the weights resident at load).</summary>
        public bool PreparesWeights
        {
            get
            {
                foreach (var w in Weights.Matrices())
                    if (Wanted(w)) return true;
                return false;
            }
        }

        private bool Wanted(WeightMatrix w)
        {
            switch (w.Type)
            {
                case NpcSdk.Tensors.TensorType.Q4_0:
                    return NpcSdk.Tensors.Q4_0Interleaved.CanRepack(w.Rows, w.Cols) && (UseNativeKernels ? NpcSdk.Native.NativeKernels.SupportsQ4_0Interleaved : ManagedLayouts);
                case NpcSdk.Tensors.TensorType.Q4_K:
                    return NpcSdk.Tensors.Q4_KInterleaved.CanRepack(w.Rows, w.Cols) && (UseNativeKernels ? NpcSdk.Native.NativeKernels.SupportsQ4_KInterleaved : ManagedLayouts);
                case NpcSdk.Tensors.TensorType.Q8_0:
                    return NpcSdk.Tensors.Q8_0Interleaved.CanRepack(w.Rows, w.Cols) && !UseNativeKernels && ManagedLayouts;
                case NpcSdk.Tensors.TensorType.Q5_0:
                    return NpcSdk.Tensors.Q5_0Interleaved.CanRepack(w.Rows, w.Cols) && (UseNativeKernels ? NpcSdk.Native.NativeKernels.SupportsQ5_0Interleaved : ManagedLayouts);
                default:
                    return false;
            }
        }

        /// <summary>Whether the managed kernels for the interleaved layouts run here (AVX2 on .NET 10).</summary>
#if NET
        private static bool ManagedLayouts => NpcSdk.Tensors.Q4_0Interleaved.IsSupported;
#else
        private static bool ManagedLayouts => false;
#endif

        /// <summary>Frees what <see cref="PrepareWeights"/> made.</summary>
        public void FreeWeights()
        {
            foreach (var w in Weights.Matrices()) w.FreeInterleaved();
        }
    }
}
