using System;
using BenchmarkDotNet.Attributes;
using NpcSdk.Native;
using NpcSdk.Tensors;

namespace NpcSdk.Benchmarks
{
    /// <summary>
    /// One 4096×4096 Q4_0 / Q4_K / Q5_0 matrix-vector product, single thread: rows read where they lie in the file (the
    /// Repacked kernels for Q4, vec_dot for Q5_0), against the same weights interleaved in 8-row groups as the runtime
    /// lays them out at load (managed and native), held on 4 KiB or (where Linux offers them) 2 MiB pages. Weight
    /// copies rotate so they come from memory.
    /// </summary>
    public unsafe class InterleavedBenchmarks
    {
        private const int N = 4096;
        private const int Copies = 6;
        private byte[][] _weights = Array.Empty<byte[]>();
        private WeightArena? _arena;
        private readonly byte*[] _interleaved = new byte*[Copies];
        private byte[] _activation = Array.Empty<byte>();
        private readonly float[] _output = new float[N];
        private int _next;

        [Params(TensorType.Q4_0, TensorType.Q4_K, TensorType.Q5_0)]
        public TensorType Type { get; set; }

        /// <summary>The interleaved copies on 2 MiB pages (<see cref="WeightArena"/>) where Linux offers them.</summary>
        [Params(false, true)]
        public bool HugePages { get; set; }

        [GlobalSetup]
        public void Setup()
        {
            var rng = new Random(1);
            var row = new float[N];
            int rowBytes = (int)TensorTypeInfo.RowBytes(Type, N);
            _weights = new byte[Copies][];
            long groupBytes = Type switch
            {
                TensorType.Q4_0 => Q4_0Interleaved.GroupBytes(N),
                TensorType.Q4_K => Q4_KInterleaved.GroupBytes(N),
                _ => Q5_0Interleaved.GroupBytes(N),
            };
            _arena = new WeightArena(Copies * WeightArena.Footprint(N / 8 * groupBytes), HugePages);
            for (int c = 0; c < Copies; c++)
            {
                _weights[c] = new byte[rowBytes * N];
                for (int r = 0; r < N; r++)
                {
                    for (int i = 0; i < N; i++) row[i] = (float)(rng.NextDouble() * 2 - 1) * 0.03f;
                    Quantizer.QuantizeRowReference(Type, row, _weights[c].AsSpan(r * rowBytes, rowBytes));
                }
                _interleaved[c] = _arena.TryAllocate(N / 8 * groupBytes);
                fixed (byte* w = _weights[c])
                {
                    _ = Type switch
                    {
                        TensorType.Q4_0 => Q4_0Interleaved.Repack(w, N, _interleaved[c], 0, N / 8),
                        TensorType.Q4_K => Q4_KInterleaved.Repack(w, N, _interleaved[c], 0, N / 8),
                        _ => Q5_0Interleaved.Repack(w, N, _interleaved[c], 0, N / 8),
                    };
                }
            }
            var dotType = TensorTypeInfo.VecDotType(Type);
            _activation = new byte[TensorTypeInfo.RowBytes(dotType, N)];
            for (int i = 0; i < N; i++) row[i] = (float)(rng.NextDouble() * 2 - 1);
            Quantizer.QuantizeRow(dotType, row, _activation);
        }

        [GlobalCleanup]
        public void Cleanup() => _arena?.Dispose();

        [Benchmark(Baseline = true)]
        public void RowMajor() =>
            MatVec.ComputeWith(Type == TensorType.Q5_0 ? MatMulKernel.VecDot : MatMulKernel.Repacked, Type, _weights[_next++ % Copies], N, _activation, _output, 0, N);

        [Benchmark]
        public void Interleaved()
        {
            byte* w = _interleaved[_next++ % Copies];
            fixed (byte* a = _activation)
            fixed (float* o = _output)
            {
                if (Type == TensorType.Q4_0) Q4_0Interleaved.Compute(w, N, N / 8, a, _activation.Length, 1, o, N);
                else if (Type == TensorType.Q4_K) Q4_KInterleaved.Compute(w, N, N / 8, a, _activation.Length, 1, 0, 0, o, N);
                else Q5_0Interleaved.Compute(w, N, N / 8, a, _activation.Length, 1, o, N);
            }
        }

        [Benchmark]
        public void NativeInterleaved()
        {
            bool supported = Type switch
            {
                TensorType.Q4_0 => NativeKernels.SupportsQ4_0Interleaved,
                TensorType.Q4_K => NativeKernels.SupportsQ4_KInterleaved,
                _ => NativeKernels.SupportsQ5_0Interleaved,
            };
            if (!supported) throw new InvalidOperationException("the native plugin has no interleaved kernel for " + Type);
            byte* w = _interleaved[_next++ % Copies];
            fixed (byte* a = _activation)
            fixed (float* o = _output)
            {
                if (Type == TensorType.Q4_0) NativeKernels.MatMulQ4_0Interleaved(w, N, N / 8, a, _activation.Length, 1, o, N);
                else if (Type == TensorType.Q4_K) NativeKernels.MatMulQ4_KInterleaved(w, N, N / 8, a, _activation.Length, 1, 0, 0, o, N);
                else NativeKernels.MatMulQ5_0Interleaved(w, N, N / 8, a, _activation.Length, 1, o, N);
            }
        }
    }
}
