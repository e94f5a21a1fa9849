using System;
using System.Runtime.CompilerServices;
using NpcSdk.Compute;
#if NET
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace NpcSdk.Tensors;

/// <summary>
/// Float-weight (F32, F16, BF16) matrix products over a batch of at least two activation rows, numerically as
/// llamafile's tinyBLAS computes them on AVX2 (<c>llamafile_sgemm</c>, which ggml tries first for such batches): every
/// output element is one 8-lane FMA accumulator walking the reduction 8 elements at a time, then <c>hsum</c>. F16/BF16
/// weights meet an activation already rounded to the same type (ggml converts it to the weight's vec_dot type first).
/// </summary>
/// <remarks>
/// Only the per-element sequence of operations matters for the result, so the kernel is free to tile: it keeps
/// 4 weight rows x 3 activation rows of accumulators in registers, like tinyBLAS does, to hide the FMA latency.
/// </remarks>
internal static unsafe class FloatGemm
{
    /// <summary>Whether llama.cpp would hand a batched product with this weight matrix to tinyBLAS.</summary>
    public static bool Applies(TensorType t, int rows, int cols) =>
        (t == TensorType.F32 || t == TensorType.F16 || t == TensorType.BF16) && cols % 8 == 0 && rows % 4 == 0;

    /// <summary>
    /// output[t * outStride + r] = row r · activation t for weight rows r in [0, rows) of <paramref name="weights"/>
    /// and activation rows t in [0, batch) (floats, <paramref name="activationStride"/> apart; for F16/BF16 weights the
    /// values must already be representable in that type). <paramref name="finiteHalves"/>: F16 weights known to hold no
    /// infinity or NaN, widened with fewer instructions (the same floats).
    /// </summary>
    public static void Compute(TensorType t, ReadOnlySpan<byte> weights, int rows, int cols,
        ReadOnlySpan<float> activations, int activationStride, int batch, Span<float> output, int outStride, bool finiteHalves = false)
    {
        long rowBytes = TensorTypeInfo.RowBytes(t, cols);
        if (cols % 8 != 0) throw new ArgumentException($"tinyBLAS needs a reduction length that is a multiple of 8, got {cols}", nameof(cols));
        if (weights.Length < rows * rowBytes) throw new ArgumentException($"{rows} rows of {t} need {rows * rowBytes} bytes, got {weights.Length}", nameof(weights));
        if (batch > 0 && activations.Length < (batch - 1) * activationStride + cols) throw new ArgumentException("activation rows out of range", nameof(activations));
        if (batch > 0 && output.Length < (batch - 1) * outStride + rows) throw new ArgumentException("output rows out of range", nameof(output));
        fixed (byte* w = weights)
        fixed (float* a = activations)
        fixed (float* o = output)
        {
            int r = 0;
#if NET
            if (Avx2.IsSupported && Fma.IsSupported)
            {
                for (; r + 4 <= rows; r += 4)
                {
                    int j = 0;
                    for (; j + 3 <= batch; j += 3)
                    {
                        if (finiteHalves && t == TensorType.F16)
                            Tile4x3<VecDotAvx2.FiniteHalves>(t, w + r * rowBytes, rowBytes, cols, a + j * activationStride, activationStride, o + j * outStride + r, outStride);
                        else
                            Tile4x3<VecDotAvx2.ExactHalves>(t, w + r * rowBytes, rowBytes, cols, a + j * activationStride, activationStride, o + j * outStride + r, outStride);
                    }
                    for (; j < batch; j++)
                        for (int i = 0; i < 4; i++) o[j * outStride + r + i] = Dot(t, w + (r + i) * rowBytes, a + j * activationStride, cols);
                }
            }
#endif
            for (; r < rows; r++)
                for (int j = 0; j < batch; j++) o[j * outStride + r] = Dot(t, w + r * rowBytes, a + j * activationStride, cols);
        }
    }

    /// <summary>One output element: tinyBLAS' accumulation of weight row <paramref name="x"/> (type t) with floats <paramref name="y"/>.</summary>
    public static float Dot(TensorType t, byte* x, float* y, int n)
    {
#if NET
        if (Avx2.IsSupported && Fma.IsSupported)
        {
            Vector256<float> acc = Vector256<float>.Zero;
            for (int l = 0; l < n; l += 8) acc = Fma.MultiplyAdd(Load(t, x, l), Avx.LoadVector256(y + l), acc);
            return GgmlMath.Hsum(acc);
        }
#endif
        Span<float> lanes = stackalloc float[8];
        lanes.Clear();
        for (int l = 0; l < n; l += 8)
            for (int i = 0; i < 8; i++) lanes[i] = GgmlMath.FusedMultiplyAdd(Element(t, x, l + i), y[l + i], lanes[i]);
        return GgmlMath.Hsum8(lanes);
    }

