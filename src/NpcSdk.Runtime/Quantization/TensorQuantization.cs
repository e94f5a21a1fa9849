using NpcSdk.Tensors;

namespace NpcSdk.Quantization
{
    /// <summary>What <see cref="ModelQuantizer"/> does with one tensor: its type before and after, and its size.</summary>
    public sealed class TensorQuantization
    {
        internal TensorQuantization(string name, long[] shape, TensorType sourceType, TensorType targetType, long sourceBytes, long targetBytes, bool fellBack)
        {
            Name = name;
            Shape = shape;
            SourceType = sourceType;
            TargetType = targetType;
            SourceBytes = sourceBytes;
            TargetBytes = targetBytes;
            FellBack = fellBack;
        }

        /// <summary>The tensor's name.</summary>
        public string Name { get; }

        /// <summary>Its shape as written, row length first (trailing 1s dropped, as ggml writes).</summary>
        public long[] Shape { get; }

        /// <summary>Its type in the source file.</summary>
        public TensorType SourceType { get; }

        /// <summary>Its type in the output file.</summary>
        public TensorType TargetType { get; }

        /// <summary>Bytes in the source file.</summary>
        public long SourceBytes { get; }

        /// <summary>Bytes in the output file (without alignment padding).</summary>
        public long TargetBytes { get; }

        /// <summary>The mix's type did not fit the row length (e.g. a K-quant on 896-wide rows) and a fallback type was used.</summary>
        public bool FellBack { get; }

        /// <summary>True when the data is converted; false when it is copied unchanged.</summary>
        public bool IsConverted => SourceType != TargetType;

        /// <inheritdoc/>
        public override string ToString() => $"{Name} {SourceType} -> {TargetType} [{string.Join(", ", Shape)}]";
    }
}
