using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using NpcSdk.Tensors;

namespace NpcSdk.Gguf
{
    /// <summary>Writes GGUF v3 files: metadata, then tensor infos, then aligned tensor data.</summary>
    public sealed class GgufWriter
    {
        private readonly List<KeyValuePair<string, GgufValue>> _metadata = new List<KeyValuePair<string, GgufValue>>();
        private readonly List<PendingTensor> _tensors = new List<PendingTensor>();
        private readonly HashSet<string> _tensorNames = new HashSet<string>(StringComparer.Ordinal);

        private sealed class PendingTensor
        {
            public PendingTensor(string name, TensorType type, long[] shape, long byteSize, Action<Stream> write)
            {
                Name = name; Type = type; Shape = shape; ByteSize = byteSize; Write = write;
            }
            public string Name { get; }
            public TensorType Type { get; }
            public long[] Shape { get; }
            public long ByteSize { get; }
            public Action<Stream> Write { get; }
        }

        /// <summary>Tensor data alignment (default 32; written as <c>general.alignment</c> when not 32).</summary>
        public int Alignment { get; set; } = 32;

        /// <summary>Sets a metadata value, replacing an earlier one with the same key.</summary>
        public GgufWriter Set(string key, GgufValue value)
        {
            int i = _metadata.FindIndex(kv => kv.Key == key);
            var entry = new KeyValuePair<string, GgufValue>(key, value);
            if (i >= 0) _metadata[i] = entry; else _metadata.Add(entry);
            return this;
        }

        /// <summary>Copies every metadata entry of another file.</summary>
        public GgufWriter CopyMetadata(GgufFile source)
        {
            foreach (var kv in source.MetadataEntries)
                if (kv.Key != "general.alignment") Set(kv.Key, kv.Value);
            return this;
        }

        /// <summary>Adds a tensor whose bytes are given.</summary>
        public GgufWriter AddTensor(string name, TensorType type, long[] shape, byte[] data)
        {
            return AddTensor(name, type, shape, s => s.Write(data, 0, data.Length), data.LongLength);
        }

        /// <summary>Adds a tensor whose bytes are produced by <paramref name="write"/> when the file is written.</summary>
        public GgufWriter AddTensor(string name, TensorType type, long[] shape, Action<Stream> write, long? byteSize = null)
        {
            if (shape.Length == 0 || shape.Length > GgufParser.MaxDims) throw new ArgumentException("1 to 4 dimensions", nameof(shape));
            if (!_tensorNames.Add(name)) throw new ArgumentException($"duplicate tensor '{name}'", nameof(name));
            long elements = 1;
            foreach (long d in shape) elements *= d;
            long size = TensorTypeInfo.RowBytes(type, shape[0]) * (shape[0] == 0 ? 0 : elements / shape[0]);
            if (byteSize.HasValue && byteSize.Value != size)
                throw new ArgumentException($"tensor '{name}': {byteSize} bytes given, {type} [{string.Join(", ", shape)}] needs {size}");
            _tensors.Add(new PendingTensor(name, type, (long[])shape.Clone(), size, write));
            return this;
        }

        /// <summary>Writes the file to a stream.</summary>
        public void WriteTo(Stream stream)
        {
            var w = new BinaryWriter(stream, new UTF8Encoding(false), leaveOpen: true);
            var metadata = new List<KeyValuePair<string, GgufValue>>(_metadata);
            if (Alignment != 32) metadata.Add(new KeyValuePair<string, GgufValue>("general.alignment", GgufValue.Of((uint)Alignment)));
            w.Write(GgufParser.Magic);
            w.Write(3u);
            w.Write((ulong)_tensors.Count);
            w.Write((ulong)metadata.Count);
            foreach (var kv in metadata)
            {
                WriteString(w, kv.Key);
                w.Write((uint)kv.Value.Type);
                WriteValue(w, kv.Value);
            }
            long offset = 0;
            var offsets = new long[_tensors.Count];
            for (int i = 0; i < _tensors.Count; i++)
            {
                var t = _tensors[i];
                WriteString(w, t.Name);
                w.Write((uint)t.Shape.Length);
                foreach (long d in t.Shape) w.Write((ulong)d);
                w.Write((uint)t.Type);
                w.Write((ulong)offset);
                offsets[i] = offset;
                offset = AlignUp(offset + t.ByteSize, Alignment);
            }
            w.Flush();
            long pos = stream.Position;
            Pad(stream, AlignUp(pos, Alignment) - pos);
            long dataStart = stream.Position;
            for (int i = 0; i < _tensors.Count; i++)
            {
                var t = _tensors[i];
                long before = stream.Position;
                t.Write(stream);
                long written = stream.Position - before;
                if (written != t.ByteSize)
                    throw new InvalidOperationException($"tensor '{t.Name}': writer produced {written} bytes, expected {t.ByteSize}");
                long end = stream.Position - dataStart;
                Pad(stream, AlignUp(end, Alignment) - end);
            }
            stream.Flush();
        }

        /// <summary>Writes the file to a path (via a temporary file, then renamed into place).</summary>
        public void WriteTo(string path)
        {
            string tmp = path + ".tmp";
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                WriteTo(fs);
                fs.Flush(true);
            }
            if (File.Exists(path)) File.Delete(path);
            File.Move(tmp, path);
        }

        private static long AlignUp(long x, long a) => (x + a - 1) / a * a;

        private static void Pad(Stream s, long n)
        {
            for (long i = 0; i < n; i++) s.WriteByte(0);
        }

        private static void WriteString(BinaryWriter w, string s)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(s);
            w.Write((ulong)bytes.Length);
            w.Write(bytes);
        }

        private static void WriteValue(BinaryWriter w, GgufValue v)
        {
            switch (v.Type)
            {
                case GgufValueType.Array:
                    var a = (Array)v.Value;
                    w.Write((uint)v.ElementType);
                    w.Write((ulong)a.Length);
                    foreach (object? e in a)
                    {
                        if (e is GgufValue nested) WriteValue(w, nested);
                        else WriteScalar(w, v.ElementType, e!);
                    }
                    break;
                default:
                    WriteScalar(w, v.Type, v.Value);
                    break;
            }
        }

        private static void WriteScalar(BinaryWriter w, GgufValueType t, object o)
        {
            switch (t)
            {
                case GgufValueType.UInt8: w.Write((byte)o); break;
                case GgufValueType.Int8: w.Write((sbyte)o); break;
                case GgufValueType.UInt16: w.Write((ushort)o); break;
                case GgufValueType.Int16: w.Write((short)o); break;
                case GgufValueType.UInt32: w.Write((uint)o); break;
                case GgufValueType.Int32: w.Write((int)o); break;
                case GgufValueType.Float32: w.Write((float)o); break;
                case GgufValueType.Bool: w.Write((bool)o ? (byte)1 : (byte)0); break;
                case GgufValueType.String: WriteString(w, (string)o); break;
                case GgufValueType.UInt64: w.Write((ulong)o); break;
                case GgufValueType.Int64: w.Write((long)o); break;
                case GgufValueType.Float64: w.Write((double)o); break;
                default: throw new ArgumentException($"cannot write value type {t}");
            }
        }
    }
}
