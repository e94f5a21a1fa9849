namespace NpcSdk.Tensors;

/// <summary>
/// The kernel family llama.cpp's CPU backend (AVX2 build) uses for a mul_mat. They compute the same mathematical
/// product but accumulate in different orders, so matching llama.cpp bit for bit means choosing the same one.
/// </summary>
internal enum MatMulKernel
{
    /// <summary><c>ggml_vec_dot_*</c> per output element (single tokens, K-quants, and formats without a faster path).</summary>
    VecDot,

    /// <summary>llamafile's tinyBLAS float GEMM (F32/F16/BF16 weights, batches of 2+), see <see cref="FloatGemm"/>.</summary>
    TinyBlas,

    /// <summary>
    /// The CPU_REPACK 8-row interleaved kernels (Q4_0, Q4_K with a multiple of 8 rows): <c>ggml_gemv_*</c>, which
    /// llama.cpp runs for single tokens and for the last <c>batch % 4</c> rows of a batch.
    /// </summary>
    Repacked,

    /// <summary>
    /// <c>ggml_gemm_*</c> of the same repacked weights, which takes the first <c>batch - batch % 4</c> rows of a batch
    /// in groups of four. For Q4_K it accumulates per 64 elements instead of per 256 (see <see cref="MatMulKernels.ForRow"/>).
    /// </summary>
    RepackedGemm,
}

/// <summary>Which <see cref="MatMulKernel"/> llama.cpp picks.</summary>
internal static class MatMulKernels
{
    /// <summary>
    /// The kernel for <paramref name="rows"/> x <paramref name="cols"/> weights of type <paramref name="t"/> multiplied
    /// with <paramref name="batch"/> activation rows. Q8_0/Q5_0/Q4_1-style batches go through tinyBLAS_Q0 or the
    /// plain vec_dot loop, whose per-element arithmetic is that of vec_dot, so they report <see cref="MatMulKernel.VecDot"/>.
    /// </summary>
    public static MatMulKernel Select(TensorType t, int rows, int cols, int batch)
    {
        switch (t)
        {
            case TensorType.F32:
            case TensorType.F16:
            case TensorType.BF16:
                return batch >= 2 && FloatGemm.Applies(t, rows, cols) ? MatMulKernel.TinyBlas : MatMulKernel.VecDot;
            case TensorType.Q4_0:
            case TensorType.Q4_K:
                // ggml_repack_get_optimal_repack_type on AVX2: q4_0_8x8_q8_0 and q4_K_8x8_q8_K need whole groups of 8 rows.
                return rows % 8 == 0 ? MatMulKernel.Repacked : MatMulKernel.VecDot;
            default:
                return MatMulKernel.VecDot;
        }
    }

    /// <summary>
    /// The kernel for activation row <paramref name="row"/> of a <paramref name="batch"/>-row mul_mat that uses
    /// <paramref name="kernel"/>: repacked weights go through the 4-row gemm for the rows before <c>batch - batch % 4</c>
    /// (quantized 4 rows at a time by <c>ggml_quantize_mat_q8_*_4x8</c>, which yields the same bytes as the row quantizer).
    /// </summary>
    public static MatMulKernel ForRow(MatMulKernel kernel, int row, int batch) =>
        kernel == MatMulKernel.Repacked && row < batch - batch % 4 ? MatMulKernel.RepackedGemm : kernel;
}
