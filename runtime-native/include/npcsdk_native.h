/*
 * npcsdk_native: the native kernels of NpcSdk (C11).
 *
 * Quantized matrix-vector and matrix-matrix products over ggml block formats (as stored in GGUF files), the
 * activation quantizers that feed them, and a few float helpers of a transformer step. The C# runtime
 * (NpcSdk.Native.NativeKernels) loads this library at run time; when it is missing the managed kernels run (the
 * AVX2 path's npc_matmul_kernel gives their results bit for bit).
 *
 * Paths: x86-64 AVX2+FMA+F16C, ARM64 NEON, plain C. The best path the CPU supports is picked on first use
 * (cpuid on x86-64; NEON is always present on ARM64); the environment variable NPCSDK_NATIVE_PATH=scalar|avx2|neon
 * or npc_set_path() overrides it. All paths compute the same exact int32 sums per block; results differ only in
 * the order of float additions (npc_matmul_q4_0x8, npc_matmul_q4_Kx8 and npc_matmul_q5_0x8 have one order on every
 * path). The AVX2 path of npc_matmul_kernel reproduces ggml-cpu's (AVX2 build) order of every float operation, so its
 * results are bit-identical to llama.cpp's and the managed kernels'.
 *
 * Conventions
 *  - Types are ggml's ggml_type ids (NpcSdk.Tensors.TensorType), see enum npc_type.
 *  - A weight matrix is `rows` rows of `cols` elements, row r at `w + r * row_stride_bytes`.
 *  - Activations must already be in the weight type's dot partner (npc_vec_dot_type): F32->F32, F16->F16,
 *    BF16->BF16, Q4_0/Q5_0/Q8_0->Q8_0, Q4_1/Q5_1/Q8_1->Q8_1, K-quants->Q8_K. Quantize them with
 *    npc_quantize_row, which produces the same bytes as the managed Quantizer.QuantizeRow (ggml-cpu's x86 AVX2
 *    activation quantizers).
 *  - Buffers need the natural alignment of their block's fields: 2 bytes (4 for F32 and Q8_K). GGUF tensor data
 *    (32-byte aligned) and managed arrays always have it.
 *  - Functions return NPC_OK (0) or a negative NPC_ERR_* code (npc_matmul_q4_0x8, npc_matmul_q4_Kx8 and
 *    npc_matmul_q5_0x8 return nothing); they never abort and never allocate except npc_matmul for F16/BF16 weights
 *    (one float copy of the activations per call) and npc_attention for heads longer than 256. The first call of any
 *    kernel builds the kernel tables and a 256 KiB fp16->float table.
 *  - Thread safety: every function may be called concurrently from several threads (the C# runtime splits the
 *    rows of a matrix across its own threads and calls npc_matmul once per row range). npc_set_path is meant for
 *    tests and benchmarks and must not race with running kernels.
 */
#ifndef NPCSDK_NATIVE_H
#define NPCSDK_NATIVE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  if defined(NPCSDK_NATIVE_BUILD)
#    define NPC_API __declspec(dllexport)
#  else
#    define NPC_API __declspec(dllimport)
#  endif
#else
#  define NPC_API __attribute__((visibility("default")))
#endif

/**
 * Version of this header's ABI; bumped on every change. Version 4 added npc_matmul_q4_0x8 and version 5
 * npc_matmul_q4_Kx8, each changing nothing else, so a caller can use version 3 and 4 libraries without them.
 * Version 6 changed only the layout npc_matmul_q4_Kx8 reads (1152-byte super-blocks, the packed scale bytes kept; a
 * version 5 library reads 1184-byte ones with the scales and mins unpacked): use npc_matmul_q4_Kx8 from version 6 on.
 * Version 7 added npc_matmul_q5_0x4 (4-row groups, vec_dot's arithmetic); version 8 replaced it by npc_matmul_q5_0x8.
 */
#define NPC_ABI_VERSION 8

/** Element formats: ggml's ggml_type ids. */
enum npc_type {
    NPC_TYPE_F32 = 0,
    NPC_TYPE_F16 = 1,
    NPC_TYPE_Q4_0 = 2,
    NPC_TYPE_Q4_1 = 3,
    NPC_TYPE_Q5_0 = 6,
    NPC_TYPE_Q5_1 = 7,
    NPC_TYPE_Q8_0 = 8,
    NPC_TYPE_Q8_1 = 9,
    NPC_TYPE_Q2_K = 10,
    NPC_TYPE_Q3_K = 11,
    NPC_TYPE_Q4_K = 12,
    NPC_TYPE_Q5_K = 13,
    NPC_TYPE_Q6_K = 14,
    NPC_TYPE_Q8_K = 15,
    NPC_TYPE_BF16 = 30
};

