using System;

namespace NpcSdk.Tensors;

/// <summary>
/// Matrix-vector product over a range of weight rows: <c>output[r - rowStart] = Dot(row r, activation)</c> for r in
/// [rowStart, rowEnd), the unit of work a thread takes (ggml splits a mul_mat into row chunks the same way).
/// The activation must already be in <see cref="TensorTypeInfo.VecDotType"/> of the weights. No allocations.
/// </summary>
internal static unsafe class MatVec
{
    public static void Compute(TensorType t, ReadOnlySpan<byte> weights, int cols, ReadOnlySpan<byte> activation,
        Span<float> output, int rowStart, int rowEnd) =>
        ComputeWith(MatMulKernel.VecDot, t, weights, cols, activation, output, rowStart, rowEnd);

    /// <summary>
    /// Longest Q8_0 rows the one-token kernel reads four at a time. Longer rows put the four streams in different
    /// pages, which the prefetching does not carry (from DRAM: 10 GB/s against 18 for one row at 2048 columns).
    /// </summary>
    internal const int StreamedQ8_0MaxCols = 1024;

    /// <summary>
    /// As <see cref="Compute"/>, with the arithmetic of llama.cpp's <paramref name="kernel"/> (see <see cref="MatMulKernels.Select"/>).
    /// <paramref name="rowsTogether"/>: the rows are hot in cache (a batch reuses them), so Q8_0 rows are computed four at a
    /// time (same values; on a single token's cold rows the one-row kernel measured faster). <paramref name="finiteHalves"/>:
    /// F16 weights known to hold no infinity or NaN, widened with fewer instructions (same values).
    /// </summary>
    public static void ComputeWith(MatMulKernel kernel, TensorType t, ReadOnlySpan<byte> weights, int cols, ReadOnlySpan<byte> activation,
        Span<float> output, int rowStart, int rowEnd, bool rowsTogether = false, bool finiteHalves = false)
    {
        long rowBytes = TensorTypeInfo.RowBytes(t, cols);
        long activationBytes = TensorTypeInfo.RowBytes(TensorTypeInfo.VecDotType(t), cols);
        if (rowStart < 0 || rowEnd < rowStart)
        {
            throw new ArgumentOutOfRangeException(nameof(rowStart), $"Row range [{rowStart}, {rowEnd}) is invalid.");
        }

        if ((long)rowEnd * rowBytes > weights.Length)
        {
            throw new ArgumentException($"Rows up to {rowEnd} of {rowBytes} bytes need {(long)rowEnd * rowBytes} bytes of {t} weights, got {weights.Length}.", nameof(weights));
        }

        if (activation.Length < activationBytes)
        {
            throw new ArgumentException($"The activation needs {activationBytes} bytes, got {activation.Length}.", nameof(activation));
        }

        if (output.Length < rowEnd - rowStart)
        {
            throw new ArgumentException($"The output needs {rowEnd - rowStart} elements, got {output.Length}.", nameof(output));
        }

        if (kernel == MatMulKernel.TinyBlas)
        {
            TinyBlasRows(t, weights, cols, activation, output, rowStart, rowEnd, rowBytes);
            return;
        }

#if NET
        if (kernel == MatMulKernel.VecDot && VecDotAvx2.IsSupported && (t == TensorType.F16 || t == TensorType.BF16))
        {
            WidenedRows(t, weights, cols, activation, output, rowStart, rowEnd, rowBytes, finiteHalves);
            return;
        }
#endif

        fixed (byte* w = weights)
        fixed (byte* a = activation)
        fixed (float* o = output)
        {
            byte* row = w + rowStart * rowBytes;
            int r = 0;
#if NET
            if (kernel == MatMulKernel.VecDot && t == TensorType.Q8_0 && (rowsTogether || cols <= StreamedQ8_0MaxCols) && VecDotAvx2.IsSupported)
            {
                // Four rows at a time hide the FMA latency that bounds the one-row kernel; same arithmetic per row. With
                // one token the rows come from memory once, so the rows two groups ahead are prefetched.
                for (; r + 4 <= rowEnd - rowStart; r += 4, row += 4 * rowBytes)
                {
                    VecDotAvx2.Q8_0x4(row, rowBytes, a, cols / 32, o + r, rowsTogether ? null : row + 8 * rowBytes);
                }
            }

            if ((kernel == MatMulKernel.Repacked || kernel == MatMulKernel.RepackedGemm) && t == TensorType.Q4_0 && VecDotAvx2.IsSupported)
            {
                for (; r + 8 <= rowEnd - rowStart; r += 8, row += 8 * rowBytes)
                {
                    VecDotAvx2.Q4_0Repacked8(row, rowBytes, a, cols / 32, o + r);
                }
            }

            if ((kernel == MatMulKernel.Repacked || kernel == MatMulKernel.RepackedGemm) && t == TensorType.Q4_K && VecDotAvx2.IsSupported)
            {
                for (; r + 4 <= rowEnd - rowStart; r += 4, row += 4 * rowBytes)
                {
                    VecDotAvx2.Q4_KRepacked4(row, rowBytes, a, cols / 256, kernel == MatMulKernel.RepackedGemm, o + r);
                }
            }
#endif
            for (; r < rowEnd - rowStart; r++, row += rowBytes)
            {
                o[r] = VecDot.Dot(kernel, t, row, a, cols);
            }
        }
    }

