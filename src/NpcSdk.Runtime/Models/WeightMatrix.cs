using System;
using NpcSdk.Gguf;
using NpcSdk.Tensors;

namespace NpcSdk.Models
{
    /// <summary>A weight matrix viewed in place in the mapped GGUF file: <see cref="Rows"/> rows of <see cref="Cols"/> elements.</summary>
    internal sealed unsafe class WeightMatrix
    {
        public WeightMatrix(string name, TensorType type, int rows, int cols, byte* data)
        {
            Name = name;
            Type = type;
            Rows = rows;
            Cols = cols;
            Data = data;
            RowBytes = (int)TensorTypeInfo.RowBytes(type, cols);
        }

        public string Name { get; }
        public TensorType Type { get; }
        public int Rows { get; }
        public int Cols { get; }
        public int RowBytes { get; }
        public byte* Data { get; }

        /// <summary>The packed bytes of rows [start, start + count).</summary>
        public ReadOnlySpan<byte> RowSpan(int start, int count) => new ReadOnlySpan<byte>(Data + (long)start * RowBytes, count * RowBytes);

        /// <summary>Reads a tensor as a matrix of the expected shape [cols, rows] (ggml order).</summary>
        public static WeightMatrix From(GgufFile file, string name, int cols, int rows)
        {
            var t = file.GetTensor(name);
            long tRows = t.Shape.Length >= 2 ? t.Shape[1] : 1;
            for (int d = 2; d < t.Shape.Length; d++) tRows *= t.Shape[d];
            if (t.Shape[0] != cols || tRows != rows)
                throw new GgufFormatException($"{file.Source}: tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{cols}, {rows}]");
            return new WeightMatrix(name, t.Type, rows, cols, file.TensorPointer(t));
        }
    }

    /// <summary>A vector of F32 weights (norms, biases), copied out of the file once.</summary>
    internal static class WeightVector
    {
        public static float[] From(GgufFile file, string name, int length)
        {
            var t = file.GetTensor(name);
            if (t.ElementCount != length || t.Shape[0] != length)
                throw new GgufFormatException($"{file.Source}: tensor '{name}' has shape [{string.Join(", ", t.Shape)}], expected [{length}]");
            var result = new float[length];
            Dequantizer.DequantizeRow(t.Type, file.TensorData(t), result);
            return result;
        }
    }
}
