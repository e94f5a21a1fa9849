using System;
using NpcSdk.Tensors;

namespace NpcSdk.Models
{
    /// <summary>
    /// Keys and values of every layer for one session, position-major: row <c>p</c> of layer <c>l</c> holds the
    /// rotated keys (or values) of all KV heads for position <c>p</c>.
    /// </summary>
    internal sealed class KvCache
    {
        private readonly float[][]? _k32, _v32;
        private readonly ushort[][]? _k16, _v16;

        public KvCache(int layers, int capacity, int kvDim, KvCacheType type)
        {
            Layers = layers;
            Capacity = capacity;
            KvDim = kvDim;
            Type = type;
            long elements = (long)capacity * kvDim;
            if (type == KvCacheType.F32)
            {
                _k32 = new float[layers][];
                _v32 = new float[layers][];
                for (int l = 0; l < layers; l++) { _k32[l] = new float[elements]; _v32[l] = new float[elements]; }
            }
            else
            {
                _k16 = new ushort[layers][];
                _v16 = new ushort[layers][];
                for (int l = 0; l < layers; l++) { _k16[l] = new ushort[elements]; _v16[l] = new ushort[elements]; }
            }
        }

        public int Layers { get; }
        public int Capacity { get; }
        public int KvDim { get; }
        public KvCacheType Type { get; }

        /// <summary>Bytes held by the cache.</summary>
        public long ByteSize => (long)Layers * Capacity * KvDim * 2 * (Type == KvCacheType.F32 ? 4 : 2);

        public TensorType ElementType => Type == KvCacheType.F32 ? TensorType.F32 : TensorType.F16;

        public void Store(int layer, int pos, ReadOnlySpan<float> k, ReadOnlySpan<float> v)
        {
            int o = pos * KvDim;
            if (_k32 != null)
            {
                k.CopyTo(_k32[layer].AsSpan(o, KvDim));
                v.CopyTo(_v32![layer].AsSpan(o, KvDim));
            }
            else
            {
                var kd = _k16![layer].AsSpan(o, KvDim);
                var vd = _v16![layer].AsSpan(o, KvDim);
                for (int i = 0; i < KvDim; i++)
                {
                    kd[i] = Half16.FromFloat(k[i]);
                    vd[i] = Half16.FromFloat(v[i]);
                }
            }
        }

        /// <summary>The raw bytes (F32 or F16) of one head's key at a position.</summary>
        public ReadOnlySpan<byte> KeyBytes(int layer, int pos, int offset, int length) => Slice(_k32, _k16, layer, pos, offset, length);

        /// <summary>The raw bytes (F32 or F16) of one head's value at a position.</summary>
        public ReadOnlySpan<byte> ValueBytes(int layer, int pos, int offset, int length) => Slice(_v32, _v16, layer, pos, offset, length);

        private ReadOnlySpan<byte> Slice(float[][]? f32, ushort[][]? f16, int layer, int pos, int offset, int length)
        {
            int o = pos * KvDim + offset;
            if (f32 != null) return System.Runtime.InteropServices.MemoryMarshal.AsBytes(f32[layer].AsSpan(o, length));
            return System.Runtime.InteropServices.MemoryMarshal.AsBytes(f16![layer].AsSpan(o, length));
        }

        /// <summary>Moves positions [from, from + count) to [to, ...) in every layer (used when dropping old turns).</summary>
        public void Move(int from, int to, int count)
        {
            for (int l = 0; l < Layers; l++)
            {
                if (_k32 != null)
                {
                    Array.Copy(_k32[l], from * KvDim, _k32[l], to * KvDim, count * KvDim);
                    Array.Copy(_v32![l], from * KvDim, _v32[l], to * KvDim, count * KvDim);
                }
                else
                {
                    Array.Copy(_k16![l], from * KvDim, _k16[l], to * KvDim, count * KvDim);
                    Array.Copy(_v16![l], from * KvDim, _v16[l], to * KvDim, count * KvDim);
                }
            }
        }
    }
}
