/*
 * Internal declarations of npcsdk_native: the ggml block layouts, exact fp16/bf16 conversions, and the table of
 * kernels each path (scalar, AVX2, NEON) fills in.
 */
#ifndef NPC_INTERNAL_H
#define NPC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "npcsdk_native.h"

#if defined(__x86_64__) || defined(_M_X64)
#  define NPC_X86_64 1
#endif
#if defined(__aarch64__) || defined(_M_ARM64)
#  define NPC_ARM64 1
#endif

#define NPC_QK 32    /* elements per block of Q4_0 .. Q8_1 */
#define NPC_QK_K 256 /* elements per super-block of the K-quants */

/* ---- Block layouts (ggml-common.h); fp16 fields are raw IEEE binary16 bits ---- */

typedef struct { uint16_t d; uint8_t qs[16]; } block_q4_0;                              /* 18 */
typedef struct { uint16_t d; uint16_t m; uint8_t qs[16]; } block_q4_1;                  /* 20 */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } block_q5_0;               /* 22 */
typedef struct { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[16]; } block_q5_1;   /* 24 */
typedef struct { uint16_t d; int8_t qs[32]; } block_q8_0;                               /* 34 */
typedef struct { uint16_t d; uint16_t s; int8_t qs[32]; } block_q8_1;                   /* 36: s = d * sum(qs) */
typedef struct { uint8_t scales[16]; uint8_t qs[64]; uint16_t d; uint16_t dmin; } block_q2_K; /* 84 */
typedef struct { uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d; } block_q3_K; /* 110 */
typedef struct { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qs[128]; } block_q4_K; /* 144 */
typedef struct { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; } block_q5_K; /* 176 */
typedef struct { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; } block_q6_K; /* 210 */
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } block_q8_K;              /* 292: bsums = sums of 16 qs */

_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "block_q4_1");
_Static_assert(sizeof(block_q5_0) == 22, "block_q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "block_q5_1");
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0");
_Static_assert(sizeof(block_q8_1) == 36, "block_q8_1");
_Static_assert(sizeof(block_q2_K) == 84, "block_q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "block_q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "block_q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "block_q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "block_q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "block_q8_K");

/* ---- Exact conversions (bit-exact with the managed Half16 / BFloat16) ---- */

static inline uint32_t npc_f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float npc_bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/** binary16 to float, exact for every input (subnormals, infinities, NaN payloads). */
static inline float npc_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    if (exp == 0x1F) return npc_bits_f32(sign | 0x7F800000u | (mant << 13));
    if (exp != 0) return npc_bits_f32(sign | ((exp + 112u) << 23) | (mant << 13));
    /* zero or subnormal: mant * 2^-24, exact in single precision */
    return npc_bits_f32(sign | npc_f32_bits((float)mant * (1.0f / 16777216.0f)));
}

/** float to binary16, round to nearest even; NaNs quieted keeping sign and top payload bits (as F16C does). */
static inline uint16_t npc_fp32_to_fp16(float f)
{
    uint32_t x = npc_f32_bits(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax >= 0x7F800000u)
        return (uint16_t)(ax == 0x7F800000u ? (sign | 0x7C00u) : (sign | 0x7E00u | ((ax >> 13) & 0x3FFu)));
    if (ax >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* >= 65520 rounds to infinity */
    if (ax >= 0x38800000u) {
        uint32_t h = (ax - 0x38000000u) >> 13;
        uint32_t rest = ax & 0x1FFFu;
        if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) h++;
        return (uint16_t)(sign | h);
    }
    if (ax < 0x33000000u) return (uint16_t)sign; /* below 2^-25 */
    {
        uint32_t mant = (ax & 0x7FFFFFu) | 0x800000u;
        int shift = 126 - (int)(ax >> 23);
        uint32_t q = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return (uint16_t)(sign | q);
    }
}

static inline float npc_bf16_to_fp32(uint16_t b) { return npc_bits_f32((uint32_t)b << 16); }

/** float to bfloat16 like ggml_compute_fp32_to_bf16: round to nearest even, NaNs forced quiet. */
static inline uint16_t npc_fp32_to_bf16(float f)
{
    uint32_t u = npc_f32_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 64u);
    return (uint16_t)((u + (0x7FFFu + ((u >> 16) & 1u))) >> 16);
}

