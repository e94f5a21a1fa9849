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
    /// A context shift (<see cref="ShiftLeft"/>) is applied one layer at a time, when the layer is next touched, so its
    /// cost spreads over the slices of work that run those layers instead of landing in one.
    /// </summary>
    internal sealed class KvCache
    {
        public const int BlockSize = 16;
        private readonly byte[]?[][] _k, _v; // [layer][block]
        private KvCache? _shared;
        private readonly int _blockElements, _blockBytes;
        private readonly KvBlockPool? _pool;
        private PendingShift? _shift;
#if NET
        private bool _nonFinite; // an own F16 row checked by Note held an infinity or NaN (sticky until Clear)
#endif

        public KvCache(int layers, int capacity, int kvDim, int headDim, KvCacheType type, KvBlockPool? pool = null)
        {
            _pool = pool;
            if (type == KvCacheType.Q8_0 && headDim % 32 != 0)
                throw new ModelNotSupportedException($"a Q8_0 KV cache needs a head size that is a multiple of 32 (this model's is {headDim}); use F16");
            Layers = layers;
            Capacity = capacity;
            KvDim = kvDim;
            Type = type;
            ElementType = ElementTypeOf(type);
            RowBytes = (int)TensorTypeInfo.RowBytes(ElementType, kvDim);
            _blockElements = TensorTypeInfo.BlockSize(ElementType);
            _blockBytes = (int)TensorTypeInfo.RowBytes(ElementType, _blockElements);
            int blocks = (capacity + BlockSize - 1) / BlockSize;
            _k = new byte[]?[layers][];
            _v = new byte[]?[layers][];
            for (int l = 0; l < layers; l++)
            {
                _k[l] = new byte[blocks][];
                _v[l] = new byte[blocks][];
            }
        }

        /// <summary>How a cache of <paramref name="type"/> stores its elements.</summary>
        public static TensorType ElementTypeOf(KvCacheType type) =>
            type == KvCacheType.F32 ? TensorType.F32 : type == KvCacheType.F16 ? TensorType.F16 : TensorType.Q8_0;

        /// <summary>Bytes of one block (<see cref="BlockSize"/> positions of one layer's keys or values).</summary>
        public static int BlockBytes(KvCacheType type, int kvDim) => BlockSize * (int)TensorTypeInfo.RowBytes(ElementTypeOf(type), kvDim);

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
                CompleteShift();
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
            CompleteShift();
            _shared = shared;
            SharedLength = length;
        }

        public void Store(int layer, int pos, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
        {
            if (pos < SharedLength) throw new InvalidOperationException($"position {pos} belongs to the shared prefix");
            if (_shift != null) CompleteShift(layer);
            int b = pos / BlockSize, o = pos % BlockSize * RowBytes;
            var kb = _k[layer][b] ??= NewBlock();
            var vb = _v[layer][b] ??= NewBlock();
            Quantizer.QuantizeRow(ElementType, k, kb.AsSpan(o, RowBytes));
            Quantizer.QuantizeRow(ElementType, v, vb.AsSpan(o, RowBytes));
            Note(kb.AsSpan(o, RowBytes));
            Note(vb.AsSpan(o, RowBytes));
        }

        /// <summary>
        /// F16 keys and values (own and shared) known to hold no infinity or NaN, as <see cref="WeightMatrix.FiniteHalves"/>
        /// for weights: readers may then widen them with arithmetic exact for finite values only (half the instructions
        /// of the exact conversion). Rows are checked as they are stored, shifted or loaded, where that widening exists
        /// (.NET with AVX2); false otherwise, and for F32 and Q8_0 caches.
        /// </summary>
        public bool FiniteHalves
        {
            get
            {
#if NET
                return ElementType == TensorType.F16 && VecDotAvx2.IsSupported && !_nonFinite && (_shared == null || _shared.FiniteHalves);
#else
                return false;
#endif
            }
        }

        /// <summary>Copies a saved row (keys or values of every head) into own position <paramref name="pos"/>.</summary>
        public void LoadRow(int layer, int pos, bool keys, ReadOnlySpan<byte> row)
        {
            var dst = RawRow(layer, pos, keys);
            row.CopyTo(dst);
            Note(dst);
        }

        /// <summary>Marks the cache when <paramref name="row"/> (as stored) holds an F16 infinity or NaN (see <see cref="FiniteHalves"/>).</summary>
        private unsafe void Note(ReadOnlySpan<byte> row)
        {
#if NET
            if (_nonFinite || ElementType != TensorType.F16 || !VecDotAvx2.IsSupported) return;
            fixed (byte* p = row) _nonFinite = !VecDotAvx2.AllFiniteHalves((ushort*)p, row.Length / 2);
#endif
        }

        /// <summary>The stored bytes of elements [offset, offset + length) of the key at a position.</summary>
        public ReadOnlySpan<byte> KeyBytes(int layer, int pos, int offset, int length) => Slice(layer, pos, offset, length, keys: true);

        /// <summary>The stored bytes of elements [offset, offset + length) of the value at a position.</summary>
        public ReadOnlySpan<byte> ValueBytes(int layer, int pos, int offset, int length) => Slice(layer, pos, offset, length, keys: false);

        /// <summary>
        /// A zeroed block: one the model's sessions freed, or a new one. On .NET 5+ new blocks live on the pinned object
        /// heap: blocks live as long as their session, and on the normal heap every gen-0 collection would copy the ones
        /// made since the last, a pause of several milliseconds landing in some frame.
        /// </summary>
        private byte[] NewBlock()
        {
            return _pool?.Rent(BlockSize * RowBytes) ?? KvBlockPool.Allocate(BlockSize * RowBytes);
        }

        /// <summary>
        /// The stored rows (every head, <see cref="RowBytes"/> apart) of one layer's keys or values from
        /// <paramref name="pos"/> on, as far as they are contiguous: <paramref name="count"/> positions, up to the end of
        /// <paramref name="pos"/>'s block or of the shared prefix.
        /// </summary>
        public ReadOnlySpan<byte> Rows(int layer, int pos, bool keys, out int count)
        {
            if (pos < SharedLength)
            {
                var shared = _shared!.Rows(layer, pos, keys, out count);
                count = Math.Min(count, SharedLength - pos);
                return shared;
            }
            if (_shift != null) CompleteShift(layer);
            var block = (keys ? _k : _v)[layer][pos / BlockSize] ?? throw new InvalidOperationException($"KV position {pos} was never written");
            count = BlockSize - pos % BlockSize;
            return block.AsSpan(pos % BlockSize * RowBytes);
        }

        private ReadOnlySpan<byte> Slice(int layer, int pos, int offset, int length, bool keys)
        {
            // Called for every cached position of every head: element counts are whole blocks (head sizes), so the
            // byte offsets are plain products instead of TensorTypeInfo's checked lookups.
            return Rows(layer, pos, keys, out _).Slice(offset / _blockElements * _blockBytes, length / _blockElements * _blockBytes);
        }

        /// <summary>The raw row (keys or values of every head) of one own position, for saves.</summary>
        public Span<byte> RawRow(int layer, int pos, bool keys)
        {
            if (_shift != null) CompleteShift(layer);
            return OwnRow(layer, pos, keys);
        }

        private Span<byte> OwnRow(int layer, int pos, bool keys)
        {
            var store = keys ? _k : _v;
            int b = pos / BlockSize;
            var block = store[layer][b] ??= NewBlock();
            return block.AsSpan(pos % BlockSize * RowBytes, RowBytes);
        }

        /// <summary>
        /// Moves own positions [from, from + count) to [from − delta, ...): values are copied, keys re-rotated for their
        /// new positions by <paramref name="shift"/>; blocks left empty at the end are freed. Each layer is moved when it
        /// is next read or written (or by <see cref="CompleteShift(int)"/>); the results are the same either way.
        /// </summary>
        public void ShiftLeft(int from, int count, int delta, RopeShift shift)
        {
            if (delta <= 0 || from - delta < SharedLength) throw new ArgumentOutOfRangeException(nameof(delta));
            CompleteShift();
            _shift = new PendingShift(from, count, delta, shift, Layers);
        }

        /// <summary>Positions per layer still to move for a pending shift of <paramref name="layer"/> (0 when none).</summary>
        public int PendingShiftRows(int layer) => _shift != null && !_shift.Done[layer] ? _shift.Count : 0;

        /// <summary>Applies a pending shift to one layer.</summary>
        public void CompleteShift(int layer)
        {
            var s = _shift;
            if (s == null || s.Done[layer]) return;
            var row = new float[KvDim];
            for (int p = s.From; p < s.From + s.Count; p++)
            {
                Dequantizer.DequantizeRow(ElementType, OwnRow(layer, p, keys: true), row);
                s.Rope.Apply(row, s.Delta);
                Quantizer.QuantizeRow(ElementType, row, OwnRow(layer, p - s.Delta, keys: true));
                Note(OwnRow(layer, p - s.Delta, keys: true));
                OwnRow(layer, p, keys: false).CopyTo(OwnRow(layer, p - s.Delta, keys: false));
            }
            FreeBlocks(layer, s.From + s.Count - s.Delta);
            s.Done[layer] = true;
            if (--s.Remaining == 0) _shift = null;
        }

        private void CompleteShift()
        {
            for (int l = 0; _shift != null && l < Layers; l++) CompleteShift(l);
        }

        /// <summary>Frees whole blocks that lie entirely at or beyond <paramref name="length"/>.</summary>
        public void Truncate(int length)
        {
            CompleteShift();
            for (int l = 0; l < Layers; l++) FreeBlocks(l, length);
        }

        private void FreeBlocks(int layer, int length)
        {
            for (int b = (length + BlockSize - 1) / BlockSize; b < _k[layer].Length; b++)
            {
                if (_pool != null)
                {
                    if (_k[layer][b] is byte[] k) _pool.Return(k);
                    if (_v[layer][b] is byte[] v) _pool.Return(v);
                }
                _k[layer][b] = null;
                _v[layer][b] = null;
            }
        }

        /// <summary>Drops the shared prefix and every own block (the session starts over).</summary>
        public void Clear()
        {
            _shift = null;
            _shared = null;
            SharedLength = 0;
            Truncate(0);
#if NET
            _nonFinite = false;
#endif
        }

        /// <summary>A context shift not yet applied to every layer.</summary>
        private sealed class PendingShift
        {
            public PendingShift(int from, int count, int delta, RopeShift rope, int layers)
            {
                From = from; Count = count; Delta = delta; Rope = rope; Done = new bool[layers]; Remaining = layers;
            }

            public int From { get; }
            public int Count { get; }
            public int Delta { get; }
            public RopeShift Rope { get; }
            public bool[] Done { get; }
            public int Remaining { get; set; }
        }
    }

    /// <summary>
    /// KV blocks freed by one model's sessions (dropped turns, rewinds, resets), handed to the next session that needs
    /// one: steady play, where NPCs keep starting and trimming conversations, then allocates no memory and causes no
    /// collections. Holds at most a fixed number of bytes; blocks beyond that are left to the collector.
    /// </summary>
    internal sealed class KvBlockPool
    {
        private readonly Dictionary<int, Stack<byte[]>> _free = new Dictionary<int, Stack<byte[]>>();
        private long _maxBytes;
        private long _bytes;

        public KvBlockPool(long maxBytes)
        {
            _maxBytes = maxBytes;
        }

        /// <summary>Bytes held for reuse.</summary>
        public long Bytes
        {
            get { lock (_free) return _bytes; }
        }

        /// <summary>A new zeroed block (on .NET 5+ on the pinned object heap, see <see cref="KvCache"/>).</summary>
        public static byte[] Allocate(int size)
        {
#if NET
            return GC.AllocateArray<byte>(size, pinned: true);
#else
            return new byte[size];
#endif
        }

        /// <summary>A zeroed block of <paramref name="size"/> bytes, or null when none is free.</summary>
        public byte[]? Rent(int size)
        {
            byte[] block;
            lock (_free)
            {
                if (!_free.TryGetValue(size, out var stack) || stack.Count == 0) return null;
                block = stack.Pop();
                _bytes -= size;
            }
            Array.Clear(block, 0, block.Length);
            return block;
        }

        /// <summary>Adds <paramref name="count"/> new blocks of <paramref name="size"/> bytes, raising the cap to hold them.</summary>
        public long Reserve(int size, long count)
        {
            for (long i = 0; i < count; i++)
            {
                var block = Allocate(size);
                lock (_free)
                {
                    _maxBytes = Math.Max(_maxBytes, _bytes + size);
                    if (!_free.TryGetValue(size, out var stack)) _free[size] = stack = new Stack<byte[]>();
                    stack.Push(block);
                    _bytes += size;
                }
            }
            return count * size;
        }

        public void Return(byte[] block)
        {
            lock (_free)
            {
                if (_bytes + block.Length > _maxBytes) return;
                if (!_free.TryGetValue(block.Length, out var stack)) _free[block.Length] = stack = new Stack<byte[]>();
                stack.Push(block);
                _bytes += block.Length;
            }
        }
    }
}
