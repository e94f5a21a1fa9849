namespace NpcSdk.Quantization
{
    /// <summary>How far <see cref="ModelQuantizer.Quantize"/> has come.</summary>
    public sealed class QuantizationProgress
    {
        internal QuantizationProgress(int tensorIndex, int tensorCount, TensorQuantization tensor, long bytesWritten, long totalBytes)
        {
            TensorIndex = tensorIndex;
            TensorCount = tensorCount;
            Tensor = tensor;
            BytesWritten = bytesWritten;
            TotalBytes = totalBytes;
        }

        /// <summary>Index of the tensor being written (0-based, in output order).</summary>
        public int TensorIndex { get; }

        /// <summary>Tensors in the model.</summary>
        public int TensorCount { get; }

        /// <summary>The tensor being written.</summary>
        public TensorQuantization Tensor { get; }

        /// <summary>Tensor data bytes written so far, over all tensors.</summary>
        public long BytesWritten { get; }

        /// <summary>Tensor data bytes of the whole output.</summary>
        public long TotalBytes { get; }
    }
}
