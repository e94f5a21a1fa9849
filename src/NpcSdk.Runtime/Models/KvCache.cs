using System;
using System.Collections.Generic;
using NpcSdk.Tensors;

namespace NpcSdk.Models
{
    /// <summary>
    /// Keys and values of every layer for one session, stored in blocks of <see cref="BlockSize"/> positions that are
    /// allocated as positions are first written, so memory follows the tokens actually held, not the context length.
    /// Positions below <see cref="SharedLength"/> are read from a shared, read-only prefix cache (a persona prompt
    /// prefilled once for many NPCs) and take no memory here.
    /// </summary>
    internal sealed class KvCache
    {
        public const int BlockSize = 16;
        private readonly byte[]?[][] _k, _v; // [layer][block]
        private KvCache? _shared;

        public KvCache(int layers, int capacity, int kvDim, int headDim, KvCacheType type)
        {
            if (type == KvCacheType.Q8_0 && headDim % 32 != 0)
                throw new ModelNotSupportedException($"a Q8_0 KV cache needs a head size that is a multiple of 32 (this model's is {headDim}); use F16");
            Layers = layers;
            Capacity = capacity;
            KvDim = kvDim;
            Type = type;
            ElementType = type == KvCacheType.F32 ? TensorType.F32 : type == KvCacheType.F16 ? TensorType.F16 : TensorType.Q8_0;
            RowBytes = (int)TensorTypeInfo.RowBytes(ElementType, kvDim);
            int blocks = (capacity + BlockSize - 1) / BlockSize;
            _k = new byte[]?[layers][];
            _v = new byte[]?[layers][];
            for (int l = 0; l < layers; l++)
            {
                _k[l] = new byte[blocks][];
                _v[l] = new byte[blocks][];
            }
        }

        public int Layers { get; }
        public int Capacity { get; }
        public int KvDim { get; }
        public KvCacheType Type { get; }
        public TensorType ElementType { get; }

        /// <summary>Bytes of one position's keys (or values) of one layer.</summary>
        public int RowBytes { get; }

        /// <summary>Positions served by the shared prefix cache.</summary>
        public int SharedLength { get; private set; }

        /// <summary>Bytes this cache allocated (the shared prefix not included).</summary>
        public long ByteSize
        {
            get
            {
                long n = 0;
                for (int l = 0; l < Layers; l++)
                    foreach (var b in _k[l]) if (b != null) n += 2L * b.Length;
                return n;
            }
        }

        /// <summary>Serves positions [0, length) from <paramref name="shared"/>; this cache must not hold them.</summary>
        public void AttachShared(KvCache shared, int length)
        {
            if (shared.ElementType != ElementType || shared.KvDim != KvDim || shared.Layers != Layers)
                throw new ArgumentException("shared prefix cache has another layout", nameof(shared));
            if (length > Capacity) throw new ArgumentOutOfRangeException(nameof(length));
            _shared = shared;
            SharedLength = length;
        }

        public void Store(int layer, int pos, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
        {
            if (pos < SharedLength) throw new InvalidOperationException($"position {pos} belongs to the shared prefix");
            int b = pos / BlockSize, o = pos % BlockSize * RowBytes;
            var kb = _k[layer][b] ??= new byte[BlockSize * RowBytes];
            var vb = _v[layer][b] ??= new byte[BlockSize * RowBytes];
            Quantizer.QuantizeRow(ElementType, k, kb.AsSpan(o, RowBytes));
            Quantizer.QuantizeRow(ElementType, v, vb.AsSpan(o, RowBytes));
        }

        /// <summary>The stored bytes of elements [offset, offset + length) of the key at a position.</summary>
        public ReadOnlySpan<byte> KeyBytes(int layer, int pos, int offset, int length) => Slice(_k, layer, pos, offset, length, keys: true);

        /// <summary>The stored bytes of elements [offset, offset + length) of the value at a position.</summary>
        public ReadOnlySpan<byte> ValueBytes(int layer, int pos, int offset, int length) => Slice(_v, layer, pos, offset, length, keys: false);

        private ReadOnlySpan<byte> Slice(byte[]?[][] store, int layer, int pos, int offset, int length, bool keys)
        {
            if (pos < SharedLength) return keys ? _shared!.KeyBytes(layer, pos, offset, length) : _shared!.ValueBytes(layer, pos, offset, length);
            var block = store[layer][pos / BlockSize] ?? throw new InvalidOperationException($"KV position {pos} was never written");
            int start = pos % BlockSize * RowBytes + (int)TensorTypeInfo.RowBytes(ElementType, offset);
            return block.AsSpan(start, (int)TensorTypeInfo.RowBytes(ElementType, length));
        }

        /// <summary>The raw row (keys or values of every head) of one own position, for saves.</summary>
        public Span<byte> RawRow(int layer, int pos, bool keys)
        {
            var store = keys ? _k : _v;
            int b = pos / BlockSize;
            var block = store[layer][b] ??= new byte[BlockSize * RowBytes];
            return block.AsSpan(pos % BlockSize * RowBytes, RowBytes);
        }

        /// <summary>
        /// Moves own positions [from, from + count) to [from − delta, ...): values are copied, keys re-rotated for their
        /// new positions by <paramref name="shift"/>. Blocks left empty at the end are freed.
        /// </summary>
        public void ShiftLeft(int from, int count, int delta, RopeShift shift)
        {
            if (delta <= 0 || from - delta < SharedLength) throw new ArgumentOutOfRangeException(nameof(delta));
            var row = new float[KvDim];
            for (int l = 0; l < Layers; l++)
            {
                for (int p = from; p < from + count; p++)
                {
                    Dequantizer.DequantizeRow(ElementType, RawRow(l, p, keys: true), row);
                    shift.Apply(row, delta);
                    Quantizer.QuantizeRow(ElementType, row, RawRow(l, p - delta, keys: true));
                    RawRow(l, p, keys: false).CopyTo(RawRow(l, p - delta, keys: false));
                }
            }
            Truncate(from + count - delta);
        }

        /// <summary>Frees whole blocks that lie entirely at or beyond <paramref name="length"/>.</summary>
        public void Truncate(int length)
        {
            int firstFree = (length + BlockSize - 1) / BlockSize;
            for (int l = 0; l < Layers; l++)
                for (int b = firstFree; b < _k[l].Length; b++)
                {
                    _k[l][b] = null;
                    _v[l][b] = null;
                }
        }

        /// <summary>Drops the shared prefix and every own block (the session starts over).</summary>
        public void Clear()
        {
            _shared = null;
            SharedLength = 0;
            Truncate(0);
        }
    }
}
