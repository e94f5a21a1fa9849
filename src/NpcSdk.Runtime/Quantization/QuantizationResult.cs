using System;
using System.Collections.Generic;

namespace NpcSdk.Quantization
{
    /// <summary>What <see cref="ModelQuantizer.Quantize"/> wrote.</summary>
    public sealed class QuantizationResult
    {
        internal QuantizationResult(QuantizationMix mix, IReadOnlyList<TensorQuantization> tensors, long sourceFileBytes, long outputFileBytes, TimeSpan elapsed)
        {
            Mix = mix;
            Tensors = tensors;
            SourceFileBytes = sourceFileBytes;
            OutputFileBytes = outputFileBytes;
            Elapsed = elapsed;
        }

        /// <summary>The target mix.</summary>
        public QuantizationMix Mix { get; }

        /// <summary>Every tensor, in output order.</summary>
        public IReadOnlyList<TensorQuantization> Tensors { get; }

        /// <summary>Size of the input file.</summary>
        public long SourceFileBytes { get; }

        /// <summary>Size of the output file.</summary>
        public long OutputFileBytes { get; }

        /// <summary>Wall time.</summary>
        public TimeSpan Elapsed { get; }
    }
}
