using System;
using System.Collections.Generic;
using System.Text;
using NpcSdk.Tensors;

namespace NpcSdk.Gguf
{
    /// <summary>
    /// Parses a GGUF header from memory with every count, length and offset checked against the bytes that are really there,
    /// so a hostile header can neither crash the reader nor make it allocate what it claims.
    /// </summary>
    internal sealed unsafe class GgufParser
    {
        internal const uint Magic = 0x46554747; // "GGUF" little-endian
        internal const int MaxDims = 4;
        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, false);

        /// <summary>Arrays with at least this many elements are read on demand (<see cref="GgufValue"/>), not kept.</summary>
        internal const int LazyArrayCount = 4096;

        private readonly byte* _base;
        private readonly long _length;
        private readonly string _source;
        private readonly GgufFile? _owner;
        private long _pos;

        private GgufParser(byte* data, long length, string source, GgufFile? owner)
        {
            _base = data;
            _length = length;
            _source = source;
            _owner = owner;
        }

        internal sealed class Result
        {
            public int Version;
            public readonly List<KeyValuePair<string, GgufValue>> Metadata = new List<KeyValuePair<string, GgufValue>>();
            public readonly List<GgufTensorInfo> Tensors = new List<GgufTensorInfo>();
            public long Alignment;
            public long DataOffset;
        }

        /// <summary>Parses a header; with an <paramref name="owner"/>, large arrays are read from its memory on demand.</summary>
        public static Result Parse(byte* data, long length, string source, GgufFile? owner = null)
        {
            return new GgufParser(data, length, source, owner).ParseAll();
        }

