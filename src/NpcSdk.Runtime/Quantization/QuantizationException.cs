using System;

namespace NpcSdk.Quantization
{
    /// <summary>A model cannot be quantized as asked: the message names the tensor (and row) involved.</summary>
    public sealed class QuantizationException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public QuantizationException(string message) : base(message) { }
    }
}