#define NPC_FP16(h) npc_fp16_to_fp32(h)

/**
 * Every binary16 as float (256 KiB), filled once before any kernel runs: the SIMD paths read block scales from it,
 * a load instead of a conversion on the critical path (ggml's ggml_table_f32_f16).
 */
extern float npc_fp16_table[65536];

/**
 * ggml's nearest_int: adding 1.5*2^23 makes the FPU round to nearest even and leaves the integer in the low
 * mantissa bits. Valid for |x| <= 4194303. The library is built with -ffp-contract=off so `a * b` before it is
 * never fused into an FMA (that would change the rounding and the bytes).
 */
static inline int npc_nearest_int(float fval)
{
    float val = fval + 12582912.0f;
    int32_t i;
    memcpy(&i, &val, 4);
    return (i & 0x007FFFFF) - 0x00400000;
}

static inline uint32_t npc_load_u32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* ---- The kernel table ---- */

/**
 * Dot products of `nrows` weight rows of `n` elements (row r at `w + r * w_stride`) with `na` (1..4) activation rows
 * in the partner format (activation k at `act + k * act_stride`): out[k * out_stride + r] = dot(row r, act_k). Each
 * weight block is loaded once and used for all `na` activations; looping over the rows inside the kernel keeps its
 * constants in registers across rows. For F16 and BF16 weights the activations are floats (widened once per call by
 * the driver, exact).
 */
typedef void (*npc_rows_fn)(int n, const void* w, int64_t w_stride, int nrows, const void* act, int64_t act_stride,
                            int na, float* out, int64_t out_stride);

/** Activation quantizer of `n` floats (a whole number of blocks). */
typedef void (*npc_quant_fn)(const float* x, void* y, int64_t n);

/** 16-bit floats (F16 or BF16) to float, exact. */
typedef void (*npc_widen_fn)(const void* src, float* dst, int64_t n);

/** Bytes of one 32-column block of an interleaved Q4_0 group (npc_matmul_q4_0x8): 8 F16 scales + 4 chunks of 32. */
#define NPC_Q4X8_BLOCK 144

/**
 * Interleaved Q4_0 (npc_matmul_q4_0x8): `ng` groups of 8 rows (group g at `x + g * gs`, `nb` blocks) times `na`
 * (1..4) activations, activation k's blocks from `y + k * ys`, its per-block d_y and 8 * sum(q_y) (npc_q8_sums_fn)
 * at dy[k * ps + b] and sy8[k * ps + b]. Writes out[k * os + 8 * g + r]; with `accumulate` the chains go on from
 * the values there (an earlier window of blocks) instead of from 0.
 */
typedef void (*npc_q4x8_fn)(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys,
                            const float* dy, const int32_t* sy8, int64_t ps, int na, float* out, int64_t os,
                            int accumulate);

/**
 * Bytes of one 32-column block of an interleaved Q5_0 group (npc_matmul_q5_0x8): the 8 rows' F16 scales, 4 chunks of
 * 32 bytes as Q4_0's (low nibbles: elements 4c + i, high nibbles: 16 further on), then at NPC_Q5X8_PLANE a plane of
 * 32 bytes, byte 4r + i holding in bit c the fifth bit of row r's element 4c + i and in bit 4 + c that of element
 * 16 + 4c + i. The kernels are npc_q4x8_fn's with these blocks: per block fma((float)(sum q y - 16 sum y), d_x * d_y,
 * acc) with q the unsigned quants 0..31 (sy8 holds 8 sum y, as for Q4_0; they take it twice).
 */
#define NPC_Q5X8_BLOCK 176
#define NPC_Q5X8_PLANE 144

/** d_y (widened) and 8 * the sum of the quants of `nb` Q8_0 blocks: what every group needs of an activation block. */
typedef void (*npc_q8_sums_fn)(const uint8_t* y, int nb, float* dy, int32_t* sy8);