    /// <summary>
    /// Several activation rows at once where a tiled kernel with the same per-element arithmetic exists on AVX2 (Q8_0,
    /// Q5_K and Q6_K with <see cref="MatMulKernel.VecDot"/>, repacked Q4_0): <c>output[t * outputStride + r] = Dot(row r, activation t)</c> for
    /// r in [0, rows), t in [0, tokens); activation rows are contiguous. Returns false (and computes nothing) otherwise.
    /// </summary>
    public static bool TryComputeTiled(MatMulKernel kernel, TensorType t, ReadOnlySpan<byte> weights, int rows, int cols,
        ReadOnlySpan<byte> activations, int tokens, Span<float> output, int outputStride)
    {
#if NET
        bool q8 = kernel == MatMulKernel.VecDot && t == TensorType.Q8_0;
        // Repacked Q4_0: ggml's gemv and gemm give each output the same arithmetic, so one tiling serves both.
        bool q4 = (kernel == MatMulKernel.Repacked || kernel == MatMulKernel.RepackedGemm) && t == TensorType.Q4_0;
        // Q5_K and Q6_K: each row's super-blocks unpacked once for four activations.
        bool k = kernel == MatMulKernel.VecDot && (t == TensorType.Q5_K || t == TensorType.Q6_K);
        if (!(q8 || q4 || k) || !VecDotAvx2.IsSupported || tokens < (k ? 4 : 2)) return false;
        long rowBytes = TensorTypeInfo.RowBytes(t, cols);
        long activationBytes = TensorTypeInfo.RowBytes(TensorTypeInfo.VecDotType(t), cols);
        if (weights.Length < rows * rowBytes) throw new ArgumentException($"{rows} rows need {rows * rowBytes} bytes, got {weights.Length}.", nameof(weights));
        if (activations.Length < tokens * activationBytes) throw new ArgumentException($"{tokens} activation rows need {tokens * activationBytes} bytes, got {activations.Length}.", nameof(activations));
        if (output.Length < (long)(tokens - 1) * outputStride + rows) throw new ArgumentException("the output is too short", nameof(output));
        fixed (byte* w = weights)
        fixed (byte* a = activations)
        fixed (float* o = output)
        {
            if (q8) VecDotAvx2.Q8_0Tiled(w, rowBytes, rows, a, activationBytes, tokens, cols / 32, o, outputStride);
            else if (q4) Q4_0RepackedTiled(w, rowBytes, rows, a, activationBytes, tokens, cols, o, outputStride);
            else KQuantTiled(t, w, rowBytes, rows, a, activationBytes, tokens, cols, o, outputStride);
        }
        return true;
#else
        return false;
#endif
    }

#if NET
    /// <summary>Q5_K or Q6_K rows against activations four at a time (<see cref="VecDotAvx2.Q6_Kx4"/>), the last few one at a time.</summary>
    private static void KQuantTiled(TensorType t, byte* w, long rowBytes, int rows, byte* a, long activationBytes, int tokens, int cols, float* o, int outputStride)
    {
        int blocks = cols / 256;
        int k = 0;
        for (; k + 4 <= tokens; k += 4)
            for (int r = 0; r < rows; r++)
            {
                if (t == TensorType.Q6_K) VecDotAvx2.Q6_Kx4(w + r * rowBytes, a + k * activationBytes, activationBytes, blocks, o + k * outputStride + r, outputStride);
                else VecDotAvx2.Q5_Kx4(w + r * rowBytes, a + k * activationBytes, activationBytes, blocks, o + k * outputStride + r, outputStride);
            }
        for (; k < tokens; k++)
            for (int r = 0; r < rows; r++)
                o[k * outputStride + r] = VecDotAvx2.Dot(t, w + r * rowBytes, a + k * activationBytes, cols);
    }