    /// <summary><see cref="Dot(TensorType, byte*, float*, int)"/> over spans (the float row widened from the same type).</summary>
    public static float Dot(TensorType t, ReadOnlySpan<byte> x, ReadOnlySpan<float> y, int n)
    {
        if (x.Length < TensorTypeInfo.RowBytes(t, n) || y.Length < n) throw new ArgumentException($"rows of {n} elements needed");
        fixed (byte* px = x)
        fixed (float* py = y)
        {
            return Dot(t, px, py, n);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Element(TensorType t, byte* x, int i) => t switch
    {
        TensorType.F32 => ((float*)x)[i],
        TensorType.F16 => Half16.ToFloat(((ushort*)x)[i]),
        _ => BFloat16.ToFloat(((ushort*)x)[i]),
    };

#if NET
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load(TensorType t, byte* x, int l) => Load<VecDotAvx2.ExactHalves>(t, x, l);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load<TWiden>(TensorType t, byte* x, int l) where TWiden : struct, VecDotAvx2.IHalfWidening => t switch
    {
        TensorType.F32 => Avx.LoadVector256((float*)x + l),
        TensorType.F16 => TWiden.Widen(Sse2.LoadVector128((ushort*)x + l)),
        _ => VecDotAvx2.BFloat16ToSingle(Sse2.LoadVector128((ushort*)x + l)),
    };

    /// <summary>4 weight rows x 3 activation rows, 12 accumulators (tinyBLAS' register tile on 16-register AVX2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x3<TWiden>(TensorType t, byte* w, long rowBytes, int n, float* a, int aStride, float* o, int oStride)
        where TWiden : struct, VecDotAvx2.IHalfWidening
    {
        Vector256<float> c00 = Vector256<float>.Zero, c01 = c00, c02 = c00, c03 = c00;
        Vector256<float> c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        Vector256<float> c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        byte* w1 = w + rowBytes, w2 = w + 2 * rowBytes, w3 = w + 3 * rowBytes;
        float* a1 = a + aStride, a2 = a + 2 * aStride;
        for (int l = 0; l < n; l += 8)
        {
            Vector256<float> r0 = Load<TWiden>(t, w, l), r1 = Load<TWiden>(t, w1, l), r2 = Load<TWiden>(t, w2, l), r3 = Load<TWiden>(t, w3, l);
            Vector256<float> b = Avx.LoadVector256(a + l);
            c00 = Fma.MultiplyAdd(r0, b, c00); c01 = Fma.MultiplyAdd(r1, b, c01); c02 = Fma.MultiplyAdd(r2, b, c02); c03 = Fma.MultiplyAdd(r3, b, c03);
            b = Avx.LoadVector256(a1 + l);
            c10 = Fma.MultiplyAdd(r0, b, c10); c11 = Fma.MultiplyAdd(r1, b, c11); c12 = Fma.MultiplyAdd(r2, b, c12); c13 = Fma.MultiplyAdd(r3, b, c13);
            b = Avx.LoadVector256(a2 + l);
            c20 = Fma.MultiplyAdd(r0, b, c20); c21 = Fma.MultiplyAdd(r1, b, c21); c22 = Fma.MultiplyAdd(r2, b, c22); c23 = Fma.MultiplyAdd(r3, b, c23);
        }

        o[0] = GgmlMath.Hsum(c00); o[1] = GgmlMath.Hsum(c01); o[2] = GgmlMath.Hsum(c02); o[3] = GgmlMath.Hsum(c03);
        o += oStride;
        o[0] = GgmlMath.Hsum(c10); o[1] = GgmlMath.Hsum(c11); o[2] = GgmlMath.Hsum(c12); o[3] = GgmlMath.Hsum(c13);
        o += oStride;
        o[0] = GgmlMath.Hsum(c20); o[1] = GgmlMath.Hsum(c21); o[2] = GgmlMath.Hsum(c22); o[3] = GgmlMath.Hsum(c23);
    }
#endif
}