        private Result ParseAll()
        {
            var r = new Result();
            if (_length < 4) throw Error(0, $"file is {_length} bytes, too short for the GGUF magic");
            uint magic = U32();
            if (magic != Magic) throw Error(0, $"bad magic 0x{magic:X8}, expected 'GGUF'");
            long versionAt = _pos;
            uint version = U32();
            if (version == 1) throw Error(versionAt, "GGUF version 1 is not supported (32-bit counts); re-convert the model");
            if (version != 2 && version != 3) throw Error(versionAt, $"unsupported GGUF version {version} (supported: 2, 3)");
            r.Version = (int)version;

            long countsAt = _pos;
            ulong nTensors = U64();
            ulong nKv = U64();
            // Each tensor info takes at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes; each kv at least 8 + 4.
            if (nKv > (ulong)Remaining / 12)
                throw Error(countsAt, $"header claims {nKv} metadata entries but only {Remaining} bytes follow");
            if (nTensors > (ulong)Remaining / 24)
                throw Error(countsAt, $"header claims {nTensors} tensors but only {Remaining} bytes follow");

            var seenKeys = new HashSet<string>(StringComparer.Ordinal);
            for (ulong i = 0; i < nKv; i++)
            {
                long keyAt = _pos;
                string key = Str("metadata key");
                if (!seenKeys.Add(key)) throw Error(keyAt, $"duplicate metadata key '{key}'");
                long typeAt = _pos;
                var type = (GgufValueType)U32();
                GgufValue value = Value(type, typeAt, key, depth: 0);
                r.Metadata.Add(new KeyValuePair<string, GgufValue>(key, value));
            }

            r.Alignment = 32;
            foreach (var kv in r.Metadata)
            {
                if (kv.Key != "general.alignment") continue;
                if (!kv.Value.TryGetInt64(out long a) || a <= 0 || (a & (a - 1)) != 0 || a > (1 << 20))
                    throw Error(-1, $"metadata 'general.alignment' = {kv.Value} is not a power of two");
                r.Alignment = a;
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            for (ulong i = 0; i < nTensors; i++)
            {
                long infoAt = _pos;
                string name = Str("tensor name");
                if (!names.Add(name)) throw Error(infoAt, $"duplicate tensor '{name}'");
                uint nDims = U32();
                if (nDims == 0 || nDims > MaxDims) throw Error(infoAt, $"tensor '{name}' has {nDims} dimensions (1..{MaxDims} allowed)");
                var shape = new long[nDims];
                long elements = 1;
                for (int d = 0; d < nDims; d++)
                {
                    ulong dim = U64();
                    if (dim > long.MaxValue) throw Error(infoAt, $"tensor '{name}' dimension {d} = {dim} is out of range");
                    shape[d] = (long)dim;
                    if (dim != 0 && elements > long.MaxValue / (long)dim)
                        throw Error(infoAt, $"tensor '{name}' shape [{string.Join(", ", shape)}] overflows");
                    elements *= (long)dim;
                }
                long typeAt = _pos;
                uint typeId = U32();
                var type = (TensorType)typeId;
                if (!TensorTypeInfo.IsSupported(type))
                    throw Error(typeAt, $"tensor '{name}' has unknown or unsupported type id {typeId}");
                if (shape[0] % TensorTypeInfo.BlockSize(type) != 0)
                    throw Error(infoAt, $"tensor '{name}' row length {shape[0]} is not a multiple of {type}'s block size {TensorTypeInfo.BlockSize(type)}");
                ulong offset = U64();
                if (offset % (ulong)r.Alignment != 0)
                    throw Error(infoAt, $"tensor '{name}' data offset {offset} is not aligned to {r.Alignment}");
                long rows = shape[0] == 0 ? 0 : elements / shape[0];
                long rowBytes = TensorTypeInfo.RowBytes(type, shape[0]);
                if (rows != 0 && rowBytes > long.MaxValue / rows)
                    throw Error(infoAt, $"tensor '{name}' byte size overflows");
                if (offset > long.MaxValue) throw Error(infoAt, $"tensor '{name}' data offset {offset} is out of range");
                r.Tensors.Add(new GgufTensorInfo(name, type, shape, (long)offset, rowBytes * rows));
            }

            long dataOffset = AlignUp(_pos, r.Alignment);
            if (r.Tensors.Count > 0 && dataOffset > _length)
                throw Error(_pos, $"file ends before the tensor data section (needs {dataOffset} bytes, has {_length})");
            r.DataOffset = Math.Min(dataOffset, _length);
            long dataSize = _length - r.DataOffset;
            foreach (var t in r.Tensors)
            {
                if (t.Offset > dataSize || t.ByteSize > dataSize - t.Offset)
                    throw Error(r.DataOffset + t.Offset,
                        $"tensor '{t.Name}' ({t.Type}, {t.ByteSize} bytes at data offset {t.Offset}) extends past the end of the file ({dataSize} data bytes)");
            }
            return r;
        }

        private static long AlignUp(long x, long a) => (x + a - 1) / a * a;

        private long Remaining => _length - _pos;

        private GgufFormatException Error(long offset, string message)
        {
            string where = offset >= 0 ? $" at offset {offset}" : "";
            return new GgufFormatException($"{_source}: {message}{where}");
        }

        private void Need(long n, string what)
        {
            if (n < 0 || n > Remaining)
                throw Error(_pos, $"truncated: {what} needs {n} bytes but only {Remaining} remain");
        }

        private byte U8() { Need(1, "u8"); return _base[_pos++]; }

        private ushort U16() { Need(2, "u16"); ushort v = (ushort)(_base[_pos] | _base[_pos + 1] << 8); _pos += 2; return v; }

        private uint U32()
        {
            Need(4, "u32");
            byte* p = _base + _pos;
            _pos += 4;
            return (uint)(p[0] | p[1] << 8 | p[2] << 16 | p[3] << 24);
        }

        private ulong U64()
        {
            ulong lo = U32();
            ulong hi = U32();
            return lo | hi << 32;
        }

        private void SkipStr(string what)
        {
            int len = StrLength(what); // advances past the length field first: not `_pos += StrLength(...)`
            _pos += len;
        }

        private string Str(string what)
        {
            int len = StrLength(what);
            string s = Utf8.GetString(_base + _pos, len);
            _pos += len;
            return s;
        }

        /// <summary>Reads a string's length and checks that its bytes are there.</summary>
        private int StrLength(string what)
        {
            long at = _pos;
            ulong len = U64();
            if (len > (ulong)Remaining)
                throw Error(at, $"{what} claims {len} bytes but only {Remaining} remain");
            if (len > int.MaxValue) throw Error(at, $"{what} length {len} is too large");
            return (int)len;
        }

        private static int ScalarSize(GgufValueType t)
        {
            switch (t)
            {
                case GgufValueType.UInt8: case GgufValueType.Int8: case GgufValueType.Bool: return 1;
                case GgufValueType.UInt16: case GgufValueType.Int16: return 2;
                case GgufValueType.UInt32: case GgufValueType.Int32: case GgufValueType.Float32: return 4;
                case GgufValueType.UInt64: case GgufValueType.Int64: case GgufValueType.Float64: return 8;
                case GgufValueType.String: return 8; // at least its length
                case GgufValueType.Array: return 12; // at least type + count
                default: return -1;
            }
        }

        private GgufValue Value(GgufValueType type, long typeAt, string key, int depth)
        {
            switch (type)
            {
                case GgufValueType.UInt8: return new GgufValue(type, U8());
                case GgufValueType.Int8: return new GgufValue(type, (sbyte)U8());
                case GgufValueType.UInt16: return new GgufValue(type, U16());
                case GgufValueType.Int16: return new GgufValue(type, (short)U16());
                case GgufValueType.UInt32: return new GgufValue(type, U32());
                case GgufValueType.Int32: return new GgufValue(type, (int)U32());
                case GgufValueType.Float32: return new GgufValue(type, BitConverter.Int32BitsToSingle((int)U32()));
                case GgufValueType.Bool: return new GgufValue(type, U8() != 0);
                case GgufValueType.String: return new GgufValue(type, Str($"string value of '{key}'"));
                case GgufValueType.UInt64: return new GgufValue(type, U64());
                case GgufValueType.Int64: return new GgufValue(type, (long)U64());
                case GgufValueType.Float64: return new GgufValue(type, BitConverter.Int64BitsToDouble((long)U64()));
                case GgufValueType.Array: return Array(key, depth);
                default: throw Error(typeAt, $"metadata '{key}' has unknown value type {(uint)type}");
            }
        }

        private GgufValue Array(string key, int depth)
        {
            if (depth > 4) throw Error(_pos, $"metadata '{key}' nests arrays too deeply");
            long typeAt = _pos;
            var et = (GgufValueType)U32();
            int size = ScalarSize(et);
            if (size < 0) throw Error(typeAt, $"metadata '{key}' array has unknown element type {(uint)et}");
            long countAt = _pos;
            ulong count = U64();
            if (count > (ulong)Remaining / (ulong)size || count > int.MaxValue)
                throw Error(countAt, $"metadata '{key}' array claims {count} elements of {et} but only {Remaining} bytes remain");
            int n = (int)count;
            if (_owner != null && n >= LazyArrayCount && et != GgufValueType.Array)
            {
                // Checked now (lengths and bounds), decoded when asked for: the file stays mapped as long as its owner.
                long start = _pos;
                if (et == GgufValueType.String)
                {
                    for (int i = 0; i < n; i++) SkipStr($"element {i} of '{key}'");
                }
                else
                {
                    _pos += (long)n * size;
                }
                var owner = _owner;
                byte* data = _base;
                long length = _length;
                string source = _source;
                return new GgufValue(et, n, () =>
                {
                    owner.ThrowIfClosed();
                    var p = new GgufParser(data, length, source, null) { _pos = start };
                    return p.Elements(et, n, key, 0).Value;
                });
            }
            return Elements(et, n, key, depth);
        }

        private GgufValue Elements(GgufValueType et, int n, string key, int depth)
        {
            switch (et)
            {
                case GgufValueType.UInt8: { var a = new byte[n]; for (int i = 0; i < n; i++) a[i] = U8(); return new GgufValue(GgufValueType.Array, a, et); }
                case GgufValueType.Int8: { var a = new sbyte[n]; for (int i = 0; i < n; i++) a[i] = (sbyte)U8(); return new GgufValue(GgufValueType.Array, a, et); }
                case GgufValueType.Bool: { var a = new bool[n]; for (int i = 0; i < n; i++) a[i] = U8() != 0; return new GgufValue(GgufValueType.Array, a, et); }
                case GgufValueType.UInt16: { var a = new ushort[n]; for (int i = 0; i < n; i++) a[i] = U16(); return new GgufValue(GgufValueType.Array, a, et); }
                case GgufValueType.Int16: { var a = new short[n]; for (int i = 0; i < n; i++) a[i] = (short)U16(); return new GgufValue(GgufValueType.Array, a, et); }
                case GgufValueType.UInt32: { var a = new uint[n]; for (int i = 0; i < n; i++) a[i] = U32(); return new GgufValue(GgufValueType.Array, a, et); }
                case GgufValueType.Int32: { var a = new int[n]; for (int i = 0; i < n; i++) a[i] = (int)U32(); return new GgufValue(GgufValueType.Array, a, et); }
                case GgufValueType.Float32: { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = BitConverter.Int32BitsToSingle((int)U32()); return new GgufValue(GgufValueType.Array, a, et); }
                case GgufValueType.UInt64: { var a = new ulong[n]; for (int i = 0; i < n; i++) a[i] = U64(); return new GgufValue(GgufValueType.Array, a, et); }
                case GgufValueType.Int64: { var a = new long[n]; for (int i = 0; i < n; i++) a[i] = (long)U64(); return new GgufValue(GgufValueType.Array, a, et); }
                case GgufValueType.Float64: { var a = new double[n]; for (int i = 0; i < n; i++) a[i] = BitConverter.Int64BitsToDouble((long)U64()); return new GgufValue(GgufValueType.Array, a, et); }
                case GgufValueType.String: { var a = new string[n]; for (int i = 0; i < n; i++) a[i] = Str($"element {i} of '{key}'"); return new GgufValue(GgufValueType.Array, a, et); }
                default:
                {
                    var a = new GgufValue[n];
                    for (int i = 0; i < n; i++) a[i] = Array(key, depth + 1);
                    return new GgufValue(GgufValueType.Array, a, et);
                }
            }
        }
    }
}