    private static void Q4_0RepackedTiled(byte* w, long rowBytes, int rows, byte* a, long activationBytes, int tokens, int cols, float* o, int outputStride)
    {
        int blocks = cols / 32;
        int fullRows = rows - rows % 8;
        int t = 0;
        for (; t + 4 <= tokens; t += 4)
        {
            for (int r = 0; r < fullRows; r += 8)
                VecDotAvx2.Q4_0Repacked8x4(w + r * rowBytes, rowBytes, a + t * activationBytes, activationBytes, blocks, o + t * outputStride + r, outputStride);
        }
        for (; t < tokens; t++)
        {
            for (int r = 0; r < fullRows; r += 8)
                VecDotAvx2.Q4_0Repacked8(w + r * rowBytes, rowBytes, a + t * activationBytes, blocks, o + t * outputStride + r);
        }
        for (t = 0; t < tokens; t++)
            for (int r = fullRows; r < rows; r++)
                o[t * outputStride + r] = VecDotAvx2.Repacked(TensorType.Q4_0, w + r * rowBytes, a + t * activationBytes, cols);
    }
#endif

    /// <summary>tinyBLAS arithmetic per row (see <see cref="FloatGemm"/>); the activation is widened to float once.</summary>
    private static void TinyBlasRows(TensorType t, ReadOnlySpan<byte> weights, int cols, ReadOnlySpan<byte> activation,
        Span<float> output, int rowStart, int rowEnd, long rowBytes)
    {
        float[] buffer = System.Buffers.ArrayPool<float>.Shared.Rent(cols);
        try
        {
            Dequantizer.DequantizeRow(t, activation, buffer.AsSpan(0, cols));
            fixed (byte* w = weights)
            fixed (float* a = buffer)
            fixed (float* o = output)
            {
                byte* row = w + rowStart * rowBytes;
                for (int r = 0; r < rowEnd - rowStart; r++, row += rowBytes)
                {
                    o[r] = FloatGemm.Dot(t, row, a, cols);
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(buffer);
        }
    }

#if NET

    /// <summary>
    /// F16/BF16 weights: widen the 16-bit activation to float once (exact), instead of once per row, then each row
    /// converts only its weights.
    /// </summary>
    private static void WidenedRows(TensorType t, ReadOnlySpan<byte> weights, int cols, ReadOnlySpan<byte> activation,
        Span<float> output, int rowStart, int rowEnd, long rowBytes, bool finiteHalves)
    {
        float[] buffer = System.Buffers.ArrayPool<float>.Shared.Rent(cols);
        try
        {
            Dequantizer.DequantizeRow(t, activation, buffer.AsSpan(0, cols));
            fixed (byte* w = weights)
            fixed (float* a = buffer)
            fixed (float* o = output)
            {
                byte* row = w + rowStart * rowBytes;
                for (int r = 0; r < rowEnd - rowStart; r++, row += rowBytes)
                {
                    o[r] = t == TensorType.BF16 ? VecDotAvx2.BF16F32(row, a, cols)
                        : finiteHalves ? VecDotAvx2.F16F32<VecDotAvx2.FiniteHalves>(row, a, cols) : VecDotAvx2.F16F32<VecDotAvx2.ExactHalves>(row, a, cols);
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(buffer);
        }
    }
#endif
}
