using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using NpcSdk.Tensors;

namespace NpcSdk.Runtime.Tests.Tensors;

/// <summary>
/// A minimal GGUF v3 tensor locator for the fixture models in data/fixtures (independent of the runtime's GGUF reader,
/// so the kernels are tested against the files themselves).
/// </summary>
internal sealed class FixtureTensors
{
    private static readonly Dictionary<string, FixtureTensors> Cache = new Dictionary<string, FixtureTensors>();

    private readonly byte[] _bytes;
    private readonly Dictionary<string, Entry> _tensors = new Dictionary<string, Entry>();
    private readonly List<string> _names = new List<string>();

    internal sealed class Entry
    {
        public Entry(string name, TensorType type, long[] shape, long offset)
        {
            Name = name;
            Type = type;
            Shape = shape;
            Offset = offset;
        }

        public string Name { get; }

        public TensorType Type { get; }

        /// <summary>ggml order: Shape[0] (ne0) is the contiguous row length.</summary>
        public long[] Shape { get; }

        public long Offset { get; }

        public int RowLength => (int)Shape[0];

        public int Rows
        {
            get
            {
                long rows = 1;
                for (int i = 1; i < Shape.Length; i++)
                {
                    rows *= Shape[i];
                }

                return (int)rows;
            }
        }

        public int RowBytes => (int)TensorTypeInfo.RowBytes(Type, RowLength);
    }

    private FixtureTensors(string path)
    {
        _bytes = File.ReadAllBytes(path);
        var r = new BinaryReader(new MemoryStream(_bytes), Encoding.UTF8);
        if (Encoding.ASCII.GetString(r.ReadBytes(4)) != "GGUF")
        {
            throw new InvalidDataException($"{path}: not a GGUF file");
        }

        uint version = r.ReadUInt32();
        if (version != 3)
        {
            throw new InvalidDataException($"{path}: GGUF version {version}, expected 3");
        }

        ulong nTensors = r.ReadUInt64();
        ulong nKv = r.ReadUInt64();
        long alignment = 32;
        for (ulong i = 0; i < nKv; i++)
        {
            string key = ReadString(r);
            uint valueType = r.ReadUInt32();
            object? value = ReadValue(r, valueType);
            if (key == "general.alignment" && value is uint a)
            {
                alignment = a;
            }
        }

        var infos = new List<(string Name, long[] Shape, TensorType Type, long Offset)>();
        for (ulong i = 0; i < nTensors; i++)
        {
            string name = ReadString(r);
            uint nDims = r.ReadUInt32();
            var shape = new long[nDims];
            for (int d = 0; d < nDims; d++)
            {
                shape[d] = (long)r.ReadUInt64();
            }

            var type = (TensorType)r.ReadUInt32();
            long offset = (long)r.ReadUInt64();
            infos.Add((name, shape, type, offset));
        }

        long dataStart = (r.BaseStream.Position + alignment - 1) / alignment * alignment;
        foreach (var info in infos)
        {
            _tensors[info.Name] = new Entry(info.Name, info.Type, info.Shape, dataStart + info.Offset);
            _names.Add(info.Name);
        }
    }

    public static string PathOf(string fileName) => Path.Combine(AppContext.BaseDirectory, "data", "fixtures", fileName);

    public static FixtureTensors Open(string fileName)
    {
        lock (Cache)
        {
            if (!Cache.TryGetValue(fileName, out FixtureTensors? f))
            {
                f = new FixtureTensors(PathOf(fileName));
                Cache[fileName] = f;
            }

            return f;
        }
    }

    public IReadOnlyList<string> Names => _names;

    public Entry this[string name] => _tensors[name];

    public ReadOnlySpan<byte> Data(Entry e) =>
        new ReadOnlySpan<byte>(_bytes, (int)e.Offset, e.RowBytes * e.Rows);

    public ReadOnlySpan<byte> Row(Entry e, int row) =>
        new ReadOnlySpan<byte>(_bytes, (int)e.Offset + row * e.RowBytes, e.RowBytes);

    /// <summary>Row <paramref name="row"/> of an F32 tensor.</summary>
    public float[] F32Row(Entry e, int row)
    {
        if (e.Type != TensorType.F32)
        {
            throw new InvalidOperationException($"{e.Name} is {e.Type}, not F32");
        }

        var result = new float[e.RowLength];
        Buffer.BlockCopy(_bytes, (int)e.Offset + row * e.RowBytes, result, 0, e.RowBytes);
        return result;
    }

    private static string ReadString(BinaryReader r)
    {
        ulong len = r.ReadUInt64();
        return Encoding.UTF8.GetString(r.ReadBytes((int)len));
    }

    private static object? ReadValue(BinaryReader r, uint type)
    {
        switch (type)
        {
            case 0: return r.ReadByte();
            case 1: return r.ReadSByte();
            case 2: return r.ReadUInt16();
            case 3: return r.ReadInt16();
            case 4: return r.ReadUInt32();
            case 5: return r.ReadInt32();
            case 6: return r.ReadSingle();
            case 7: return r.ReadByte() != 0;
            case 8: return ReadString(r);
            case 9:
                uint elemType = r.ReadUInt32();
                ulong count = r.ReadUInt64();
                for (ulong i = 0; i < count; i++)
                {
                    ReadValue(r, elemType);
                }

                return null;
            case 10: return r.ReadUInt64();
            case 11: return r.ReadInt64();
            case 12: return r.ReadDouble();
            default: throw new InvalidDataException($"unknown GGUF value type {type}");
        }
    }
}
