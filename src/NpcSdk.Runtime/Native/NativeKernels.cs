using System;
using System.Runtime.InteropServices;
using NpcSdk.Tensors;

namespace NpcSdk.Native;

/// <summary>
/// The native kernels (runtime-native, <c>libnpcsdk_native</c>) behind the same API as the managed ones:
/// <see cref="MatVec"/> mirrors <see cref="Tensors.MatVec.Compute"/>, <see cref="QuantizeRow"/> mirrors
/// <see cref="Quantizer.QuantizeRow"/> (same bytes), and <see cref="MatMul(MatMulKernel, int, TensorType, ReadOnlySpan{byte}, int, ReadOnlySpan{byte}, int, Span{float}, int, int, int)"/>
/// multiplies several activation rows at once (prefill), reusing each weight block for up to 4 of them, with the
/// arithmetic of the llama.cpp kernel the managed code picks: on AVX2 the results are bit-identical to the managed
/// kernels'. One native call per matrix or row range, never per row.
/// When the library is missing <see cref="IsAvailable"/> is false and the managed kernels are the ones to run; calling
/// a kernel then throws <see cref="InvalidOperationException"/>.
/// </summary>
/// <remarks>
/// Spans are pinned through <c>MemoryMarshal.GetReference</c> rather than <c>fixed (T* p = span)</c>: the latter binds to
/// <c>ReadOnlySpan.GetPinnableReference</c>, whose <c>ref readonly</c> signature older Mono runtimes (Debian's 6.8)
/// cannot resolve, while a native call is exactly what those runtimes need.
/// </remarks>
internal static unsafe class NativeKernels
{
    private const int StatusOk = 0;
    private const int StatusType = -1;
    private const int StatusArgument = -2;
    private const int StatusMemory = -4;

    static NativeKernels()
    {
        IsAvailable = NativeLibraryBinding.TryBind(out string failure);
        UnavailableReason = failure;
    }

    /// <summary>Whether <c>libnpcsdk_native</c> was found and loaded.</summary>
    public static bool IsAvailable { get; }

    /// <summary>Why the library is not available (empty when it is).</summary>
    public static string UnavailableReason { get; }

    /// <summary>"native avx2", "native neon" or "native scalar" (the path the CPU got), or "native unavailable: why".</summary>
    public static string Description =>
        IsAvailable ? "native " + NativeLibraryBinding.PathName(NativeLibraryBinding.GetPath()) : "native unavailable: " + UnavailableReason;

    /// <summary>
    /// <c>output[r - rowStart] = Dot(row r, activation)</c> for r in [rowStart, rowEnd); the activation in
    /// <see cref="TensorTypeInfo.VecDotType"/> of <paramref name="t"/>. Same contract as <see cref="Tensors.MatVec.Compute"/>.
    /// </summary>
    public static void MatVec(TensorType t, ReadOnlySpan<byte> weights, int cols, ReadOnlySpan<byte> activation,
        Span<float> output, int rowStart, int rowEnd)
    {
        MatMul(t, weights, cols, activation, 1, output, rowEnd - rowStart, rowStart, rowEnd);
    }

    /// <summary>
    /// Several activation rows at once: <c>output[i * outputStride + (r - rowStart)] = Dot(row r, activation row i)</c>
    /// for i in [0, activationCount), r in [rowStart, rowEnd), each element as ggml's vec_dot computes it. The activation
    /// rows are contiguous, each <c>RowBytes(VecDotType(t), cols)</c> bytes.
    /// </summary>
    public static void MatMul(TensorType t, ReadOnlySpan<byte> weights, int cols, ReadOnlySpan<byte> activations,
        int activationCount, Span<float> output, int outputStride, int rowStart, int rowEnd) =>
        MatMul(MatMulKernel.VecDot, 0, t, weights, cols, activations, activationCount, output, outputStride, rowStart, rowEnd);

    /// <summary>
    /// As <see cref="MatMul(TensorType, ReadOnlySpan{byte}, int, ReadOnlySpan{byte}, int, Span{float}, int, int, int)"/>,
    /// each element with the arithmetic of llama.cpp's <paramref name="kernel"/> (<see cref="MatMulKernels.Select"/>):
    /// with <see cref="MatMulKernel.Repacked"/>, activation rows before <paramref name="gemmRows"/> take
    /// <see cref="MatMulKernel.RepackedGemm"/> (<see cref="MatMulKernels.ForRow"/>). Bit-identical to the managed
    /// kernels on the library's AVX2 path; the other paths differ in float rounding.
    /// </summary>
    public static void MatMul(MatMulKernel kernel, int gemmRows, TensorType t, ReadOnlySpan<byte> weights, int cols,
        ReadOnlySpan<byte> activations, int activationCount, Span<float> output, int outputStride, int rowStart, int rowEnd)
    {
        EnsureAvailable();
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

        if (activationCount < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(activationCount), $"{activationCount} activation rows.");
        }

