using System;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using NpcSdk.Native;
using NpcSdk.Tensors;

namespace NpcSdk.Benchmarks
{
    /// <summary>
    /// One 4096×4096 Q4_0 / Q4_K matrix-vector product with the Repacked kernels' arithmetic, single thread: rows read 8
    /// (Q4_0) or 4 (Q4_K) at a time where they lie in the file, against the same weights interleaved in 8-row groups as
    /// the runtime lays them out at load (managed and native). Weight copies rotate so they come from memory.
    /// </summary>
    public unsafe class InterleavedBenchmarks
    {
        private const int N = 4096;
        private const int Copies = 6;
        private byte[][] _weights = Array.Empty<byte[]>();
        private IntPtr[] _interleaved = Array.Empty<IntPtr>();
        private byte[] _activation = Array.Empty<byte>();
        private readonly float[] _output = new float[N];
        private int _next;

        [Params(TensorType.Q4_0, TensorType.Q4_K)]
        public TensorType Type { get; set; }

        [GlobalSetup]
        public void Setup()
        {
            var rng = new Random(1);
            var row = new float[N];
            int rowBytes = (int)TensorTypeInfo.RowBytes(Type, N);
            _weights = new byte[Copies][];
            _interleaved = new IntPtr[Copies];
            long groupBytes = Type == TensorType.Q4_0 ? Q4_0Interleaved.GroupBytes(N) : Q4_KInterleaved.GroupBytes(N);
            for (int c = 0; c < Copies; c++)
            {
                _weights[c] = new byte[rowBytes * N];
                for (int r = 0; r < N; r++)
                {
                    for (int i = 0; i < N; i++) row[i] = (float)(rng.NextDouble() * 2 - 1) * 0.03f;
                    Quantizer.QuantizeRowReference(Type, row, _weights[c].AsSpan(r * rowBytes, rowBytes));
                }
                _interleaved[c] = (IntPtr)NativeMemory.AlignedAlloc((nuint)(N / 8 * groupBytes), 64);
                fixed (byte* w = _weights[c])
                {
                    if (Type == TensorType.Q4_0) _ = Q4_0Interleaved.Repack(w, N, (byte*)_interleaved[c], 0, N / 8);
                    else _ = Q4_KInterleaved.Repack(w, N, (byte*)_interleaved[c], 0, N / 8);
                }
            }
            var dotType = TensorTypeInfo.VecDotType(Type);
            _activation = new byte[TensorTypeInfo.RowBytes(dotType, N)];
            for (int i = 0; i < N; i++) row[i] = (float)(rng.NextDouble() * 2 - 1);
            Quantizer.QuantizeRow(dotType, row, _activation);
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            foreach (var p in _interleaved) NativeMemory.AlignedFree((void*)p);
        }

        [Benchmark(Baseline = true)]
        public void RowMajor() => MatVec.ComputeWith(MatMulKernel.Repacked, Type, _weights[_next++ % Copies], N, _activation, _output, 0, N);

        [Benchmark]
        public void Interleaved()
        {
            byte* w = (byte*)_interleaved[_next++ % Copies];
            fixed (byte* a = _activation)
            fixed (float* o = _output)
            {
                if (Type == TensorType.Q4_0) Q4_0Interleaved.Compute(w, N, N / 8, a, _activation.Length, 1, o, N);
                else Q4_KInterleaved.Compute(w, N, N / 8, a, _activation.Length, 1, 0, 0, o, N);
            }
        }

        [Benchmark]
        public void NativeInterleaved()
        {
            if (!(Type == TensorType.Q4_0 ? NativeKernels.SupportsQ4_0Interleaved : NativeKernels.SupportsQ4_KInterleaved))
                throw new InvalidOperationException("the native plugin has no interleaved kernel for " + Type);
            byte* w = (byte*)_interleaved[_next++ % Copies];
            fixed (byte* a = _activation)
            fixed (float* o = _output)
            {
                if (Type == TensorType.Q4_0) NativeKernels.MatMulQ4_0Interleaved(w, N, N / 8, a, _activation.Length, 1, o, N);
                else NativeKernels.MatMulQ4_KInterleaved(w, N, N / 8, a, _activation.Length, 1, 0, 0, o, N);
            }
        }
    }
}
