using System;
using System.Collections.Generic;
using System.IO;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace NpcSdk.Gguf
{
    /// <summary>
    /// A GGUF file (v2 or v3) mapped into memory: its metadata, its tensor table, and zero-copy views of the tensor data.
    /// </summary>
    /// <remarks>Opening validates the whole header; a malformed file throws <see cref="GgufFormatException"/>.</remarks>
    public sealed unsafe class GgufFile : IDisposable
    {
        private readonly MemoryMappedFile? _map;
        private readonly MemoryMappedViewAccessor? _view;
        private readonly IntPtr _ownedMemory;
        private byte* _base;
        private readonly long _length;
        private readonly Dictionary<string, GgufValue> _metadata;
        private readonly Dictionary<string, GgufTensorInfo> _tensorsByName;

        private GgufFile(string source, byte* data, long length, MemoryMappedFile? map, MemoryMappedViewAccessor? view, IntPtr ownedMemory)
        {
            Source = source;
            _base = data;
            _length = length;
            _map = map;
            _view = view;
            _ownedMemory = ownedMemory;
            GgufParser.Result r;
            try
            {
                r = GgufParser.Parse(data, length, source, this);
            }
            catch
            {
                ReleaseMemory();
                throw;
            }
            Version = r.Version;
            Alignment = r.Alignment;
            DataOffset = r.DataOffset;
            MetadataEntries = r.Metadata;
            _metadata = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
            foreach (var kv in r.Metadata) _metadata[kv.Key] = kv.Value;
            Tensors = r.Tensors;
            _tensorsByName = new Dictionary<string, GgufTensorInfo>(StringComparer.Ordinal);
            foreach (var t in r.Tensors) _tensorsByName[t.Name] = t;
        }

        /// <summary>Maps and validates a GGUF file.</summary>
        /// <exception cref="GgufFormatException">The file is not valid GGUF.</exception>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        public static GgufFile Open(string path)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            if (!File.Exists(path)) throw new FileNotFoundException($"GGUF file not found: {path}", path);
            // The open stream's length, not FileInfo's: for a symbolic link FileInfo reports the link itself.
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long length = stream.Length;
            if (length < 24)
            {
                stream.Dispose();
                throw new GgufFormatException($"{path}: file is {length} bytes, too short for a GGUF header");
            }
            MemoryMappedFile map;
            try
            {
                map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
            }
            catch
            {
                stream.Dispose();
                throw;
            }
            MemoryMappedViewAccessor? view = null;
            try
            {
                view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
                byte* p = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
                p += view.PointerOffset;
                return new GgufFile(path, p, length, map, view, IntPtr.Zero);
            }
            catch
            {
                view?.Dispose();
                map.Dispose();
                throw;
            }
        }

        /// <summary>Whether the image is a read-only mapping of the file (<see cref="Open"/>), not a copy in memory (<see cref="FromBytes"/>).</summary>
        internal bool IsMapped => _map != null;

        /// <summary>Parses a GGUF image held in memory (copied into native memory so tensor views stay valid).</summary>
        public static GgufFile FromBytes(ReadOnlySpan<byte> bytes, string source = "<memory>")
        {
            IntPtr mem = Marshal.AllocHGlobal(Math.Max(1, bytes.Length));
            bytes.CopyTo(new Span<byte>((void*)mem, bytes.Length));
            return new GgufFile(source, (byte*)mem, bytes.Length, null, null, mem);
        }

        /// <summary>Where the file came from (its path).</summary>
        public string Source { get; }

        /// <summary>GGUF version (2 or 3).</summary>
        public int Version { get; }

        /// <summary>Alignment of tensor data (<c>general.alignment</c>, default 32).</summary>
        public long Alignment { get; }

        /// <summary>File offset of the tensor data section.</summary>
        public long DataOffset { get; }

        /// <summary>File size in bytes.</summary>
        public long FileSize => _length;

        /// <summary>Metadata in file order.</summary>
        public IReadOnlyList<KeyValuePair<string, GgufValue>> MetadataEntries { get; }

        /// <summary>Tensor infos in file order.</summary>
        public IReadOnlyList<GgufTensorInfo> Tensors { get; }

        /// <summary>Finds a metadata value by key.</summary>
        public bool TryGetValue(string key, out GgufValue value)
        {
            return _metadata.TryGetValue(key, out value!);
        }

        /// <summary>True if the key is present.</summary>
        public bool Contains(string key) => _metadata.ContainsKey(key);

        /// <summary>A string value, or <paramref name="fallback"/> when absent.</summary>
        /// <exception cref="GgufFormatException">The key exists with another type.</exception>
        public string? GetString(string key, string? fallback = null)
        {
            if (!_metadata.TryGetValue(key, out var v)) return fallback;
            if (v.Value is string s) return s;
            throw WrongType(key, v, "string");
        }

        /// <summary>An integer value, or <paramref name="fallback"/> when absent.</summary>
        public long GetInt64(string key, long fallback)
        {
            if (!_metadata.TryGetValue(key, out var v)) return fallback;
            if (v.TryGetInt64(out long l)) return l;
            throw WrongType(key, v, "integer");
        }

        /// <summary>A required integer value.</summary>
        public long GetInt64(string key)
        {
            if (!_metadata.TryGetValue(key, out var v)) throw new GgufFormatException($"{Source}: required metadata '{key}' is missing");
            if (v.TryGetInt64(out long l)) return l;
            throw WrongType(key, v, "integer");
        }

        /// <summary>A numeric value as float, or <paramref name="fallback"/> when absent.</summary>
        public float GetFloat(string key, float fallback)
        {
            if (!_metadata.TryGetValue(key, out var v)) return fallback;
            if (v.TryGetDouble(out double d)) return (float)d;
            throw WrongType(key, v, "number");
        }

        /// <summary>A bool value, or <paramref name="fallback"/> when absent.</summary>
        public bool GetBool(string key, bool fallback)
        {
            if (!_metadata.TryGetValue(key, out var v)) return fallback;
            if (v.Value is bool b) return b;
            if (v.TryGetInt64(out long l)) return l != 0;
            throw WrongType(key, v, "bool");
        }

        /// <summary>An array value of the given .NET element type (e.g. <c>string[]</c>), or null when absent.</summary>
        public T[]? GetArray<T>(string key)
        {
            if (!_metadata.TryGetValue(key, out var v)) return null;
            if (v.Value is T[] a) return a;
            throw WrongType(key, v, $"array of {typeof(T).Name}");
        }

        private GgufFormatException WrongType(string key, GgufValue v, string expected)
        {
            string actual = v.Type == GgufValueType.Array ? $"array of {v.ElementType}" : v.Type.ToString();
            return new GgufFormatException($"{Source}: metadata '{key}' is {actual}, expected {expected}");
        }

        /// <summary>Finds a tensor by name, or null.</summary>
        public GgufTensorInfo? FindTensor(string name)
        {
            return _tensorsByName.TryGetValue(name, out var t) ? t : null;
        }

        /// <summary>Finds a required tensor by name.</summary>
        /// <exception cref="GgufFormatException">The tensor is absent.</exception>
        public GgufTensorInfo GetTensor(string name)
        {
            return FindTensor(name) ?? throw new GgufFormatException($"{Source}: required tensor '{name}' is missing");
        }

        /// <summary>Pointer to a tensor's first byte (valid while this file is open).</summary>
        internal byte* TensorPointer(GgufTensorInfo t)
        {
            ThrowIfDisposed();
            return _base + DataOffset + t.Offset;
        }

        /// <summary>The bytes of a tensor of at most 2 GiB, without copying.</summary>
        public ReadOnlySpan<byte> TensorData(GgufTensorInfo t)
        {
            if (t.ByteSize > int.MaxValue) throw new NotSupportedException($"tensor '{t.Name}' is larger than 2 GiB; use row views");
            return new ReadOnlySpan<byte>(TensorPointer(t), (int)t.ByteSize);
        }

        /// <summary>The bytes of the whole file, without copying (at most 2 GiB).</summary>
        internal ReadOnlySpan<byte> Bytes(long offset, int length)
        {
            ThrowIfDisposed();
            if (offset < 0 || length < 0 || offset + length > _length) throw new ArgumentOutOfRangeException(nameof(offset));
            return new ReadOnlySpan<byte>(_base + offset, length);
        }

        /// <summary>
        /// A hash of the header and tensor table (everything before the tensor data): identifies the model
        /// for saves without reading the weights.
        /// </summary>
        public string ComputeIdentity()
        {
            ThrowIfDisposed();
            using var sha = SHA256.Create();
            long n = Math.Min(DataOffset, _length);
            var buffer = new byte[n];
            new ReadOnlySpan<byte>(_base, (int)n).CopyTo(buffer);
            return BitConverter.ToString(sha.ComputeHash(buffer)).Replace("-", "").ToLowerInvariant();
        }

        internal void ThrowIfClosed() => ThrowIfDisposed();

        private void ThrowIfDisposed()
        {
            if (_base == null) throw new ObjectDisposedException(nameof(GgufFile), $"{Source} was closed");
        }

        private void ReleaseMemory()
        {
            if (_view != null)
            {
                _view.SafeMemoryMappedViewHandle.ReleasePointer();
                _view.Dispose();
            }
            _map?.Dispose();
            if (_ownedMemory != IntPtr.Zero) Marshal.FreeHGlobal(_ownedMemory);
            _base = null;
        }

        /// <summary>Unmaps the file; tensor views become invalid.</summary>
        public void Dispose()
        {
            if (_base == null) return;
            ReleaseMemory();
        }
    }
}
