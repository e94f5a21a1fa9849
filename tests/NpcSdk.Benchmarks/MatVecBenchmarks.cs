using System;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using NpcSdk.Native;
using NpcSdk.Tensors;

namespace NpcSdk.Benchmarks
{
    /// <summary>
    /// One 4096×4096 matrix-vector product per format, managed kernels against the native plugin, single thread.
    /// Several weight copies rotate so the weights come from memory, as in a decode step (see ../shared/bench/BASELINE.md).
    /// </summary>
    [MemoryDiagnoser]
    public class MatVecBenchmarks
    {
        private const int N = 4096;
        private const int Copies = 6; // > 64 MiB of Q4 weights: more than the L3 cache
        private byte[][] _weights = Array.Empty<byte[]>();
        private byte[] _activation = Array.Empty<byte>();
        private float[] _output = new float[N];
        private int _next;

        [Params(TensorType.Q8_0, TensorType.Q4_0, TensorType.Q5_0, TensorType.Q4_K, TensorType.Q6_K, TensorType.F16)]
        public TensorType Type { get; set; }

        [GlobalSetup]
        public void Setup()
        {
            var rng = new Random(1);
            var row = new float[N];
            int rowBytes = (int)TensorTypeInfo.RowBytes(Type, N);
            _weights = new byte[Copies][];
            for (int c = 0; c < Copies; c++)
            {
                _weights[c] = new byte[rowBytes * N];
                for (int r = 0; r < N; r++)
                {
                    for (int i = 0; i < N; i++) row[i] = (float)(rng.NextDouble() * 2 - 1) * 0.03f;
                    Quantizer.QuantizeRowReference(Type, row, _weights[c].AsSpan(r * rowBytes, rowBytes));
                }
            }
            var dotType = TensorTypeInfo.VecDotType(Type);
            _activation = new byte[TensorTypeInfo.RowBytes(dotType, N)];
            for (int i = 0; i < N; i++) row[i] = (float)(rng.NextDouble() * 2 - 1);
            Quantizer.QuantizeRow(dotType, row, _activation);
        }

        private byte[] NextWeights() => _weights[_next++ % Copies];

        [Benchmark(Baseline = true)]
        public void Managed() => MatVec.Compute(Type, NextWeights(), N, _activation, _output, 0, N);

        [Benchmark]
        public void Native()
        {
            if (!NativeKernels.IsAvailable) throw new InvalidOperationException(NativeKernels.Description);
            NativeKernels.MatVec(Type, NextWeights(), N, _activation, _output, 0, N);
        }
    }

    internal static class Program
    {
        private static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }
}