/** Kernel paths. */
enum npc_path {
    NPC_PATH_SCALAR = 0,
    NPC_PATH_AVX2 = 1, /* x86-64 AVX2 + FMA + F16C */
    NPC_PATH_NEON = 2  /* ARM64 Advanced SIMD */
};

/** Return codes. */
enum npc_status {
    NPC_OK = 0,
    NPC_ERR_TYPE = -1,        /* type not supported by this function */
    NPC_ERR_ARGUMENT = -2,    /* null pointer, negative size, bad row range, cols not a whole number of blocks */
    NPC_ERR_UNSUPPORTED = -3, /* npc_set_path: the CPU (or this build) lacks that path */
    NPC_ERR_MEMORY = -4       /* allocation failed */
};

/** NPC_ABI_VERSION of the loaded library. */
NPC_API int npc_abi_version(void);

/** The path kernels run on now (the best the CPU supports unless overridden). */
NPC_API int npc_get_path(void);

/** The best path this CPU supports (what npc_get_path returns without overrides). */
NPC_API int npc_best_path(void);

/** Whether this CPU and build can run `path`. */
NPC_API int npc_path_supported(int path);

/** Forces `path` for all later calls; NPC_ERR_UNSUPPORTED if npc_path_supported(path) is 0. For tests and benchmarks. */
NPC_API int npc_set_path(int path);

/** "scalar", "avx2", "neon", or "unknown". */
NPC_API const char* npc_path_name(int path);

/** Elements per block of `type` (1 for F32/F16/BF16, 32 for Q4_0..Q8_1, 256 for the K-quants); 0 if unsupported. */
NPC_API int npc_block_size(int type);

/** Bytes per block of `type`; 0 if unsupported. */
NPC_API int npc_block_bytes(int type);

/** Bytes of a row of `n` elements of `type`; negative if unsupported or `n` is not a whole number of blocks. */
NPC_API int64_t npc_row_bytes(int type, int64_t n);

/** The activation format a row of `type` is multiplied with (ggml-cpu's vec_dot_type); NPC_ERR_TYPE if unsupported. */
NPC_API int npc_vec_dot_type(int type);

/**
 * Matrix product over a range of weight rows, for every activation row:
 *
 *   out[i * out_stride + (r - row_begin)] = dot(weight row r, activation row i)
 *   for i in [0, n_act), r in [row_begin, row_end)
 *
 * (`out` points at the result for row_begin of activation 0; out_stride is in floats.) Activation row i is at
 * `act + i * act_stride_bytes`, in npc_vec_dot_type(weight_type). n_act = 1 is a matrix-vector product (decode);
 * larger batches (prefill) reuse each loaded weight block against up to 4 activation rows. `rows` is only used to
 * check row_end. Every npc_type is accepted as weights (Q8_1 and Q8_K weights pair with themselves).
 */
NPC_API int npc_matmul(int weight_type, const void* w, int64_t row_stride_bytes, int rows, int cols,
                       const void* act, int64_t act_stride_bytes, int n_act,
                       float* out, int64_t out_stride, int row_begin, int row_end);

/** Accumulation orders of npc_matmul_kernel: which ggml-cpu kernel each output element is computed like. */
enum npc_kernel {
    NPC_KERNEL_VEC_DOT = 0,  /* ggml_vec_dot_<type>, every type (what npc_matmul computes) */
    NPC_KERNEL_TINYBLAS = 1, /* llamafile's tinyBLAS sgemm: F32/F16/BF16 weights, cols a multiple of 8 */
    NPC_KERNEL_REPACKED = 2  /* CPU_REPACK 8x8 kernels of Q4_0/Q4_K weights: ggml_gemm_* / ggml_gemv_* */
};

/**
 * npc_matmul with the arithmetic of ggml-cpu's `kernel` (enum npc_kernel). NPC_KERNEL_REPACKED computes activation
 * rows [0, n_gemm) like ggml_gemm_*_8x8 and the rest like ggml_gemv_*_8x8 (n_gemm is ignored by the other
 * kernels). Only the AVX2 path reproduces these orders bit for bit; the scalar and NEON paths compute every kernel
 * with their own npc_matmul order. NPC_ERR_TYPE if `kernel` does not apply to `weight_type`, NPC_ERR_ARGUMENT if
 * n_gemm is outside [0, n_act] or tinyBLAS gets cols not a multiple of 8.
 */
NPC_API int npc_matmul_kernel(int kernel, int n_gemm, int weight_type, const void* w, int64_t row_stride_bytes, int rows,
                              int cols, const void* act, int64_t act_stride_bytes, int n_act,
                              float* out, int64_t out_stride, int row_begin, int row_end);

