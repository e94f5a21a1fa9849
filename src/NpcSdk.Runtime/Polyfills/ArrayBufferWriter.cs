#if NETSTANDARD2_0
using System;
using System.Buffers;

namespace NpcSdk
{
    /// <summary>System.Buffers.ArrayBufferWriter for netstandard2.0: a growable array that an <see cref="IBufferWriter{T}"/> fills.</summary>
    internal sealed class ArrayBufferWriter<T> : IBufferWriter<T>
    {
        private T[] _buffer = new T[256];
        private int _count;

        /// <summary>What has been written so far.</summary>
        public ReadOnlySpan<T> WrittenSpan => _buffer.AsSpan(0, _count);

        public void Advance(int count)
        {
            if (count < 0 || _count + count > _buffer.Length) throw new ArgumentOutOfRangeException(nameof(count));
            _count += count;
        }

        public Memory<T> GetMemory(int sizeHint = 0)
        {
            Reserve(sizeHint);
            return _buffer.AsMemory(_count);
        }

        public Span<T> GetSpan(int sizeHint = 0)
        {
            Reserve(sizeHint);
            return _buffer.AsSpan(_count);
        }

        private void Reserve(int sizeHint)
        {
            int need = Math.Max(sizeHint, 1);
            if (_buffer.Length - _count >= need) return;
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _count + need));
        }
    }
}
#endif
