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
        /// Lays out the weights the chosen kernels read faster another way: Q4_0, Q4_K and Q5_0 matrices in 8-row groups,
        /// for the managed kernels or a plugin that has them, long-rowed Q8_0 matrices in 4-row
        /// groups for the managed kernels. Where 2 MiB pages are to be had (<paramref name="hugePages"/> and
        /// <see cref="NpcSdk.Native.WeightArena.HugePagesAvailable"/>), the other matrices of the matrix products are
        /// copied there too, out of the file mapping. Returns the bytes laid out or copied.
        /// </summary>
        public long PrepareWeights(NpcSdk.Compute.WorkerPool pool, bool hugePages = true)
        {
            bool copy = CopiesWeights(hugePages);
            long arenaBytes = 0;
            foreach (var w in Weights.Matrices())
            {
                if (Wanted(w)) arenaBytes += NpcSdk.Native.WeightArena.Footprint(w.InterleavedBytes);
                else if (copy && Copied(w)) arenaBytes += NpcSdk.Native.WeightArena.Footprint(w.Bytes);
            }
            _arena = new NpcSdk.Native.WeightArena(arenaBytes, hugePages);
            long bytes = 0;
            foreach (var w in Weights.Matrices())
            {
                if (Wanted(w) && w.TryInterleave(pool, _arena)) bytes += w.Bytes;
                else if (copy && Copied(w) && w.TryCopy(pool, _arena)) bytes += w.Bytes;
                // F16 weights without infinities or NaNs (all of a real model's) take the managed kernels' shorter widening.
                if (!UseNativeKernels) w.CheckFiniteHalves();
            }
            return bytes;
        }

        private NpcSdk.Native.WeightArena? _arena;

        /// <summary>Whether the weights <see cref="PrepareWeights"/> laid out or copied sit on 2 MiB pages.</summary>
        public bool WeightsOnHugePages => _arena?.HugePages == true;

        /// <summary>
        /// Whether the matrices not laid out again are copied onto 2 MiB pages: where those are to be had and the
        /// model's products read at least 8 MiB (below that, the weights sit in the caches and page walks hardly count).
        /// </summary>
        private bool CopiesWeights(bool hugePages)
        {
            if (!hugePages || !NpcSdk.Native.WeightArena.HugePagesAvailable) return false;
            long bytes = 0;
            foreach (var w in Weights.Matrices())
                if (InProducts(w)) bytes += w.Bytes;
            return bytes >= 8L << 20;
        }

        /// <summary>Whether <paramref name="w"/> is read by matrix products: not an untied embedding table, which only lookups read.</summary>
        private bool InProducts(WeightMatrix w) => w != Weights.TokenEmbedding || w == Weights.Output;

        /// <summary>A matrix of the products still in the file mapping.</summary>
        private bool Copied(WeightMatrix w) => w.Mapped && InProducts(w);

        /// <summary>Whether <see cref="PrepareWeights"/> will lay out or copy any matrix (which makes the weights resident at load).</summary>
        public bool PreparesWeights(bool hugePages)
        {
            foreach (var w in Weights.Matrices())
                if (Wanted(w)) return true;
            return CopiesWeights(hugePages);
        }

        /// <summary>Whether <paramref name="w"/> has an interleaved layout the chosen kernels read.</summary>
        private bool Wanted(WeightMatrix w)
        {
            if (!w.CanInterleave) return false;
            if (!UseNativeKernels) return ManagedLayouts;
            return w.Type switch
            {
                NpcSdk.Tensors.TensorType.Q4_0 => NpcSdk.Native.NativeKernels.SupportsQ4_0Interleaved,
                NpcSdk.Tensors.TensorType.Q4_K => NpcSdk.Native.NativeKernels.SupportsQ4_KInterleaved,
                NpcSdk.Tensors.TensorType.Q5_0 => NpcSdk.Native.NativeKernels.SupportsQ5_0Interleaved,
                _ => false, // Q8_0: the plugin reads it row-major
            };
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
            foreach (var w in Weights.Matrices()) w.ForgetArena();
            _arena?.Dispose();
            _arena = null;
        }
    }
}