/**
 * Q4_0 weights interleaved in groups of 8 rows (the managed NpcSdk.Tensors.Q4_0Interleaved layout) times `tokens`
 * Q8_0 activation rows:
 *
 *   out[t * out_stride + r] = dot(row r, activation t)   for t in [0, tokens), r in [0, 8 * groups)
 *
 * `packed` points at the first of `groups` groups; a group of 8 rows is (cols / 32) blocks of 144 bytes, one after
 * another: the 8 rows' F16 scales (row 0 first), then 4 chunks of 32 bytes, chunk k holding quant bytes 4k..4k+3 of
 * rows 0..7 in turn (a Q4_0 block's byte i has element i in its low nibble, element i + 16 in its high one).
 * Activation t is at `act + t * act_stride` bytes (cols / 32 blocks of block_q8_0). Every path, AVX2, NEON and
 * plain C, gives each element the bits of NPC_KERNEL_REPACKED on the AVX2 path: per block, in order,
 * acc = fmaf((float)exact integer dot, d_x * d_y, acc) from acc = 0.
 * A hot-path entry point without a status: it does nothing when a pointer is NULL, cols is not a positive multiple of
 * 32 or groups or tokens is not positive. It never allocates (32 KiB of stack).
 */
NPC_API void npc_matmul_q4_0x8(const uint8_t* packed, int cols, int groups, const uint8_t* act, int64_t act_stride,
                               int tokens, float* out, int64_t out_stride);

/**
 * Q4_K weights interleaved in groups of 8 rows (the managed NpcSdk.Tensors.Q4_KInterleaved layout) times `tokens`
 * Q8_K activation rows:
 *
 *   out[t * out_stride + r] = dot(row r, activation t)   for t in [0, tokens), r in [0, 8 * groups)
 *
 * `packed` points at the first of `groups` groups; a group of 8 rows is (cols / 256) super-blocks of 1152 bytes (as
 * many as the 8 rows' block_q4_K), one after another: at 0 the 8 rows' F16 d (row 0 first), at 16 their F16 dmin, at
 * 32 + 8i + r row r's packed scale byte i (block_q4_K.scales[i], i = 0..11: the 6-bit scales and mins of the
 * 8 sub-blocks as ggml's get_scale_min_k4 reads them), at 128 + 32c the 32-byte chunk c = 8j + k holding quant
 * bytes 32j + 4k..+3 of rows 0..7 in turn (low nibbles: elements 64j + 4k.., high nibbles: 32 further on).
 * Activation t is at `act + t * act_stride` bytes (cols / 256 blocks of block_q8_K). Every path, AVX2, NEON and plain
 * C, gives each element the bits of NPC_KERNEL_REPACKED on the AVX2 path: with acc and acc_min from 0, per
 * super-block, in order,
 *   gemv: acc = fmaf((float)sum sc q y, d_x * d_y, acc), acc_min = fmaf((float)sum m bsum, dmin_x * d_y, acc_min);
 *   gemm: the same per 64 elements (sub-blocks 2j, 2j + 1), four steps of each chain per super-block;
 * and the result is acc - acc_min. Activation t takes the gemm's steps when first_row + t < gemm_rows (the rows
 * llama.cpp runs through ggml_gemm_q4_K_8x8_q8_K: `first_row` is where these activations start in the batch).
 * A hot-path entry point without a status: it does nothing when a pointer is NULL, cols is not a positive multiple of
 * 256 or groups or tokens is not positive. It never allocates (36 KiB of stack).
 */
NPC_API void npc_matmul_q4_Kx8(const uint8_t* packed, int cols, int groups, const uint8_t* act, int64_t act_stride,
                               int tokens, int first_row, int gemm_rows, float* out, int64_t out_stride);

/**
 * Q5_0 weights interleaved in groups of 8 rows (the managed NpcSdk.Tensors.Q5_0Interleaved layout) times `tokens`
 * Q8_0 activation rows: out[t * out_stride + r] = dot(row r, activation t) for r in [0, 8 * groups).
 *
 * A group's 32-column blocks follow one another, 176 bytes each: the 8 rows' F16 scales; 4 chunks of 32 bytes, chunk
 * c holding quant bytes 4c..4c+3 of rows 0..7 (qs as in block_q5_0: low nibbles elements 4c + i, high nibbles 16
 * further on); then 32 bytes, byte 4r + i holding in bit c the fifth bit of row r's element 4c + i and in bit 4 + c
 * that of element 16 + 4c + i. Every path, AVX2, NEON and plain C, gives each element the bits of the repacked
 * kernels' arithmetic (as npc_matmul_q4_0x8's), not ggml_vec_dot_q5_0_q8_0's: per block, in order,
 * acc = fmaf((float)sum (q - 16) y, d_x * d_y, acc), the integer sum exact.
 * A hot-path entry point without a status: it does nothing when a pointer is NULL, cols is not a positive multiple of
 * 32 or groups or tokens is not positive. It never allocates (32 KiB of stack).
 */
