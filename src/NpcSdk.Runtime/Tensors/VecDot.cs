using System;
using System.Runtime.CompilerServices;
#if NET
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace NpcSdk.Tensors;

/// <summary>
/// Dot product of one weight row with one activation row already quantized to the weight's partner format
/// (<see cref="TensorTypeInfo.VecDotType"/>), like ggml-cpu's <c>vec_dot</c>. Picks the fastest kernel the machine
/// supports: AVX2+FMA intrinsics, else portable <c>Vector256</c> when hardware-accelerated, else the scalar reference
/// (always the case on netstandard2.1). All paths compute the same per-block integer sums; results differ only in
/// float summation order.
/// </summary>
internal static unsafe class VecDot
{
    public static float Dot(TensorType t, ReadOnlySpan<byte> weightRow, ReadOnlySpan<byte> activationRow, int n)
    {
        CheckRows(t, weightRow.Length, activationRow.Length, n);
        fixed (byte* x = weightRow)
        fixed (byte* y = activationRow)
        {
            return Dot(t, x, y, n);
        }
    }

    internal static float Dot(TensorType t, byte* x, byte* y, int n)
    {
#if NET
        if (VecDotAvx2.IsSupported)
        {
            return VecDotAvx2.Dot(t, x, y, n);
        }

        if (VecDotPortable.IsSupported)
        {
            return VecDotPortable.Dot(t, x, y, n);
        }

#endif
        return VecDotScalar.Dot(t, x, y, n);
    }

    /// <summary>One output element computed as llama.cpp's <paramref name="kernel"/> does (not <see cref="MatMulKernel.TinyBlas"/>, see <see cref="FloatGemm"/>).</summary>
    internal static float Dot(MatMulKernel kernel, TensorType t, byte* x, byte* y, int n)
    {
        switch (kernel)
        {
            case MatMulKernel.Repacked:
#if NET
                if (VecDotAvx2.IsSupported) return VecDotAvx2.Repacked(t, x, y, n);
#endif
                return VecDotScalar.Repacked(t, x, y, n);
            case MatMulKernel.RepackedGemm:
#if NET
                if (VecDotAvx2.IsSupported) return VecDotAvx2.RepackedGemm(t, x, y, n);
#endif
                return VecDotScalar.RepackedGemm(t, x, y, n);
            case MatMulKernel.VecDot:
                return Dot(t, x, y, n);
            default:
                throw new ArgumentOutOfRangeException(nameof(kernel), kernel, "tinyBLAS products go through FloatGemm");
        }
    }

    internal static void CheckRows(TensorType t, int weightBytes, int activationBytes, int n)
    {
        long wBytes = TensorTypeInfo.RowBytes(t, n);
        TensorType partner = TensorTypeInfo.VecDotType(t);
        long aBytes = TensorTypeInfo.RowBytes(partner, n);
        if (weightBytes < wBytes)
        {
            throw new ArgumentException($"A {t} weight row of {n} elements needs {wBytes} bytes, got {weightBytes}.", "weightRow");
        }

        if (activationBytes < aBytes)
        {
            throw new ArgumentException($"A {partner} activation row of {n} elements needs {aBytes} bytes, got {activationBytes}.", "activationRow");
        }
    }
}