        if (activations.Length < activationBytes * activationCount)
        {
            throw new ArgumentException($"{activationCount} activation rows need {activationBytes * activationCount} bytes, got {activations.Length}.", nameof(activations));
        }

        if (kernel == MatMulKernel.RepackedGemm || gemmRows < 0 || gemmRows > activationCount || (gemmRows > 0 && kernel != MatMulKernel.Repacked))
        {
            throw new ArgumentOutOfRangeException(nameof(gemmRows), $"{gemmRows} gemm rows of {activationCount} with the {kernel} kernel.");
        }

        int count = rowEnd - rowStart;
        if (activationCount > 1 && outputStride < count)
        {
            throw new ArgumentOutOfRangeException(nameof(outputStride), $"An output stride of {outputStride} is shorter than the {count} rows.");
        }

        if (count > 0 && activationCount > 0 && output.Length < (long)(activationCount - 1) * outputStride + count)
        {
            throw new ArgumentException($"The output needs {(long)(activationCount - 1) * outputStride + count} elements, got {output.Length}.", nameof(output));
        }

        if (count == 0 || activationCount == 0)
        {
            return;
        }

        int rows = (int)Math.Min(int.MaxValue, weights.Length / rowBytes);
        fixed (byte* w = &MemoryMarshal.GetReference(weights))
        fixed (byte* a = &MemoryMarshal.GetReference(activations))
        fixed (float* o = &MemoryMarshal.GetReference(output))
        {
            Check(NativeLibraryBinding.MatMul(NativeKernel(kernel), gemmRows, (int)t, w, rowBytes, rows, cols, a, activationBytes, activationCount, o, outputStride, rowStart, rowEnd), t);
        }
    }

    /// <summary>
    /// Whether the loaded library has the interleaved Q4_0 product (<see cref="MatMulQ4_0Interleaved"/>): false when the
    /// library is missing or older than ABI version 4.
    /// </summary>
    public static bool SupportsQ4_0Interleaved => IsAvailable && NativeLibraryBinding.HasQ4_0Interleaved;

    /// <summary>
    /// <c>Q4_0Interleaved.Compute</c> in the library, with the same bits on every path (AVX2, NEON, plain C):
    /// <c>output[t * outputStride + r] = row r · activation t</c> for the <paramref name="groups"/> groups of 8 rows at
    /// <paramref name="packed"/> (<see cref="Q4_0Interleaved.Repack"/>'s layout) and <paramref name="tokens"/> Q8_0
    /// activations <paramref name="actStride"/> bytes apart. The caller splits a matrix's groups over its threads.
    /// </summary>
    public static void MatMulQ4_0Interleaved(byte* packed, int cols, int groups, byte* act, long actStride, int tokens, float* output, long outputStride)
    {
        if (!CheckInterleaved(SupportsQ4_0Interleaved, "The native library predates the interleaved Q4_0 kernel (ABI version 4); use the managed Q4_0Interleaved.",
            packed, cols, 32, 34, groups, 8, act, actStride, tokens, output, outputStride)) return;
        NativeLibraryBinding.MatMulQ4_0x8(packed, cols, groups, act, actStride, tokens, output, outputStride);
    }

    /// <summary>
    /// Whether the loaded library has the interleaved Q4_K product (<see cref="MatMulQ4_KInterleaved"/>) for the current
    /// <see cref="Q4_KInterleaved"/> layout: false when the library is missing or older than ABI version 6 (version 5's
    /// kernel reads an older layout).
    /// </summary>
    public static bool SupportsQ4_KInterleaved => IsAvailable && NativeLibraryBinding.HasQ4_KInterleaved;

    /// <summary>
    /// <c>Q4_KInterleaved.Compute</c> in the library, with the same bits on every path (AVX2, NEON, plain C):
    /// <c>output[t * outputStride + r] = row r · activation t</c> for the <paramref name="groups"/> groups of 8 rows at
    /// <paramref name="packed"/> (<see cref="Q4_KInterleaved.Repack"/>'s layout) and <paramref name="tokens"/> Q8_K
    /// activations <paramref name="actStride"/> bytes apart; activation t takes the repacked gemm's per-64 arithmetic
    /// when <c>firstRow + t &lt; gemmRows</c>, else the gemv's per-256 one. The caller splits a matrix's groups over its threads.
    /// </summary>
    public static void MatMulQ4_KInterleaved(byte* packed, int cols, int groups, byte* act, long actStride, int tokens, int firstRow, int gemmRows,
        float* output, long outputStride)
    {
        if (!CheckInterleaved(SupportsQ4_KInterleaved, "The native library predates the interleaved Q4_K kernel of this layout (ABI version 6); use the managed Q4_KInterleaved.",
            packed, cols, 256, 292, groups, 8, act, actStride, tokens, output, outputStride)) return;
        NativeLibraryBinding.MatMulQ4_Kx8(packed, cols, groups, act, actStride, tokens, firstRow, gemmRows, output, outputStride);
    }

    /// <summary>
    /// Whether the loaded library has the interleaved Q5_0 product (<see cref="MatMulQ5_0Interleaved"/>): false when the
    /// library is missing or older than ABI version 8.
    /// </summary>
    public static bool SupportsQ5_0Interleaved => IsAvailable && NativeLibraryBinding.HasQ5_0Interleaved;

    /// <summary>
    /// <c>Q5_0Interleaved.Compute</c> in the library, with the same bits on every path (AVX2, NEON, plain C), those of
    /// the managed kernels (per block an exact integer dot, one FMA per row): <c>output[t * outputStride + r] = row r ·
    /// activation t</c> for the <paramref name="groups"/> groups of 8 rows at <paramref name="packed"/>
    /// (<see cref="Q5_0Interleaved.Repack"/>'s layout) and <paramref name="tokens"/> Q8_0 activations
    /// <paramref name="actStride"/> bytes apart. The caller splits a matrix's groups over its threads.
    /// </summary>
    public static void MatMulQ5_0Interleaved(byte* packed, int cols, int groups, byte* act, long actStride, int tokens, float* output, long outputStride)
    {
        if (!CheckInterleaved(SupportsQ5_0Interleaved, "The native library predates the interleaved Q5_0 kernel of this layout (ABI version 8); use the managed Q5_0Interleaved.",
            packed, cols, 32, 34, groups, 8, act, actStride, tokens, output, outputStride)) return;
        NativeLibraryBinding.MatMulQ5_0x8(packed, cols, groups, act, actStride, tokens, output, outputStride);
    }

    /// <summary>
    /// The checks shared by the interleaved products, whose native entry points have no status to return: arguments they
    /// would ignore are errors here. False when there is nothing to compute. <paramref name="blockCols"/> and
    /// <paramref name="blockBytes"/>: an activation block's columns and bytes; <paramref name="groupRows"/>: rows per group.
    /// </summary>
    private static bool CheckInterleaved(bool supported, string unsupported, byte* packed, int cols, int blockCols, int blockBytes, int groups, int groupRows,
        byte* act, long actStride, int tokens, float* output, long outputStride)
    {
        if (!supported)
        {
            throw new InvalidOperationException(IsAvailable ? unsupported : "The native kernels are not available (" + UnavailableReason + "); use the managed kernels.");
        }

        if (cols <= 0 || cols % blockCols != 0 || groups < 0 || tokens < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cols), $"{groups} groups of {cols} columns, {tokens} tokens.");
        }

        if (groups == 0 || tokens == 0)
        {
            return false;
        }

        if (packed == null || act == null || output == null)
        {
            throw new ArgumentNullException(packed == null ? nameof(packed) : act == null ? nameof(act) : nameof(output));
        }

        if (tokens > 1 && (actStride < (long)(cols / blockCols) * blockBytes || outputStride < (long)groupRows * groups))
        {
            throw new ArgumentOutOfRangeException(nameof(actStride), $"Strides of {actStride} bytes and {outputStride} floats are too short for {cols} columns and {groupRows * groups} rows.");
        }

        return true;
    }

    /// <summary>Same bytes as <see cref="Quantizer.QuantizeRow"/>, for the activation formats F32, F16, BF16, Q8_0, Q8_1, Q8_K.</summary>
    public static void QuantizeRow(TensorType t, ReadOnlySpan<float> src, Span<byte> dst) => QuantizeRows(t, src, 1, dst);

    /// <summary><paramref name="count"/> contiguous rows of <c>src.Length / count</c> floats, each quantized like <see cref="QuantizeRow"/>.</summary>
    public static void QuantizeRows(TensorType t, ReadOnlySpan<float> src, int count, Span<byte> dst)
    {
        EnsureAvailable();
        if (count <= 0 || src.Length % count != 0)
        {
            throw new ArgumentException($"{src.Length} floats are not {count} rows of equal length.", nameof(src));
        }

        int n = src.Length / count;
        long rowBytes = TensorTypeInfo.RowBytes(t, n);
        if (dst.Length < rowBytes * count)
        {
            throw new ArgumentException($"{count} {t} rows of {n} elements need {rowBytes * count} bytes, the destination has {dst.Length}.", nameof(dst));
        }

        if (n == 0)
        {
            return;
        }

        fixed (float* s = &MemoryMarshal.GetReference(src))
        fixed (byte* d = &MemoryMarshal.GetReference(dst))
        {
            Check(NativeLibraryBinding.QuantizeRows((int)t, s, n, d, rowBytes, n, count), t);
        }
    }

    /// <summary>Converts a row of any supported format back to float, like <see cref="Dequantizer.DequantizeRow"/>.</summary>
    public static void DequantizeRow(TensorType t, ReadOnlySpan<byte> src, Span<float> dst)
    {
        EnsureAvailable();
        long rowBytes = TensorTypeInfo.RowBytes(t, dst.Length);
        if (src.Length < rowBytes)
        {
            throw new ArgumentException($"A {t} row of {dst.Length} elements needs {rowBytes} bytes, got {src.Length}.", nameof(src));
        }

        if (dst.Length == 0)
        {
            return;
        }

        fixed (byte* s = &MemoryMarshal.GetReference(src))
        fixed (float* d = &MemoryMarshal.GetReference(dst))
        {
            Check(NativeLibraryBinding.DequantizeRow((int)t, s, d, dst.Length), t);
        }
    }

    /// <summary>y = x / rms(x) * w, like <c>VectorOps.RmsNorm</c> (sum of squares in double).</summary>
    public static void RmsNorm(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y, float eps)
    {
        EnsureAvailable();
        if (w.Length < x.Length || y.Length < x.Length || x.Length == 0)
        {
            throw new ArgumentException($"RmsNorm of {x.Length} values needs as many weights ({w.Length}) and outputs ({y.Length}).", nameof(x));
        }

        fixed (float* px = &MemoryMarshal.GetReference(x))
        fixed (float* pw = &MemoryMarshal.GetReference(w))
        fixed (float* py = &MemoryMarshal.GetReference(y))
        {
            Check(NativeLibraryBinding.RmsNorm(px, pw, py, x.Length, eps), TensorType.F32);
        }
    }

    /// <summary>gate = silu(gate) * up, the same values as <c>VectorOps.SwiGlu</c>.</summary>
    public static void SwiGlu(Span<float> gate, ReadOnlySpan<float> up)
    {
        EnsureAvailable();
        if (up.Length < gate.Length) throw new ArgumentException($"SwiGlu of {gate.Length} values needs as many up values, got {up.Length}.", nameof(up));
        if (gate.Length == 0)
        {
            return;
        }

        fixed (float* pg = &MemoryMarshal.GetReference(gate))
        fixed (float* pu = &MemoryMarshal.GetReference(up))
        {
            Check(NativeLibraryBinding.SwiGlu(pg, pu, gate.Length), TensorType.F32);
        }
    }

    /// <summary>In-place softmax, like <c>VectorOps.Softmax</c> (normaliser in double).</summary>
    public static void Softmax(Span<float> x)
    {
        EnsureAvailable();
        if (x.Length == 0)
        {
            return;
        }

        fixed (float* px = &MemoryMarshal.GetReference(x))
        {
            Check(NativeLibraryBinding.Softmax(px, x.Length), TensorType.F32);
        }
    }

    /// <summary>
    /// Rotary embedding in place, like <c>ForwardPass.Rope</c>: <paramref name="heads"/> heads of <paramref name="headDim"/>
    /// floats, head h at <c>x[h * headStride]</c>; pairs i &lt; cos.Length (= ropeDim / 2) rotated by cos[i] / sin[i], adjacent
    /// pairs (llama) or halves (<paramref name="neox"/>: qwen2).
    /// </summary>
    public static void Rope(Span<float> x, int heads, int headDim, int headStride, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, bool neox)
    {
        EnsureAvailable();
        int ropeDim = 2 * cos.Length;
        if (sin.Length != cos.Length || ropeDim > headDim || heads < 0 || headStride < headDim)
        {
            throw new ArgumentException($"Rope over {heads} heads of {headDim} (stride {headStride}) with {cos.Length} cos and {sin.Length} sin values.", nameof(cos));
        }

        if (heads == 0 || ropeDim == 0)
        {
            return;
        }

        if (x.Length < (long)(heads - 1) * headStride + headDim)
        {
            throw new ArgumentException($"{heads} heads of {headDim} with stride {headStride} need {(long)(heads - 1) * headStride + headDim} floats, got {x.Length}.", nameof(x));
        }

        fixed (float* px = &MemoryMarshal.GetReference(x))
        fixed (float* pc = &MemoryMarshal.GetReference(cos))
        fixed (float* ps = &MemoryMarshal.GetReference(sin))
        {
            Check(NativeLibraryBinding.Rope(px, heads, headDim, headStride, ropeDim, pc, ps, neox ? 2 : 0), TensorType.F32);
        }
    }

    /// <summary>
    /// Causal attention of one query head over <paramref name="positions"/> cached positions, like the managed
    /// <c>Attention</c> for one (token, head): softmax(q·K * scale)·V. Key and value j are at <c>j * kvStrideBytes</c> in
    /// <paramref name="keys"/> / <paramref name="values"/>, <c>q.Length</c> elements of <paramref name="kvType"/> (F32 or F16).
    /// <paramref name="scores"/> is scratch of at least <paramref name="positions"/> floats.
    /// </summary>
    public static void Attention(ReadOnlySpan<float> q, TensorType kvType, ReadOnlySpan<byte> keys, ReadOnlySpan<byte> values,
        int kvStrideBytes, int positions, float scale, Span<float> scores, Span<float> output)
    {
        EnsureAvailable();
        if (kvType != TensorType.F32 && kvType != TensorType.F16)
        {
            throw new NotSupportedException($"Native attention reads F32 or F16 caches, not {kvType}.");
        }

        int headDim = q.Length;
        long rowBytes = TensorTypeInfo.RowBytes(kvType, headDim);
        long needed = positions == 0 ? 0 : (long)(positions - 1) * kvStrideBytes + rowBytes;
        if (headDim == 0 || positions < 0 || kvStrideBytes < rowBytes || keys.Length < needed || values.Length < needed ||
            scores.Length < positions || output.Length < headDim)
        {
            throw new ArgumentException($"Attention over {positions} positions of {headDim} {kvType} values (stride {kvStrideBytes}) needs {needed} bytes of keys and values, {positions} scores and {headDim} outputs.", nameof(keys));
        }

        if (positions == 0)
        {
            output.Slice(0, headDim).Clear();
            return;
        }

        fixed (float* pq = &MemoryMarshal.GetReference(q))
        fixed (byte* pk = &MemoryMarshal.GetReference(keys))
        fixed (byte* pv = &MemoryMarshal.GetReference(values))
        fixed (float* ps = &MemoryMarshal.GetReference(scores))
        fixed (float* po = &MemoryMarshal.GetReference(output))
        {
            Check(NativeLibraryBinding.Attention(pq, headDim, (int)kvType, pk, pv, kvStrideBytes, positions, scale, ps, po), kvType);
        }
    }

    /// <summary>
    /// Switches every later call to the named path ("scalar", "avx2", "neon"); false if this CPU or build lacks it.
    /// For tests and benchmarks: it must not race with running kernels.
    /// </summary>
    internal static bool TryUsePath(string name)
    {
        EnsureAvailable();
        for (int path = 0; path < 3; path++)
        {
            if (NativeLibraryBinding.PathName(path) == name && NativeLibraryBinding.PathSupported(path) != 0)
            {
                return NativeLibraryBinding.SetPath(path) == StatusOk;
            }
        }

        return false;
    }

    /// <summary>The header's enum npc_kernel.</summary>
    private static int NativeKernel(MatMulKernel kernel) => kernel switch
    {
        MatMulKernel.VecDot => 0,
        MatMulKernel.TinyBlas => 1,
        _ => 2,
    };

    private static void EnsureAvailable()
    {
        if (!IsAvailable)
        {
            throw new InvalidOperationException("The native kernels are not available (" + UnavailableReason + "); use the managed kernels.");
        }
    }

    private static void Check(int status, TensorType t)
    {
        switch (status)
        {
            case StatusOk:
                return;
            case StatusType:
                throw new NotSupportedException($"The native kernels do not support tensor type {t} here.");
            case StatusArgument:
                throw new ArgumentException($"The native kernel rejected the arguments for {t}.");
            case StatusMemory:
                throw new OutOfMemoryException("The native kernel could not allocate its scratch buffer.");
            default:
                throw new InvalidOperationException($"The native kernel failed with status {status}.");
        }
    }
}
