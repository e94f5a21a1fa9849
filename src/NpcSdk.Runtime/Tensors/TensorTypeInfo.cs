using System;

namespace NpcSdk.Tensors;

/// <summary>
/// The table of block layouts: elements and bytes per block of each <see cref="TensorType"/>, as ggml's
/// <c>type_traits</c> (blck_size, type_size), plus ggml-cpu's <c>vec_dot_type</c> partner format.
/// </summary>
internal static class TensorTypeInfo
{
    /// <summary>Elements per super-block of the K-quants (ggml's QK_K).</summary>
    public const int QK_K = 256;

    /// <summary>Elements per block of the legacy quants Q4_0 .. Q8_1.</summary>
    public const int QK = 32;

    public static bool IsSupported(TensorType t)
    {
        switch (t)
        {
            case TensorType.F32:
            case TensorType.F16:
            case TensorType.BF16:
            case TensorType.Q4_0:
            case TensorType.Q4_1:
            case TensorType.Q5_0:
            case TensorType.Q5_1:
            case TensorType.Q8_0:
            case TensorType.Q8_1:
            case TensorType.Q2_K:
            case TensorType.Q3_K:
            case TensorType.Q4_K:
            case TensorType.Q5_K:
            case TensorType.Q6_K:
            case TensorType.Q8_K:
                return true;
            default:
                return false;
        }
    }

    public static int BlockSize(TensorType t)
    {
        switch (t)
        {
            case TensorType.F32:
            case TensorType.F16:
            case TensorType.BF16:
                return 1;
            case TensorType.Q4_0:
            case TensorType.Q4_1:
            case TensorType.Q5_0:
            case TensorType.Q5_1:
            case TensorType.Q8_0:
            case TensorType.Q8_1:
                return QK;
            case TensorType.Q2_K:
            case TensorType.Q3_K:
            case TensorType.Q4_K:
            case TensorType.Q5_K:
            case TensorType.Q6_K:
            case TensorType.Q8_K:
                return QK_K;
            default:
                throw Unsupported(t);
        }
    }

    public static int BlockBytes(TensorType t)
    {
        switch (t)
        {
            case TensorType.F32: return 4;
            case TensorType.F16: return 2;
            case TensorType.BF16: return 2;
            case TensorType.Q4_0: return 2 + 16;                   // d, qs[16]
            case TensorType.Q4_1: return 2 + 2 + 16;               // d, m, qs[16]
            case TensorType.Q5_0: return 2 + 4 + 16;               // d, qh[4], qs[16]
            case TensorType.Q5_1: return 2 + 2 + 4 + 16;           // d, m, qh[4], qs[16]
            case TensorType.Q8_0: return 2 + 32;                   // d, qs[32]
            case TensorType.Q8_1: return 2 + 2 + 32;               // d, s, qs[32]
            case TensorType.Q2_K: return 16 + 64 + 2 + 2;          // scales[16], qs[64], d, dmin
            case TensorType.Q3_K: return 32 + 64 + 12 + 2;         // hmask[32], qs[64], scales[12], d
            case TensorType.Q4_K: return 2 + 2 + 12 + 128;         // d, dmin, scales[12], qs[128]
            case TensorType.Q5_K: return 2 + 2 + 12 + 32 + 128;    // d, dmin, scales[12], qh[32], qs[128]
            case TensorType.Q6_K: return 128 + 64 + 16 + 2;        // ql[128], qh[64], scales[16], d
            case TensorType.Q8_K: return 4 + 256 + 2 * 16;         // float d, qs[256], short bsums[16]
            default:
                throw Unsupported(t);
        }
    }

    /// <summary>Bytes of a row of <paramref name="n"/> elements; <paramref name="n"/> must be a whole number of blocks.</summary>
    public static long RowBytes(TensorType t, long n)
    {
        int blockSize = BlockSize(t);
        if (n < 0 || n % blockSize != 0)
        {
            throw new ArgumentException($"A row of {n} elements is not a whole number of {t} blocks of {blockSize}.", nameof(n));
        }

        return n / blockSize * BlockBytes(t);
    }

    /// <summary>
    /// The format activations are converted to before a dot product with a row of <paramref name="t"/>
    /// (ggml-cpu's <c>type_traits_cpu[t].vec_dot_type</c>).
    /// </summary>
    public static TensorType VecDotType(TensorType t)
    {
        switch (t)
        {
            case TensorType.F32: return TensorType.F32;
            case TensorType.F16: return TensorType.F16;
            case TensorType.BF16: return TensorType.BF16;
            case TensorType.Q4_0:
            case TensorType.Q5_0:
            case TensorType.Q8_0:
                return TensorType.Q8_0;
            case TensorType.Q4_1:
            case TensorType.Q5_1:
            case TensorType.Q8_1:
                return TensorType.Q8_1;
            case TensorType.Q2_K:
            case TensorType.Q3_K:
            case TensorType.Q4_K:
            case TensorType.Q5_K:
            case TensorType.Q6_K:
            case TensorType.Q8_K:
                return TensorType.Q8_K;
            default:
                throw Unsupported(t);
        }
    }

    public static bool IsQuantized(TensorType t)
    {
        if (!IsSupported(t))
        {
            throw Unsupported(t);
        }

        return t != TensorType.F32 && t != TensorType.F16 && t != TensorType.BF16;
    }

    internal static NotSupportedException Unsupported(TensorType t) =>
        new NotSupportedException($"Tensor type {t} (ggml type id {(uint)t}) is not supported.");
}