/**
 * Bytes of one 256-column super-block of an interleaved Q4_K group (npc_matmul_q4_Kx8), as many as 8 plain Q4_K
 * blocks: 8 F16 d, 8 F16 dmin, the rows' 12 packed scale bytes transposed (byte 8i + r: row r's scales[i]), then 32
 * chunks of 32 bytes of quants.
 */
#define NPC_Q4KX8_BLOCK 1152
#define NPC_Q4KX8_SCALES 32
#define NPC_Q4KX8_QUANTS 128

/* Windows of blocks of an interleaved Q4_K call (npc_q4kx8_fn): go on from the chains in `part`, leave them there. */
#define NPC_WINDOW_CONTINUE 1
#define NPC_WINDOW_KEEP 2

/**
 * Interleaved Q4_K (npc_matmul_q4_Kx8): `ng` groups of 8 rows (group g at `x + g * gs`, `nb` super-blocks) times
 * `na` (1..4) activations, activation k's blocks from `y + k * ys`, its pair sums (npc_q8_K_pairs_fn) from
 * pairs + k * ps; with the gemm's per-64 steps when `gemm`, else the gemv's per-256 ones. Writes
 * out[k * os + 8 * g + r] = acc - acc_min. `window` (NPC_WINDOW_*, 0 without `part`) splits the super-blocks of a
 * row over calls: the acc and acc_min chains of activation k, group g start from and/or stay in
 * part[16 * (k * ng + g) ..] (acc in the first 8, acc_min in the next 8) instead of 0 and `out`.
 */
typedef void (*npc_q4kx8_fn)(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys,
                             const int32_t* pairs, int64_t ps, int na, int gemm, float* out, int64_t os, float* part,
                             int window);

/**
 * Pair sums of `nb` Q8_K blocks: pairs[4b + j] holds the sums of sub-blocks 2j and 2j + 1 (32 quants each, from the
 * bsums) as two int16, the low half first: what every group's mins need of an activation block.
 */
typedef void (*npc_q8_K_pairs_fn)(const uint8_t* y, int nb, int32_t* pairs);

typedef struct npc_kernels {
    int path;
    npc_rows_fn rows[31];     /* by weight type id, ggml_vec_dot's order; NULL = use the scalar kernel */
    npc_rows_fn tinyblas[31]; /* F32/F16/BF16 in tinyBLAS' order; NULL = this path's rows[] */
    npc_rows_fn gemv[31];     /* Q4_0/Q4_K in ggml_gemv_*_8x8's order; NULL = this path's rows[] */
    npc_rows_fn gemm[31];     /* Q4_0/Q4_K in ggml_gemm_*_8x8's order; NULL = this path's rows[] */
    npc_quant_fn quant[31]; /* by activation type id; NULL = use the scalar quantizer */
    npc_widen_fn widen[31]; /* F16 / BF16 to float (exact), by type id */
    npc_q4x8_fn q4_0x8;       /* interleaved Q4_0; NULL = the scalar kernel (same bits) */
    npc_q8_sums_fn q8_0_sums; /* its activation precompute; NULL = the scalar one */
    npc_q4kx8_fn q4_Kx8;          /* interleaved Q4_K; NULL = the scalar kernel (same bits) */
    npc_q8_K_pairs_fn q8_K_pairs; /* its activation precompute; NULL = the scalar one */
    npc_q4x8_fn q5_0x8;           /* interleaved Q5_0; NULL = the scalar kernel (same bits) */
} npc_kernels;

void npc_kernels_scalar(npc_kernels* k);
#if defined(NPC_X86_64)
int npc_cpu_has_avx2_fma_f16c(void);
int npc_cpu_has_avx512_vnni(void);
/** The AVX2 table; with `vnni` its Q8_0 and interleaved Q4_0/Q5_0 kernels use AVX512-VNNI's vpdpbusd (same bits). */
void npc_kernels_avx2(npc_kernels* k, int vnni);
#endif
#if defined(NPC_ARM64)
void npc_kernels_neon(npc_kernels* k);
#endif

/** The active kernel table (path picked on first use). */
const npc_kernels* npc_active(void);

/** Block size / bytes by type id (0 when unsupported). */
int npc_type_block_size(int type);
int npc_type_block_bytes(int type);

#endif /* NPC_INTERNAL_H */
