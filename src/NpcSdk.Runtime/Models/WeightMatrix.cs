using System;
using NpcSdk.Gguf;
using NpcSdk.Tensors;

namespace NpcSdk.Models
{
    /// <summary>A weight matrix viewed in place in the mapped GGUF file: <see cref="Rows"/> rows of <see cref="Cols"/> elements.</summary>
    internal sealed unsafe class WeightMatrix
    {
        /// <summary>A view of <paramref name="rows"/> x <paramref name="cols"/> weights at <paramref name="data"/>; <paramref name="mapped"/>: in a read-only file mapping.</summary>
        public WeightMatrix(string name, TensorType type, int rows, int cols, byte* data, bool mapped)
        {
            Mapped = mapped;
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

        /// <summary>The row-major weights: in the file mapping, or the model's own copy after <see cref="TryCopy"/>.</summary>
        public byte* Data { get; private set; }

        /// <summary>Whether <see cref="Data"/> is a read-only file mapping (released pages read back from the file).</summary>
        public bool Mapped { get; private set; }

        /// <summary>
        /// The same weights laid out for the 8-row Q4_0, Q4_K or Q5_0 kernels or the 4-row Q8_0 kernels (<see cref="Q4_0Interleaved"/>,
        /// <see cref="Q4_KInterleaved"/>, <see cref="Q8_0Interleaved"/>, <see cref="Q5_0Interleaved"/>) in the model's
        /// <see cref="NpcSdk.Native.WeightArena"/>, or null. <see cref="Data"/> stays valid (embedding lookups read it), its
        /// pages released from memory.
        /// </summary>
        public byte* Interleaved { get; private set; }

        /// <summary>Whether <see cref="Interleaved"/> is set.</summary>
        public bool IsInterleaved => Interleaved != null;

        /// <summary>Whether an interleaved layout exists for this matrix's type and shape.</summary>
        public bool CanInterleave => Type switch
        {
            TensorType.Q4_0 => Q4_0Interleaved.CanRepack(Rows, Cols),
            TensorType.Q4_K => Q4_KInterleaved.CanRepack(Rows, Cols),
            TensorType.Q8_0 => Q8_0Interleaved.CanRepack(Rows, Cols),
            TensorType.Q5_0 => Q5_0Interleaved.CanRepack(Rows, Cols),
            _ => false,
        };

        /// <summary>Bytes of the interleaved layout (<see cref="CanInterleave"/> only).</summary>
        public long InterleavedBytes => Rows / GroupRows * GroupBytes;

        /// <summary>Bytes of the row-major weights.</summary>
        public long Bytes => (long)Rows * RowBytes;

        /// <summary>
        /// Makes <see cref="Interleaved"/> in <paramref name="arena"/> if the layout applies to these weights; false if it
        /// does not, a scale cannot be widened exactly or the arena has no room.
        /// </summary>
        public bool TryInterleave(NpcSdk.Compute.WorkerPool pool, NpcSdk.Native.WeightArena arena)
        {
            if (Interleaved != null) return true;
            if (!CanInterleave) return false;
            byte* copy = arena.TryAllocate(InterleavedBytes);
            if (copy == null) return false;
            var work = new CopyWork(Type, Data, Cols, GroupRows, copy, Mapped, interleave: true);
            pool.Run(Rows / GroupRows, work, minChunk: 64);
            if (!work.Finite)
            {
                // A scale the kernels cannot widen exactly: keep the row-major layout (its released pages read back in).
                // The arena keeps the hole.
                return false;
            }
            Interleaved = copy;
            // The file's pages of these weights are read again only by embedding lookups, a few rows at a time. The slices
            // released what lay wholly inside them; this takes the pages they shared.
            if (Mapped) NpcSdk.Native.PageMemory.ReleaseMappedPages(Data, Bytes);
            return true;
        }

        /// <summary>
        /// Moves the row-major weights of a file mapping into <paramref name="arena"/> (on 2 MiB pages, where the kernels
        /// stream them faster): <see cref="Data"/> then points at the copy and the file's pages are released. False if the
        /// weights are not mapped or the arena has no room.
        /// </summary>
        public bool TryCopy(NpcSdk.Compute.WorkerPool pool, NpcSdk.Native.WeightArena arena)
        {
            if (!Mapped) return false;
            byte* copy = arena.TryAllocate(Bytes);
            if (copy == null) return false;
            pool.Run(Rows, new CopyWork(Type, Data, Cols, 1, copy, release: true, interleave: false), minChunk: 256);
            byte* source = Data;
            Data = copy;
            Mapped = false;
            NpcSdk.Native.PageMemory.ReleaseMappedPages(source, Bytes);
            return true;
        }

        /// <summary>Forgets the pointers into the model's arena (which the caller frees next).</summary>
        public void ForgetArena()
        {
            Interleaved = null;
            if (!Mapped) Data = null;
        }

        /// <summary>
        /// F16 weights known to hold no infinity or NaN (<see cref="CheckFiniteHalves"/>), which the managed kernels widen
        /// with fewer instructions; false until checked.
        /// </summary>
        public bool FiniteHalves { get; private set; }

        /// <summary>Sets <see cref="FiniteHalves"/> for F16 weights by reading them all once.</summary>
        public void CheckFiniteHalves()
        {
#if NET
            if (Type == TensorType.F16 && VecDotAvx2.IsSupported) FiniteHalves = VecDotAvx2.AllFiniteHalves((ushort*)Data, (long)Rows * Cols);
#endif
        }

        /// <summary>Rows per group of <see cref="Interleaved"/>: 8 for Q4_0, Q4_K and Q5_0, 4 for Q8_0.</summary>
        public int GroupRows => Type == TensorType.Q8_0 ? Q8_0Interleaved.GroupRows : 8;

        /// <summary>Bytes of one group of <see cref="Interleaved"/>.</summary>
        public long GroupBytes => Type switch
        {
            TensorType.Q4_0 => Q4_0Interleaved.GroupBytes(Cols),
            TensorType.Q4_K => Q4_KInterleaved.GroupBytes(Cols),
            TensorType.Q5_0 => Q5_0Interleaved.GroupBytes(Cols),
            _ => Q8_0Interleaved.GroupBytes(Cols),
        };

        private sealed class CopyWork : NpcSdk.Compute.IRangeWork
        {
            private readonly TensorType _type;
            private readonly byte* _src, _dst;
            private readonly int _cols, _groupRows;
            private readonly bool _release, _interleave;
            private volatile bool _finite = true;

            /// <summary>
            /// Copies groups of <paramref name="groupRows"/> rows, laid out again (<paramref name="interleave"/>) or as they
            /// are; <paramref name="release"/>: the source is a file mapping whose pages go.
            /// </summary>
            public CopyWork(TensorType type, byte* src, int cols, int groupRows, byte* dst, bool release, bool interleave)
            {
                _type = type;
                _src = src;
                _cols = cols;
                _groupRows = groupRows;
                _dst = dst;
                _release = release;
                _interleave = interleave;
            }

            /// <summary>False once a slice found a scale the kernels cannot widen exactly.</summary>
            public bool Finite => _finite;

            public void Execute(int start, int end)
            {
                // In slices of about 1 MiB, each slice's file pages released as soon as it is copied, so that resident
                // memory never holds much more than one copy of the weights, even for a 300 MB embedding table.
                long groupSource = _groupRows * TensorTypeInfo.RowBytes(_type, _cols);
                int slice = (int)Math.Max(1, (1L << 20) / groupSource);
                for (int g0 = start; g0 < end; g0 += slice)
                {
                    int g1 = Math.Min(end, g0 + slice);
                    bool finite = true;
                    if (!_interleave)
                        Buffer.MemoryCopy(_src + g0 * groupSource, _dst + g0 * groupSource, (g1 - g0) * groupSource, (g1 - g0) * groupSource);
                    else
                        finite = _type switch
                        {
                            TensorType.Q4_0 => Q4_0Interleaved.Repack(_src, _cols, _dst, g0, g1),
                            TensorType.Q4_K => Q4_KInterleaved.Repack(_src, _cols, _dst, g0, g1),
                            TensorType.Q5_0 => Q5_0Interleaved.Repack(_src, _cols, _dst, g0, g1),
                            _ => Q8_0Interleaved.Repack(_src, _cols, _dst, g0, g1),
                        };
                    if (!finite) _finite = false;
                    if (_release) NpcSdk.Native.PageMemory.ReleaseMappedPages(_src + g0 * groupSource, (g1 - g0) * groupSource);
                }
            }
        }

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
            return new WeightMatrix(name, t.Type, rows, cols, file.TensorPointer(t), file.IsMapped);
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
