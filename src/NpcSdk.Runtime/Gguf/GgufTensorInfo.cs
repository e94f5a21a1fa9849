using System;
using NpcSdk.Tensors;

namespace NpcSdk.Gguf
{
    /// <summary>A tensor's name, type, shape and place in a GGUF file.</summary>
    /// <remarks>Shape is in ggml order: <c>Shape[0]</c> is the contiguous row length.</remarks>
    public sealed class GgufTensorInfo
    {
        internal GgufTensorInfo(string name, TensorType type, long[] shape, long offset, long byteSize)
        {
            Name = name;
            Type = type;
            Shape = shape;
            Offset = offset;
            ByteSize = byteSize;
        }

        /// <summary>The tensor's name, e.g. <c>blk.0.attn_q.weight</c>.</summary>
        public string Name { get; }

        /// <summary>The storage type.</summary>
        public TensorType Type { get; }

        /// <summary>The dimensions, innermost (row length) first.</summary>
        public long[] Shape { get; }

        /// <summary>Offset of the data relative to the start of the data section.</summary>
        public long Offset { get; }

        /// <summary>Size of the data in bytes.</summary>
        public long ByteSize { get; }

        /// <summary>Number of elements.</summary>
        public long ElementCount
        {
            get
            {
                long n = 1;
                foreach (long d in Shape) n *= d;
                return n;
            }
        }

        /// <summary>Row length (<c>Shape[0]</c>).</summary>
        public long RowLength => Shape[0];

        /// <summary>Number of rows (product of the outer dimensions).</summary>
        public long RowCount => Shape[0] == 0 ? 0 : ElementCount / Shape[0];

        /// <inheritdoc/>
        public override string ToString() => $"{Name} {Type} [{string.Join(", ", Shape)}]";
    }
}
