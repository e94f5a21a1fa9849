using System;

namespace NpcSdk.Quantization
{
    /// <summary>Options of <see cref="ModelQuantizer.Quantize"/>.</summary>
    public sealed class QuantizationOptions
    {
        /// <summary>Threads converting rows (default: every core). The output does not depend on it.</summary>
        public int Threads { get; set; } = Environment.ProcessorCount;

        /// <summary>
        /// Allow converting tensors that are already block-quantized (dequantized first, losing precision twice).
        /// Off by default, as in llama-quantize (<c>--allow-requantize</c>).
        /// </summary>
        public bool AllowRequantize { get; set; }

        /// <summary>Called on the writing thread as tensor data is written.</summary>
        public Action<QuantizationProgress>? Progress { get; set; }
    }
}