NPC_API void npc_matmul_q5_0x8(const uint8_t* packed, int cols, int groups, const uint8_t* act, int64_t act_stride,
                               int tokens, float* out, int64_t out_stride);

/** npc_matmul with one activation row and contiguous weight rows: out[r - row_begin] = dot(row r, act). */
NPC_API int npc_matvec(int weight_type, const void* w, int rows, int cols, const void* act,
                       float* out, int row_begin, int row_end);

/** Dot product of one weight row of `n` elements with one activation row (in the partner format). */
NPC_API int npc_vec_dot(int weight_type, int n, const void* w, const void* act, float* out);

/**
 * Converts `n` floats to `type` exactly like the managed Quantizer.QuantizeRow (ggml-cpu's activation quantizers as
 * built for x86 AVX2): F32 (copy), F16 and BF16 (round to nearest even), Q8_0 and Q8_1 (d = amax/127,
 * q = round_half_even(x * 127/amax)), Q8_K (quantize_row_q8_K_ref). Other types: NPC_ERR_TYPE (weights are quantized
 * offline by the managed reference quantizers).
 */
NPC_API int npc_quantize_row(int type, const float* src, void* dst, int64_t n);

/** npc_quantize_row for `count` rows: row i from `src + i * src_stride` (floats) to `dst + i * dst_stride_bytes`. */
NPC_API int npc_quantize_rows(int type, const float* src, int64_t src_stride, void* dst, int64_t dst_stride_bytes,
                              int64_t n, int count);

/** Converts `n` elements of `type` (any supported weight or activation type) back to float. */
NPC_API int npc_dequantize_row(int type, const void* src, float* dst, int64_t n);

/* ---- Float helpers of a transformer step (same math as NpcSdk.Compute.VectorOps / Models.ForwardPass) ---- */

/** y = x / sqrt(mean(x^2) + eps) * w, the sum of squares accumulated in double (ggml_rms_norm). y may equal x. */
NPC_API int npc_rmsnorm(const float* x, const float* w, float* y, int n, float eps);

/** In-place softmax; the normaliser accumulated in double (ggml_soft_max). */
NPC_API int npc_softmax(float* x, int n);

/**
 * gate[i] = silu(gate[i]) * up[i] as ggml's SwiGLU computes it on x86: ggml_v_expf's arithmetic on whole groups of 8
 * elements, libm expf on the rest (the same values as NpcSdk's VectorOps.SwiGlu). gate may equal up.
 */
NPC_API int npc_swiglu(float* gate, const float* up, int n);

/** Rotary embedding styles. */
enum npc_rope_style {
    NPC_ROPE_NORMAL = 0, /* rotate adjacent pairs (x[2i], x[2i+1]): llama */
    NPC_ROPE_NEOX = 2    /* rotate halves (x[i], x[i + d/2]): qwen2, gpt-neox (ggml's GGML_ROPE_TYPE_NEOX) */
};

/**
 * Rotates `n_heads` heads of `head_dim` floats at `x + h * head_stride` in place, the first `rope_dim` dims of each
 * (pairs i < rope_dim/2) with cos[i] / sin[i] (rope_dim/2 values each, as ForwardPass.RopeTables computes them).
 */
NPC_API int npc_rope(float* x, int n_heads, int head_dim, int64_t head_stride, int rope_dim,
                     const float* cos_table, const float* sin_table, int style);

/**
 * Causal attention of one query head over positions 0..n_pos-1 of a KV cache: out = softmax(q.K^T * scale) . V.
 * kv_type is NPC_TYPE_F32 or NPC_TYPE_F16; key j is at `k + j * kv_stride_bytes`, value j at
 * `v + j * kv_stride_bytes`, each head_dim elements. With an F16 cache, q is first rounded to F16 and so are the
 * probabilities before P.V (as llama.cpp and the managed Attention do). `scores` is scratch of n_pos floats.
 */
NPC_API int npc_attention(const float* q, int head_dim, int kv_type, const void* k, const void* v,
                          int64_t kv_stride_bytes, int n_pos, float scale, float* scores, float* out);

#ifdef __cplusplus
}
#endif

#endif /* NPCSDK_NATIVE_H */
