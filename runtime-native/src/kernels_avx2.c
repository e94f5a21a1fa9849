/*
 * The x86-64 AVX2 + FMA + F16C path, following ggml's arch/x86/quants.c: unpack a weight block's quants to bytes,
 * int8 x int8 products with vpmaddubsw (unsigned x signed; vpsignb moves the sign of signed weights onto the
 * activations) and vpmaddwd into exact int32 sums, then one FMA per block with the product of the scales.
 *
 * Every function carries __attribute__((target("avx2,fma,f16c"))), so the library builds with the default flags
 * (no -march) and still loads on older CPUs; npc_dispatch.c only installs this table after cpuid says yes.
 *
 * Bit-exact with llama.cpp: every output element goes through the same float operations, in the same order, as in
 * the ggml-cpu kernel llama.cpp runs for it (ggml_vec_dot_*, llamafile's tinyBLAS, the CPU_REPACK gemv/gemm; the
 * managed NpcSdk.Tensors kernels are the specification): the same accumulator lanes, FMA where ggml fuses (GCC
 * contracts some of ggml's scalar `a += b * c`), the same horizontal sums. Integer sums are exact, so their order is
 * free. Tiling is free too as long as each element keeps its own chain.
 *
 * Matrix products: each kernel takes up to 4 activation rows and a few weight rows at a time; a weight block is
 * loaded and unpacked once for all activations, and the independent chains of a tile hide the FMA latency.
 */
#include "npc_internal.h"

#if defined(NPC_X86_64)

#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE static inline __attribute__((always_inline))
#define ACT(k) ((const uint8_t*)act + (k) * as)

/* ---- Helpers ---- */

INLINE AVX2 float h16(uint16_t h) { return npc_fp16_table[h]; }

INLINE AVX2 float hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE AVX2 float hsum_ps128(__m128 s)
{
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

INLINE AVX2 int hsum_epi32_128(__m128i s)
{
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x1));
    return _mm_cvtsi128_si32(s);
}

/** The totals of four 8-lane int32 vectors, total i in lane i (integer sums: exact in any order). */
INLINE AVX2 __m128i hsum4_epi32(__m256i v0, __m256i v1, __m256i v2, __m256i v3)
{
    __m256i c = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
    return _mm_add_epi32(_mm256_castsi256_si128(c), _mm256_extracti128_si256(c, 1));
}

/** The totals of four 4-lane int32 vectors, total i in lane i. */
INLINE AVX2 __m128i hsum4_epi32_128(__m128i v0, __m128i v1, __m128i v2, __m128i v3)
{
    return _mm_hadd_epi32(_mm_hadd_epi32(v0, v1), _mm_hadd_epi32(v2, v3));
}

INLINE AVX2 int hsum_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x1));
    return _mm_cvtsi128_si32(s);
}

INLINE AVX2 __m256i loadu(const void* p) { return _mm256_loadu_si256((const __m256i*)p); }

/** 16 bytes of nibbles to 32 bytes: low nibbles in the lower half, high nibbles in the upper half. */
INLINE AVX2 __m256i nibbles(const uint8_t* p)
{
    __m128i t = _mm_loadu_si128((const __m128i*)p);
    __m256i b = _mm256_inserti128_si256(_mm256_castsi128_si256(t), _mm_srli_epi16(t, 4), 1);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

/** 32 bits to 32 bytes of 0x00 / 0xFF (ggml's bytes_from_bits_32). */
INLINE AVX2 __m256i bytes_from_bits(const uint8_t* p)
{
    uint32_t x32 = npc_load_u32(p);
    const __m256i shuf = _mm256_setr_epi64x(0x0000000000000000LL, 0x0101010101010101LL, 0x0202020202020202LL,
                                            0x0303030303030303LL);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x32), shuf);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7FBFDFEFF7FBFDFELL));
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

/** Sum of products of unsigned bytes (at most 127 after vpsignb) and signed bytes, in 8 int32 lanes. */
INLINE AVX2 __m256i mul_sum_us8(__m256i ax, __m256i sy)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), _mm256_set1_epi16(1));
}

/** Broadcasts 16-bit lane i of each 128-bit half across that half. */
INLINE AVX2 __m256i bcast16(__m256i v, int i)
{
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)((2 * i) | ((2 * i + 1) << 8))));
}

/** With the same 8 shorts in both halves: lane i across the lower half and lane i+1 across the upper half. */
INLINE AVX2 __m256i pair16(__m256i v, int i)
{
    __m128i lo = _mm_set1_epi16((short)((2 * i) | ((2 * i + 1) << 8)));
    __m128i hi = _mm_set1_epi16((short)((2 * i + 2) | ((2 * i + 3) << 8)));
    return _mm256_shuffle_epi8(v, _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
}

INLINE AVX2 __m256i dup128(__m128i v) { return _mm256_inserti128_si256(_mm256_castsi128_si256(v), v, 1); }

/* Each kernel is written once with a compile-time activation count `na` and instantiated for 1..4. */
#define INSTANTIATE(name)                                                                                     \
    static AVX2 void name(int n, const void* w, int64_t ws, int nrows, const void* act, int64_t as, int na,       \
                     float* out, int64_t os)                                                                  \
    {                                                                                                         \
        const uint8_t* wr = (const uint8_t*)w;                                                                \
        switch (na) {                                                                                         \
        case 1: for (int r = 0; r < nrows; r++) name##_n(n, wr + r * ws, act, as, out + r, os, 1); break;      \
        case 2: for (int r = 0; r < nrows; r++) name##_n(n, wr + r * ws, act, as, out + r, os, 2); break;      \
        case 3: for (int r = 0; r < nrows; r++) name##_n(n, wr + r * ws, act, as, out + r, os, 3); break;      \
        default: for (int r = 0; r < nrows; r++) name##_n(n, wr + r * ws, act, as, out + r, os, 4); break;     \
        }                                                                                                     \
    }

/* Each tile kernel name##_t(..., nr, na) takes `nr` weight rows x `na` activations with compile-time counts; the row
 * kernel runs tiles of NRk rows for k activations, then the leftover rows one at a time. */
#define TILE_CASE(name, NR, NA)                                                                                  \
    case NA:                                                                                                     \
        for (; r + NR <= nrows; r += NR) name##_t(n, wr + r * ws, ws, act, as, out + r, os, NR, NA);             \
        for (; r < nrows; r++) name##_t(n, wr + r * ws, ws, act, as, out + r, os, 1, NA);                        \
        break;

#define TILED(name, NR1, NR2, NR3, NR4) TILED_AS(AVX2, name, NR1, NR2, NR3, NR4)
#define TILED_AS(TARGET, name, NR1, NR2, NR3, NR4)                                                               \
    static TARGET void name(int n, const void* w, int64_t ws, int nrows, const void* act, int64_t as, int na,     \
                          float* out, int64_t os)                                                                \
    {                                                                                                            \
        const uint8_t* wr = (const uint8_t*)w;                                                                   \
        int r = 0;                                                                                               \
        switch (na) {                                                                                            \
            TILE_CASE(name, NR1, 1)                                                                              \
            TILE_CASE(name, NR2, 2)                                                                              \
            TILE_CASE(name, NR3, 3)                                                                              \
        default:                                                                                                 \
            TILE_CASE(name, NR4, 4)                                                                              \
        }                                                                                                        \
    }

/* ---- Float weights (activations are floats; F16/BF16 ones were widened by the driver) ---- */

INLINE AVX2 __m256 load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)p)); }

INLINE AVX2 __m256 load_bf16(const uint16_t* p)
{
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)), 16));
}

/*
 * GGML_F32x8_REDUCE: (a0+a2)+(a1+a3) lane-wise, the two 128-bit halves added, then ggml's two hadds, which give
 * (t0+t1)+(t2+t3); here with shuffles (cheaper than hadd, same sums: float addition is commutative).
 */
INLINE AVX2 float reduce4(__m256 a0, __m256 a1, __m256 a2, __m256 a3)
{
    __m256 x = _mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3));
    __m128 t = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    t = _mm_add_ps(t, _mm_shuffle_ps(t, t, _MM_SHUFFLE(2, 3, 0, 1))); /* t0+t1, t1+t0, t2+t3, t3+t2 */
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehl_ps(t, t)));
}

/*
 * ggml_vec_dot_f32 / ggml_vec_dot_f16 / ggml_vec_dot_bf16 (AVX2) of one weight row with floats: four 8-lane FMA
 * accumulators over 32-element steps. F32: GGML_F32x8_REDUCE, leftovers added one product at a time in float. F16:
 * the same reduction into a double, leftovers in double. BF16: hsum_float_8((c1+c3)+(c2+c4)) into a double,
 * leftovers in double. (The products of the leftovers are rounded to float first, as ggml's are.) Activations
 * go in pairs, sharing the weight loads (eight accumulators).
 */
#define VEC_DOT_FLOAT(name, T, LOAD, SCALAR, IS_BF16, SUM_T)                                                     \
    INLINE AVX2 void name##_t(int n, const T* x, const void* act, int64_t as, float* out, int64_t os, const int na) \
    {                                                                                                            \
        __m256 a[2][4];                                                                                          \
        _Pragma("GCC unroll 2") for (int k = 0; k < na; k++)                                                     \
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) a[k][j] = _mm256_setzero_ps();                  \
        int i = 0;                                                                                               \
        for (; i + 32 <= n; i += 32) {                                                                           \
            _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) {                                                \
                const __m256 xj = LOAD(x + i + 8 * j);                                                           \
                _Pragma("GCC unroll 2") for (int k = 0; k < na; k++)                                             \
                    a[k][j] = _mm256_fmadd_ps(xj, _mm256_loadu_ps((const float*)ACT(k) + i + 8 * j), a[k][j]);  \
            }                                                                                                    \
        }                                                                                                        \
        _Pragma("GCC unroll 2") for (int k = 0; k < na; k++) {                                                   \
            const float* y = (const float*)ACT(k);                                                               \
            SUM_T sum = IS_BF16 ? hsum_ps(_mm256_add_ps(_mm256_add_ps(a[k][0], a[k][2]), _mm256_add_ps(a[k][1], a[k][3]))) \
                                : reduce4(a[k][0], a[k][1], a[k][2], a[k][3]);                                   \
            for (int j = i; j < n; j++) {                                                                        \
                float p = SCALAR(x[j]) * y[j];                                                                   \
                sum += p;                                                                                        \
            }                                                                                                    \
            out[k * os] = (float)sum;                                                                            \
        }                                                                                                        \
    }                                                                                                            \
    static AVX2 void name(int n, const void* w, int64_t ws, int nrows, const void* act, int64_t as, int na,      \
                          float* out, int64_t os)                                                                \
    {                                                                                                            \
        for (int k = 0; k < na; k += 2) {                                                                        \
            for (int r = 0; r < nrows; r++) {                                                                    \
                const T* x = (const T*)((const uint8_t*)w + r * ws);                                             \
                if (na - k >= 2) name##_t(n, x, ACT(k), as, out + k * os + r, os, 2);                            \
                else name##_t(n, x, ACT(k), as, out + k * os + r, os, 1);                                        \
            }                                                                                                    \
        }                                                                                                        \
    }

#define ID_F32(v) (v)
VEC_DOT_FLOAT(rows_f32, float, _mm256_loadu_ps, ID_F32, 0, float)
VEC_DOT_FLOAT(rows_f16, uint16_t, load_f16, h16, 0, double)
VEC_DOT_FLOAT(rows_bf16, uint16_t, load_bf16, npc_bf16_to_fp32, 1, double)

/*
 * llamafile's tinyBLAS (tinyBLAS::gemm on AVX2), which ggml tries first for float weights and 2+ activation rows:
 * every output element is one 8-lane FMA accumulator over the whole row, 8 elements a step, then hsum (the same
 * lane pairing as hsum_float_8). A tile of `nr` weight rows x `na` activations (at most 12 accumulators, tinyBLAS'
 * register tile) shares the loads; the tiling does not change any element's arithmetic.
 */
#define TINYBLAS_ROWS(name, T, LOAD)                                                                             \
    INLINE AVX2 void name##_t(int n, const uint8_t* w, int64_t ws, const void* act, int64_t as, float* out,      \
                              int64_t os, const int nr, const int na)                                            \
    {                                                                                                            \
        __m256 acc[4][4];                                                                                        \
        _Pragma("GCC unroll 4") for (int i = 0; i < nr; i++)                                                     \
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) acc[i][k] = _mm256_setzero_ps();               \
        for (int l = 0; l < n; l += 8) {                                                                         \
            __m256 x[4];                                                                                         \
            _Pragma("GCC unroll 4") for (int i = 0; i < nr; i++) x[i] = LOAD((const T*)(w + i * ws) + l);       \
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {                                               \
                const __m256 b = _mm256_loadu_ps((const float*)ACT(k) + l);                                      \
                _Pragma("GCC unroll 4") for (int i = 0; i < nr; i++) acc[i][k] = _mm256_fmadd_ps(x[i], b, acc[i][k]); \
            }                                                                                                    \
        }                                                                                                        \
        _Pragma("GCC unroll 4") for (int i = 0; i < nr; i++)                                                     \
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) out[k * os + i] = hsum_ps(acc[i][k]);          \
    }                                                                                                            \
    TILED(name, 4, 4, 4, 3)

TINYBLAS_ROWS(tinyblas_f32, float, _mm256_loadu_ps)
TINYBLAS_ROWS(tinyblas_f16, uint16_t, load_f16)
TINYBLAS_ROWS(tinyblas_bf16, uint16_t, load_bf16)

static AVX2 void widen_f16(const void* src, float* dst, int64_t n)
{
    const uint16_t* h = (const uint16_t*)src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_f16(h + i));
    for (; i < n; i++) dst[i] = npc_fp16_to_fp32(h[i]);
}

static AVX2 void widen_bf16(const void* src, float* dst, int64_t n)
{
    const uint16_t* h = (const uint16_t*)src;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load_bf16(h + i));
    for (; i < n; i++) dst[i] = npc_bf16_to_fp32(h[i]);
}

/* ---- 32-element blocks ---- */

/*
 * Decode walks `nr` rows interleaved, which the hardware prefetcher does not follow from DRAM: prefetch, in order, the
 * bytes of block `b` of the rows two groups ahead (nr blocks of `bytes` each).
 */
INLINE AVX2 void sweep_ahead(const uint8_t* w, int64_t ws, const int nr, int b, const int bytes)
{
    const char* p = (const char*)w + 2 * nr * ws + (int64_t)b * nr * bytes;
    _Pragma("GCC unroll 16") for (int c = 0; c < nr * bytes; c += 64) _mm_prefetch(p + c, _MM_HINT_T0);
}


/*
 * ggml_vec_dot_{q4_0,q5_0,q8_0}_q8_0 and ggml_vec_dot_{q4_1,q5_1}_q8_1 (AVX2): per output element one 8-lane
 * accumulator, acc = fma(d_x * d_y, int32 lanes of the block, acc) block after block, then hsum_float_8; Q4_1/Q5_1
 * also accumulate the min term m_x * s_y in a scalar (GCC contracts `summs += m * s` into an FMA) added at the end.
 * A tile of `nr` weight rows x `na` activations runs nr * na independent chains, which hides the FMA latency, and
 * unpacks each weight block once for all activations. A single activation (decode) walks one row at a time: reading
 * four rows interleaved defeats the hardware prefetcher's stream once the weights come from DRAM (3x slower on a
 * 32000-row output matrix here); Q8_0 does it with sweep_ahead (rows_q8_0_decode below).
 */
#define LEGACY_ROWS(name, XBLOCK, STEP, HAS_MIN, NR1) LEGACY_ROWS_AS(AVX2, name, XBLOCK, STEP, HAS_MIN, NR1)
#define LEGACY_ROWS_AS(TARGET, name, XBLOCK, STEP, HAS_MIN, NR1)                                                  \
    INLINE TARGET void name##_t(int n, const uint8_t* w, int64_t ws, const void* act, int64_t as, float* out,       \
                              int64_t os, const int nr, const int na)                                             \
    {                                                                                                             \
        __m256 acc[4][4];                                                                                         \
        float summs[4][4];                                                                                        \
        _Pragma("GCC unroll 4") for (int i = 0; i < nr; i++)                                                      \
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {                                                \
                acc[i][k] = _mm256_setzero_ps();                                                                  \
                summs[i][k] = 0.0f;                                                                               \
            }                                                                                                     \
        for (int b = 0; b < n / NPC_QK; b++) {                                                                    \
            if (na == 1 && nr > 1) sweep_ahead(w, ws, nr, b, sizeof(XBLOCK));                                    \
            _Pragma("GCC unroll 4") for (int i = 0; i < nr; i++) STEP((const XBLOCK*)(w + i * ws) + b, b, acc[i], summs[i]); \
        }                                                                                                         \
        _Pragma("GCC unroll 4") for (int i = 0; i < nr; i++)                                                      \
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)                                                  \
                out[k * os + i] = HAS_MIN ? hsum_ps(acc[i][k]) + summs[i][k] : hsum_ps(acc[i][k]);                \
    }                                                                                                             \
    TILED_AS(TARGET, name, NR1, 2, 1, 1)

#define Y(T, k, b) ((const T*)ACT(k) + (b))

/** Scalar fused multiply-add (vfmadd231ss), the contraction GCC applies to ggml's scalar `s += a * b`. */
INLINE AVX2 float fma1(float a, float b, float c)
{
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b), _mm_set_ss(c)));
}

/* Signed weights: |qx| and the sign moved onto the activations (ggml's mul_sum_i8_pairs_float). */
#define SIGNED_STEP(YBLOCK, qx_expr, xb, b, acc, summs) SIGNED_STEP_WITH(mul_sum_us8, YBLOCK, qx_expr, xb, b, acc, summs)
#define SIGNED_STEP_WITH(MUL_SUM, YBLOCK, qx_expr, xb, b, acc, summs)                                              \
    do {                                                                                                          \
        const __m256i qx = (qx_expr);                                                                             \
        const __m256i ax = _mm256_sign_epi8(qx, qx);                                                              \
        const float dx = h16((xb)->d);                                                                            \
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {                                                    \
            const YBLOCK* y = Y(YBLOCK, k, b);                                                                    \
            __m256i s = MUL_SUM(ax, _mm256_sign_epi8(loadu(y->qs), qx));                                          \
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h16(y->d)), _mm256_cvtepi32_ps(s), acc[k]);             \
        }                                                                                                         \
    } while (0)

/* Unsigned weights (Q4_1/Q5_1) with a min: value = d*q + m, the m term via the Q8_1 block sum s. */
#define UNSIGNED_STEP(qx_expr, xb, b, acc, summs)                                                                 \
    do {                                                                                                          \
        const __m256i qx = (qx_expr);                                                                             \
        const float dx = h16((xb)->d), mx = h16((xb)->m);                                                         \
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {                                                    \
            const block_q8_1* y = Y(block_q8_1, k, b);                                                            \
            summs[k] = fma1(mx, h16(y->s), summs[k]);                                                             \
            __m256i s = mul_sum_us8(qx, loadu(y->qs));                                                            \
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dx * h16(y->d)), _mm256_cvtepi32_ps(s), acc[k]);             \
        }                                                                                                         \
    } while (0)

/* Q4_0 and Q5_0 quants as signed bytes (Q5_0: a cleared fifth bit means value - 16, i.e. 0xF0 OR'ed in). */
INLINE AVX2 __m256i q4_0_quants(const block_q4_0* xb) { return _mm256_sub_epi8(nibbles(xb->qs), _mm256_set1_epi8(8)); }

INLINE AVX2 __m256i q5_0_quants(const block_q5_0* xb)
{
    return _mm256_or_si256(nibbles(xb->qs), _mm256_andnot_si256(bytes_from_bits(xb->qh), _mm256_set1_epi8((char)0xF0)));
}

#define Q4_0_STEP(xb, b, acc, summs) SIGNED_STEP(block_q8_0, q4_0_quants(xb), xb, b, acc, summs)
#define Q5_0_STEP(xb, b, acc, summs) SIGNED_STEP(block_q8_0, q5_0_quants(xb), xb, b, acc, summs)
#define Q8_0_STEP(xb, b, acc, summs) SIGNED_STEP(block_q8_0, loadu((xb)->qs), xb, b, acc, summs)
#define Q8_1_STEP(xb, b, acc, summs) SIGNED_STEP(block_q8_1, loadu((xb)->qs), xb, b, acc, summs)
#define Q4_1_STEP(xb, b, acc, summs) UNSIGNED_STEP(nibbles((xb)->qs), xb, b, acc, summs)
#define Q5_1_STEP(xb, b, acc, summs) \
    UNSIGNED_STEP(_mm256_or_si256(nibbles((xb)->qs), _mm256_and_si256(bytes_from_bits((xb)->qh), _mm256_set1_epi8(0x10))), xb, b, acc, summs)

LEGACY_ROWS(rows_q4_0, block_q4_0, Q4_0_STEP, 0, 1)
LEGACY_ROWS(rows_q4_1, block_q4_1, Q4_1_STEP, 1, 1)
LEGACY_ROWS(rows_q5_0, block_q5_0, Q5_0_STEP, 0, 1)
LEGACY_ROWS(rows_q5_1, block_q5_1, Q5_1_STEP, 1, 1)
LEGACY_ROWS(rows_q8_0, block_q8_0, Q8_0_STEP, 0, 1)
LEGACY_ROWS(rows_q8_1, block_q8_1, Q8_1_STEP, 0, 1)

/*
 * Q8_0 with one activation (decode), rows of at most 1024 elements: four rows at a time, their chains independent
 * (the one-row walk is bound by its FMA latency), with the rows ahead swept in order (sweep_ahead). Longer rows stay
 * one at a time; their four streams fall in different pages, which the prefetch does not carry (measured from DRAM).
 */
static AVX2 void rows_q8_0_decode(int n, const void* w, int64_t ws, int nrows, const void* act, int64_t as, int na,
                                  float* out, int64_t os)
{
    int r = 0;
    if (na == 1 && n <= 1024)
        for (; r + 4 <= nrows; r += 4) rows_q8_0_t(n, (const uint8_t*)w + r * ws, ws, act, as, out + r, os, 4, 1);
    if (r < nrows) rows_q8_0(n, (const uint8_t*)w + r * ws, ws, nrows - r, act, as, na, out + r, os);
}

/*
 * The same Q8_0 kernels with AVX512-VNNI (on 256-bit vectors, AVX512VL): vpdpbusd from zero gives each int32 lane the
 * sum of its 4 adjacent u8 x s8 products, the same lanes as vpmaddubsw + vpmaddwd (which never saturate here: |x| <=
 * 128 and |y| <= 127 keep a pair sum under 32767), in one instruction instead of two on the multiply ports. The
 * float steps are untouched, so the bits are the AVX2 kernels' (npc_dispatch.c installs these after cpuid/XCR0 say
 * yes and NPCSDK_NATIVE_NO_VNNI is not set).
 */
#define VNNI __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))

INLINE VNNI __m256i mul_sum_vnni(__m256i ax, __m256i sy) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy); }

#define Q8_0_VNNI_STEP(xb, b, acc, summs) SIGNED_STEP_WITH(mul_sum_vnni, block_q8_0, loadu((xb)->qs), xb, b, acc, summs)

LEGACY_ROWS_AS(VNNI, rows_q8_0_vnni, block_q8_0, Q8_0_VNNI_STEP, 0, 1)

static VNNI void rows_q8_0_decode_vnni(int n, const void* w, int64_t ws, int nrows, const void* act, int64_t as,
                                       int na, float* out, int64_t os)
{
    int r = 0;
    if (na == 1 && n <= 1024)
        for (; r + 4 <= nrows; r += 4) rows_q8_0_vnni_t(n, (const uint8_t*)w + r * ws, ws, act, as, out + r, os, 4, 1);
    if (r < nrows) rows_q8_0_vnni(n, (const uint8_t*)w + r * ws, ws, nrows - r, act, as, na, out + r, os);
}

/* ---- K-quants (256-element super-blocks, Q8_K activations) ----
 * ggml_vec_dot_*_q8_K (AVX2): the super-block's int32 sums in ggml's 8 lanes (which 16- or 32-element groups land in
 * which lane matters once they are converted to float), one FMA per super-block with d_x * d_y, hsum_float_8. */

INLINE AVX2 void rows_q8_K_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os, const int na)
{
    const block_q8_K* x = (const block_q8_K*)w;
    __m256 acc[4];
    _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) acc[k] = _mm256_setzero_ps();
    for (int b = 0; b < n / NPC_QK_K; b++) {
        __m256i sumi[4];
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) sumi[k] = _mm256_setzero_si256();
        for (int j = 0; j < 256; j += 32) {
            __m256i qx = loadu(x[b].qs + j);
            __m256i ax = _mm256_sign_epi8(qx, qx);
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)
                sumi[k] = _mm256_add_epi32(sumi[k], mul_sum_us8(ax, _mm256_sign_epi8(loadu(Y(block_q8_K, k, b)->qs + j), qx)));
        }
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(x[b].d * Y(block_q8_K, k, b)->d), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
    }
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) out[k * os] = hsum_ps(acc[k]);
}
INSTANTIATE(rows_q8_K)

/* Q2_K: the mins term (lanes of 16-element group pairs) is FMA'd into the same accumulator before the scales term. */
INLINE AVX2 void rows_q2_K_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os, const int na)
{
    const block_q2_K* x = (const block_q2_K*)w;
    const __m128i m4 = _mm_set1_epi8(0x0F);
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256 acc[4];
    _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) acc[k] = _mm256_setzero_ps();
    for (int b = 0; b < n / NPC_QK_K; b++) {
        const float d = h16(x[b].d), dmin = h16(x[b].dmin);
        const __m128i packed = _mm_loadu_si128((const __m128i*)x[b].scales);
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), m4));
        const __m256i all_scales = _mm256_cvtepu8_epi16(_mm_and_si128(packed, m4));
        __m256i sumi[4];
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
            const block_q8_K* y = Y(block_q8_K, k, b);
            __m256i prod = _mm256_madd_epi16(mins, loadu(y->bsums));
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(-y->d * dmin), _mm256_cvtepi32_ps(prod), acc[k]);
            sumi[k] = _mm256_setzero_si256();
        }
        for (int j = 0; j < 2; j++) {
            const __m256i scales = dup128(j == 0 ? _mm256_castsi256_si128(all_scales) : _mm256_extracti128_si256(all_scales, 1));
            const __m256i bits = loadu(x[b].qs + 32 * j);
            for (int s = 0; s < 4; s++) {
                const __m256i q2 = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * s), m3);
                const __m256i sc = pair16(scales, 2 * s);
                _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                    const __m256i q8 = loadu(Y(block_q8_K, k, b)->qs + 128 * j + 32 * s);
                    sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(sc, _mm256_maddubs_epi16(q2, q8)));
                }
            }
        }
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(Y(block_q8_K, k, b)->d * d), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
    }
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) out[k * os] = hsum_ps(acc[k]);
}
INSTANTIATE(rows_q2_K)

/** The 16 6-bit Q3_K scales minus 32, as signed bytes (ggml's kmask shuffling). */
INLINE AVX2 __m128i unpack_scales_q3_K(const uint8_t* q)
{
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0F0F0F0F;
    uint32_t a0 = npc_load_u32(q), a1 = npc_load_u32(q + 4), tmp = npc_load_u32(q + 8);
    uint32_t s0 = (a0 & kmask2) | ((tmp & kmask1) << 4);
    uint32_t s1 = (a1 & kmask2) | (((tmp >> 2) & kmask1) << 4);
    uint32_t s2 = ((a0 >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    uint32_t s3 = ((a1 >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    return _mm_sub_epi8(_mm_setr_epi32((int)s0, (int)s1, (int)s2, (int)s3), _mm_set1_epi8(32));
}

INLINE AVX2 void rows_q3_K_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os, const int na)
{
    const block_q3_K* x = (const block_q3_K*)w;
    const __m256i m3 = _mm256_set1_epi8(3);
    const __m256i four = _mm256_set1_epi8(4);
    __m256 acc[4];
    _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) acc[k] = _mm256_setzero_ps();
    for (int b = 0; b < n / NPC_QK_K; b++) {
        const float d = h16(x[b].d);
        const __m256i all_scales = _mm256_cvtepi8_epi16(unpack_scales_q3_K(x[b].scales));
        const __m256i hbits = loadu(x[b].hmask);
        __m256i sumi[4];
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) sumi[k] = _mm256_setzero_si256();
        for (int j = 0; j < 2; j++) {
            const __m256i scales = dup128(j == 0 ? _mm256_castsi256_si128(all_scales) : _mm256_extracti128_si256(all_scales, 1));
            const __m256i bits = loadu(x[b].qs + 32 * j);
            for (int s = 0; s < 4; s++) {
                const __m256i q3 = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * s), m3);
                const __m256i mask = _mm256_set1_epi8((char)(1 << (4 * j + s)));
                /* A cleared high bit means q - 4. */
                const __m256i minus4 = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, mask), _mm256_setzero_si256()), four);
                const __m256i sc = pair16(scales, 2 * s);
                _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                    const __m256i q8 = loadu(Y(block_q8_K, k, b)->qs + 128 * j + 32 * s);
                    __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q3, q8), _mm256_maddubs_epi16(minus4, q8));
                    sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(sc, p));
                }
            }
        }
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(d * Y(block_q8_K, k, b)->d), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
    }
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) out[k * os] = hsum_ps(acc[k]);
}
INSTANTIATE(rows_q3_K)

/** Q4_K/Q5_K: 8 scales (bytes 0..7) and 8 mins (bytes 8..15) from the 12 packed bytes (ggml's utmp/kmask code). */
INLINE AVX2 __m128i unpack_scales_k4(const uint8_t* q)
{
    const uint32_t kmask1 = 0x3F3F3F3F, kmask2 = 0x0F0F0F0F, kmask3 = 0x03030303;
    uint32_t u0 = npc_load_u32(q), u1 = npc_load_u32(q + 4), u2 = npc_load_u32(q + 8);
    uint32_t s0 = u0 & kmask1;
    uint32_t s1 = (u2 & kmask2) | (((u0 >> 6) & kmask3) << 4);
    uint32_t m0 = u1 & kmask1;
    uint32_t m1 = ((u2 >> 4) & kmask2) | (((u1 >> 6) & kmask3) << 4);
    return _mm_setr_epi32((int)s0, (int)s1, (int)m0, (int)m1);
}

/*
 * ggml_vec_dot_q4_K_q8_K / ggml_vec_dot_q5_K_q8_K (AVX2), which share everything but the fifth bit and the mins:
 * one FMA per super-block into 8 lanes, hsum_float_8, plus the mins term, which Q4_K accumulates in 4 lanes reduced
 * as (m0+m2)+(m1+m3) and Q5_K as a scalar FMA of the block's integer total.
 */
#define K4_ROWS(name, BLOCK, HAS_QH)                                                                               \
    INLINE AVX2 void name##_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os,         \
                              const int na)                                                                      \
    {                                                                                                            \
        const BLOCK* x = (const BLOCK*)w;                                                                        \
        const __m256i m4 = _mm256_set1_epi8(0x0F);                                                               \
        const __m256i bit4 = _mm256_set1_epi8(0x10);                                                             \
        __m256 acc[4];                                                                                           \
        __m128 accm[4];                                                                                          \
        float summs[4];                                                                                          \
        _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) {                                                    \
            acc[k] = _mm256_setzero_ps();                                                                        \
            accm[k] = _mm_setzero_ps();                                                                          \
            summs[k] = 0.0f;                                                                                     \
        }                                                                                                        \
        for (int b = 0; b < n / NPC_QK_K; b++) {                                                                 \
            const float d = h16(x[b].d), dmin = h16(x[b].dmin);                                                  \
            const __m256i mins_and_scales = _mm256_cvtepu8_epi16(unpack_scales_k4(x[b].scales));                 \
            const __m128i mins = _mm256_extracti128_si256(mins_and_scales, 1);                                   \
            const __m256i scales = dup128(_mm256_castsi256_si128(mins_and_scales));                              \
            __m256i sumi[4];                                                                                     \
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {                                                                       \
                const block_q8_K* y = Y(block_q8_K, k, b);                                                       \
                const __m128i q8sums = _mm_hadd_epi16(_mm_loadu_si128((const __m128i*)y->bsums),                 \
                                                      _mm_loadu_si128((const __m128i*)(y->bsums + 8)));          \
                const __m128i prod = _mm_madd_epi16(mins, q8sums);                                               \
                if (HAS_QH)                                                                                      \
                    summs[k] = fma1(-y->d * dmin, (float)hsum_epi32_128(prod), summs[k]);                        \
                else                                                                                             \
                    accm[k] = _mm_fmadd_ps(_mm_set1_ps(-y->d * dmin), _mm_cvtepi32_ps(prod), accm[k]);           \
                sumi[k] = _mm256_setzero_si256();                                                                \
            }                                                                                                    \
            const uint8_t* q4 = x[b].qs;                                                                         \
            for (int j = 0; j < 4; j++, q4 += 32) {                                                              \
                const __m256i bits = loadu(q4);                                                                  \
                __m256i lo = _mm256_and_si256(bits, m4);                                                         \
                __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);                                   \
                if (HAS_QH) {                                                                                    \
                    const __m256i hbits = loadu(K4_QH(x + b));                                                   \
                    const __m256i ml = _mm256_set1_epi8((char)(1 << (2 * j)));                                   \
                    const __m256i mh = _mm256_set1_epi8((char)(2 << (2 * j)));                                   \
                    lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, ml), ml), bit4)); \
                    hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, mh), mh), bit4)); \
                }                                                                                                \
                const __m256i sl = bcast16(scales, 2 * j), sh = bcast16(scales, 2 * j + 1);                      \
                _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {                                                                   \
                    const int8_t* q8 = Y(block_q8_K, k, b)->qs + 64 * j;                                         \
                    __m256i pl = _mm256_madd_epi16(sl, _mm256_maddubs_epi16(lo, loadu(q8)));                     \
                    __m256i ph = _mm256_madd_epi16(sh, _mm256_maddubs_epi16(hi, loadu(q8 + 32)));                \
                    sumi[k] = _mm256_add_epi32(sumi[k], _mm256_add_epi32(pl, ph));                               \
                }                                                                                                \
            }                                                                                                    \
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)                                                                         \
                acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(d * Y(block_q8_K, k, b)->d), _mm256_cvtepi32_ps(sumi[k]), acc[k]); \
        }                                                                                                        \
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)                                                     \
            out[k * os] = hsum_ps(acc[k]) + (HAS_QH ? summs[k] : hsum_ps128(accm[k]));                           \
    }                                                                                                            \
    INSTANTIATE(name)

#define K4_QH(xb) ((const block_q5_K*)(xb))->qh
K4_ROWS(rows_q4_K, block_q4_K, 0)
K4_ROWS(rows_q5_K, block_q5_K, 1)

/*
 * The CPU_REPACK kernels ggml uses on AVX2 for Q4_0 and Q4_K weights with a multiple of 8 rows (ggml_gemv_* for
 * single tokens and a batch's last rows, ggml_gemm_* for the rest, in groups of 4). Their float vectors hold 8 weight
 * rows, so each output element is one lane: a scalar chain acc = fma(integer total, d_x * d_y, acc), with no
 * horizontal float sum. Only the chain matters, not ggml's interleaved layout, so the weights are read in place and
 * the lanes here are the (weight row, activation) pairs of a tile, 4 per 128-bit vector. Pairs past nr * na are
 * zero padding.
 */

/** Lane p of 4 from per-pair scalars (pairs past `count` are 0). */
INLINE AVX2 __m128 pairs_ps(const float* v, const int count)
{
    return _mm_setr_ps(v[0], count > 1 ? v[1] : 0.0f, count > 2 ? v[2] : 0.0f, count > 3 ? v[3] : 0.0f);
}

/** Stores lane p = i * na + k of `v` to out[k * os + i]. */
INLINE AVX2 void store_pairs(__m128 v, float* out, int64_t os, const int nr, const int na)
{
    float lanes[4];
    _mm_storeu_ps(lanes, v);
    _Pragma("GCC unroll 4") for (int i = 0; i < nr; i++)
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) out[k * os + i] = lanes[i * na + k];
}

/* ggml_gemv_q4_0_8x8_q8_0 and ggml_gemm_q4_0_8x8_q8_0 (the same chain): one FMA per 32-element block. */
INLINE AVX2 void rows_q4_0_repacked_t(int n, const uint8_t* w, int64_t ws, const void* act, int64_t as, float* out,
                                      int64_t os, const int nr, const int na)
{
    __m128 acc = _mm_setzero_ps();
    for (int b = 0; b < n / NPC_QK; b++) {
        if (na == 1) sweep_ahead(w, ws, nr, b, sizeof(block_q4_0));
        __m256i v[4];
        float dxy[4];
        /* Only each pair's exact integer total matters: the nibbles (0..15) multiply unsigned and 8 x the
           activation's block sum comes off the total, sum (q - 8) y = sum q y - 8 sum y. */
        int32_t eight_sum[4] = { 0, 0, 0, 0 }, corr[4] = { 0, 0, 0, 0 };
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)
            eight_sum[k] = 8 * hsum_epi32(mul_sum_us8(_mm256_set1_epi8(1), loadu(Y(block_q8_0, k, b)->qs)));
        _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) v[p] = _mm256_setzero_si256();
        _Pragma("GCC unroll 4") for (int i = 0; i < nr; i++) {
            const block_q4_0* xb = (const block_q4_0*)(w + i * ws) + b;
            const __m256i qx = nibbles(xb->qs);
            const float dx = h16(xb->d);
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                const block_q8_0* y = Y(block_q8_0, k, b);
                v[i * na + k] = mul_sum_us8(qx, loadu(y->qs));
                dxy[i * na + k] = dx * h16(y->d);
                corr[i * na + k] = eight_sum[k];
            }
        }
        const __m128i totals = _mm_sub_epi32(hsum4_epi32(v[0], v[1], v[2], v[3]), _mm_loadu_si128((const __m128i*)corr));
        acc = _mm_fmadd_ps(_mm_cvtepi32_ps(totals), pairs_ps(dxy, nr * na), acc);
    }
    store_pairs(acc, out, os, nr, na);
}
TILED(rows_q4_0_repacked, 4, 2, 1, 1)

/*
 * ggml_gemv_q4_K_8x8_q8_K: per super-block acc = fma(total, d_x * d_y, acc) and acc_min = fma(mins total,
 * dmin_x * d_y, acc_min); the result is acc - acc_min. ggml_gemm_q4_K_8x8_q8_K (`gemm`): the same per 64 elements
 * (two sub-blocks), four steps of each chain per super-block.
 */
INLINE AVX2 void q4_K_repacked(int n, const uint8_t* w, int64_t ws, const void* act, int64_t as, float* out,
                               int64_t os, const int nr, const int na, const int gemm)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m128 acc = _mm_setzero_ps(), accm = _mm_setzero_ps();
    for (int b = 0; b < n / NPC_QK_K; b++) {
        __m256i scales[4];
        __m128i mins[4]; /* per pair: lane j = sum of mins x activation sums over the 64 elements j */
        float dxy[4], mxy[4];
        if (na == 1) sweep_ahead(w, ws, nr, b, sizeof(block_q4_K));
        _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) mins[p] = _mm_setzero_si128();
        _Pragma("GCC unroll 4") for (int i = 0; i < nr; i++) {
            const block_q4_K* x = (const block_q4_K*)(w + i * ws) + b;
            const float d = h16(x->d), dmin = h16(x->dmin);
            const __m256i mins_and_scales = _mm256_cvtepu8_epi16(unpack_scales_k4(x->scales));
            const __m128i m8 = _mm256_extracti128_si256(mins_and_scales, 1);
            scales[i] = dup128(_mm256_castsi256_si128(mins_and_scales));
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                const block_q8_K* y = Y(block_q8_K, k, b);
                const __m128i q8sums = _mm_hadd_epi16(_mm_loadu_si128((const __m128i*)y->bsums),
                                                      _mm_loadu_si128((const __m128i*)(y->bsums + 8)));
                mins[i * na + k] = _mm_madd_epi16(m8, q8sums);
                dxy[i * na + k] = d * y->d;
                mxy[i * na + k] = dmin * y->d;
            }
        }
        const __m128 vd = pairs_ps(dxy, nr * na), vm = pairs_ps(mxy, nr * na);
        __m128i total = _mm_setzero_si128();
        _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) {
            __m256i v[4];
            _Pragma("GCC unroll 4") for (int p = 0; p < 4; p++) v[p] = _mm256_setzero_si256();
            _Pragma("GCC unroll 4") for (int i = 0; i < nr; i++) {
                const __m256i bits = loadu(((const block_q4_K*)(w + i * ws) + b)->qs + 32 * j);
                const __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                const __m256i sl = bcast16(scales[i], 2 * j), sh = bcast16(scales[i], 2 * j + 1);
                _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                    const int8_t* q8 = Y(block_q8_K, k, b)->qs + 64 * j;
                    v[i * na + k] = _mm256_add_epi32(_mm256_madd_epi16(sl, _mm256_maddubs_epi16(lo, loadu(q8))),
                                                     _mm256_madd_epi16(sh, _mm256_maddubs_epi16(hi, loadu(q8 + 32))));
                }
            }
            const __m128i tj = hsum4_epi32(v[0], v[1], v[2], v[3]);
            if (gemm) {
                /* lane p of the mins of group j: a 4x4 transpose of the pairs' mins */
                const __m128i t01 = j < 2 ? _mm_unpacklo_epi32(mins[0], mins[1]) : _mm_unpackhi_epi32(mins[0], mins[1]);
                const __m128i t23 = j < 2 ? _mm_unpacklo_epi32(mins[2], mins[3]) : _mm_unpackhi_epi32(mins[2], mins[3]);
                const __m128i mj = (j & 1) == 0 ? _mm_unpacklo_epi64(t01, t23) : _mm_unpackhi_epi64(t01, t23);
                acc = _mm_fmadd_ps(_mm_cvtepi32_ps(tj), vd, acc);
                accm = _mm_fmadd_ps(_mm_cvtepi32_ps(mj), vm, accm);
            } else {
                total = _mm_add_epi32(total, tj);
            }
        }
        if (!gemm) {
            acc = _mm_fmadd_ps(_mm_cvtepi32_ps(total), vd, acc);
            accm = _mm_fmadd_ps(_mm_cvtepi32_ps(hsum4_epi32_128(mins[0], mins[1], mins[2], mins[3])), vm, accm);
        }
    }
    store_pairs(_mm_sub_ps(acc, accm), out, os, nr, na);
}

INLINE AVX2 void rows_q4_K_gemv_t(int n, const uint8_t* w, int64_t ws, const void* act, int64_t as, float* out,
                                  int64_t os, const int nr, const int na)
{
    q4_K_repacked(n, w, ws, act, as, out, os, nr, na, 0);
}
TILED(rows_q4_K_gemv, 4, 2, 1, 1)

INLINE AVX2 void rows_q4_K_gemm_t(int n, const uint8_t* w, int64_t ws, const void* act, int64_t as, float* out,
                                  int64_t os, const int nr, const int na)
{
    q4_K_repacked(n, w, ws, act, as, out, os, nr, na, 1);
}
TILED(rows_q4_K_gemm, 4, 2, 1, 1)

/*
 * Interleaved Q4_0 (npc_matmul_q4_0x8), the managed Q4_0Interleaved kernels: a chunk's 32 bytes hold four quant bytes
 * of each of the 8 rows, so with the activation's matching four bytes broadcast, vpmaddubsw of the unsigned nibbles
 * leaves each row's products in its own 32-bit lane: no horizontal sums, and one vector holds the 8 rows' chains.
 * The 8 i16 pair sums of a lane (4 chunks, low and high nibbles) are at most 8 x 2 x 15 x 128 = 30720 in magnitude,
 * exact in 16 bits, before one vpmaddwd; 8 x sum(q_y) comes off to give sum (q - 8) y. F16C widens the scales (exact).
 */
INLINE AVX2 __m256i q4x8_chunk(__m256i lo, __m256i hi, const uint8_t* qy, const int c)
{
    return _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32((int)npc_load_u32(qy + 4 * c))),
                            _mm256_maddubs_epi16(hi, _mm256_set1_epi32((int)npc_load_u32(qy + 16 + 4 * c))));
}

static AVX2 void q8_0_sums(const uint8_t* y, int nb, float* dy, int32_t* sy8)
{
    for (int b = 0; b < nb; b++) {
        const block_q8_0* yb = (const block_q8_0*)(y + b * sizeof(block_q8_0));
        dy[b] = h16(yb->d);
        sy8[b] = 8 * hsum_epi32(mul_sum_us8(_mm256_set1_epi8(1), loadu(yb->qs)));
    }
}

/*
 * Interleaved Q5_0 in 8-row groups (npc_matmul_q5_0x8), the managed Q5_0Interleaved kernels: Q4_0x8's chunks with
 * each byte's fifth bit from the plane (shifted to bit 4, masked, or'ed on), so each row's products stay in its own
 * 32-bit lane; 16 x sum(q_y) comes off to give sum (q - 16) y. The kernels are kernels_avx2_interleaved.h's.
 */
INLINE AVX2 __m256i q5x8_plane_bit(__m256i plane, const int s)
{
    switch (s) {
    case 4: return _mm256_slli_epi16(plane, 4);
    case 3: return _mm256_slli_epi16(plane, 3);
    case 2: return _mm256_slli_epi16(plane, 2);
    case 1: return _mm256_slli_epi16(plane, 1);
    case 0: return plane;
    case -1: return _mm256_srli_epi16(plane, 1);
    case -2: return _mm256_srli_epi16(plane, 2);
    default: return _mm256_srli_epi16(plane, 3);
    }
}

/*
 * The interleaved kernels with AVX2, then with AVX512-VNNI (kernels_avx2_interleaved.h). The VNNI forms give every
 * int32 lane the same integer, so the float steps (and bits) are the AVX2 kernels': Q4_0x8 accumulates a row's 32
 * nibble x activation products per block straight into its int32 lane (the AVX2 form sums the same products in i16,
 * exact, before one vpmaddwd; no int32 wrap either way).
 */
#define IL_TARGET AVX2
#define IL_NAME(f) f
#define IL_Q4X8_CHUNK(s, lo, hi, qy, c) _mm256_add_epi16(s, q4x8_chunk(lo, hi, qy, c))
#define IL_Q4X8_WIDEN(s) _mm256_madd_epi16(s, _mm256_set1_epi16(1))
#include "kernels_avx2_interleaved.h"

INLINE VNNI __m256i q4x8_chunk_vnni(__m256i s, __m256i lo, __m256i hi, const uint8_t* qy, const int c)
{
    s = _mm256_dpbusd_epi32(s, lo, _mm256_set1_epi32((int)npc_load_u32(qy + 4 * c)));
    return _mm256_dpbusd_epi32(s, hi, _mm256_set1_epi32((int)npc_load_u32(qy + 16 + 4 * c)));
}

#define IL_TARGET VNNI
#define IL_NAME(f) f##_vnni
#define IL_Q4X8_CHUNK q4x8_chunk_vnni
#define IL_Q4X8_WIDEN(s) (s)
#include "kernels_avx2_interleaved.h"

/*
 * Interleaved Q4_K (npc_matmul_q4_Kx8), the managed Q4_KInterleaved kernels: as for Q4_0, a chunk holds four quant
 * bytes of each of the 8 rows, so every row's sums stay in its own 32-bit lane and one vector holds the 8 rows'
 * chains. Per 64 elements (8 chunks) the low and the high nibbles' i16 pair sums, each at most 8 x 2 x 15 x 128 =
 * 30720 in magnitude (exact), go through one vpmaddwd with their sub-block's scales; the mins are one vpmaddwd of
 * each row's two mins with the activation's pair sums (npc_q8_K_pairs_fn). F16C widens d and dmin (exact). The
 * 6-bit scales and mins come out of the rows' packed scale bytes (stored transposed) once per super-block, for all
 * 8 rows at once, into a 128-byte buffer on the stack.
 */

/**
 * The rows' packed scale bytes (byte 8i + r: row r's scales[i]) as ggml's get_scale_min_k4 unpacks them: the scale of
 * sub-block s of row r at sm[8s + r], its min at sm[64 + 16 (s / 2) + 2r + s % 2]. With A, B, C the bytes 0-3, 4-7,
 * 8-11 of the 8 rows: scales 0-3 = A & 63, mins 0-3 = B & 63, scales 4-7 = (C & 15) | (A >> 6) << 4,
 * mins 4-7 = C >> 4 | (B >> 6) << 4 (the byte shifts as 16-bit ones, masked).
 */
INLINE AVX2 void q4kx8_unpack(const uint8_t* x, uint8_t* sm)
{
    const __m256i a = loadu(x + NPC_Q4KX8_SCALES), b = loadu(x + NPC_Q4KX8_SCALES + 32);
    const __m256i c = loadu(x + NPC_Q4KX8_SCALES + 64);
    const __m256i m6 = _mm256_set1_epi8(63), m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    /* Per 16 bytes (one pair of sub-blocks): [2j: rows 0..7][2j + 1: rows 0..7] to [row 0: 2j, 2j + 1][row 1: ..].. */
    const __m256i pairs = _mm256_setr_epi8(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15,
                                           0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
    _mm256_store_si256((__m256i*)sm, _mm256_and_si256(a, m6));
    _mm256_store_si256((__m256i*)(sm + 32),
                       _mm256_or_si256(_mm256_and_si256(c, m4), _mm256_and_si256(_mm256_srli_epi16(a, 2), m30)));
    _mm256_store_si256((__m256i*)(sm + 64), _mm256_shuffle_epi8(_mm256_and_si256(b, m6), pairs));
    _mm256_store_si256((__m256i*)(sm + 96),
                       _mm256_shuffle_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), m4),
                                                           _mm256_and_si256(_mm256_srli_epi16(b, 2), m30)),
                                           pairs));
}

/** Eight rows' scale bytes as int16 pairs: row r's scale in 16-bit lanes 2r and 2r + 1. */
INLINE AVX2 __m256i q4kx8_scales(const uint8_t* p)
{
    const __m256i s = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)p));
    return _mm256_or_si256(s, _mm256_slli_epi32(s, 16));
}

/** Row r's mins of sub-blocks 2j, 2j + 1 times the activation's sums over them (`pair`, two int16), in lane r. */
INLINE AVX2 __m256i q4kx8_mins(const uint8_t* sm, const int j, int32_t pair)
{
    const __m128i m = _mm_load_si128((const __m128i*)(sm + 64 + 16 * j));
    return _mm256_madd_epi16(_mm256_cvtepu8_epi16(m), _mm256_set1_epi32(pair));
}

/* One group against `na` activations with the gemm's (per 64) or the gemv's (per 256) steps; `part` and `ps2`: its
   chains across windows (npc_q4kx8_fn), activation k's at part + k * ps2. */
INLINE AVX2 void q4_Kx8_group(const uint8_t* x, int nb, const uint8_t* y, int64_t ys, const int32_t* pairs,
                              int64_t ps, float* out, int64_t os, float* part, int64_t ps2, int window, const int na,
                              const int gemm)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[4], accm[4];
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
        const int carry = window & NPC_WINDOW_CONTINUE;
        acc[k] = carry ? _mm256_loadu_ps(part + k * ps2) : _mm256_setzero_ps();
        accm[k] = carry ? _mm256_loadu_ps(part + k * ps2 + 8) : _mm256_setzero_ps();
    }
    const uint8_t* qy = y + offsetof(block_q8_K, qs);
    for (int b = 0; b < nb; b++, x += NPC_Q4KX8_BLOCK, qy += sizeof(block_q8_K)) {
        _Alignas(32) uint8_t sm[128];
        q4kx8_unpack(x, sm);
        __m256i total[4];
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) total[k] = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i sl[4], sh[4];
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) sl[k] = sh[k] = _mm256_setzero_si256();
            const uint8_t* c = x + NPC_Q4KX8_QUANTS + 256 * j;
            if (na < 4) {
                _Pragma("GCC unroll 2") for (int i = 0; i < 8; i++) {
                    const __m256i bits = loadu(c + 32 * i);
                    const __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                        const uint8_t* q = qy + k * ys + 64 * j + 4 * i;
                        sl[k] = _mm256_add_epi16(sl[k], _mm256_maddubs_epi16(lo, _mm256_set1_epi32((int)npc_load_u32(q))));
                        sh[k] = _mm256_add_epi16(sh[k], _mm256_maddubs_epi16(hi, _mm256_set1_epi32((int)npc_load_u32(q + 32))));
                    }
                }
            } else {
                /* The low nibbles' 8 chunks, then the high ones' (each chunk loaded twice, from L1; the same unpacking
                   work): with both in one loop four activations need 8 accumulators at once and GCC spills one, a
                   store and reload on its chain every chunk (a quarter more time per token than with three). */
                _Pragma("GCC unroll 2") for (int i = 0; i < 8; i++) {
                    const __m256i lo = _mm256_and_si256(loadu(c + 32 * i), m4);
                    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                        const __m256i q = _mm256_set1_epi32((int)npc_load_u32(qy + k * ys + 64 * j + 4 * i));
                        sl[k] = _mm256_add_epi16(sl[k], _mm256_maddubs_epi16(lo, q));
                    }
                }
                _Pragma("GCC unroll 2") for (int i = 0; i < 8; i++) {
                    const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(loadu(c + 32 * i), 4), m4);
                    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                        const __m256i q = _mm256_set1_epi32((int)npc_load_u32(qy + k * ys + 64 * j + 32 + 4 * i));
                        sh[k] = _mm256_add_epi16(sh[k], _mm256_maddubs_epi16(hi, q));
                    }
                }
            }
            const __m256i scl = q4kx8_scales(sm + 16 * j);
            const __m256i sch = q4kx8_scales(sm + 16 * j + 8);
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                const __m256i p = _mm256_add_epi32(_mm256_madd_epi16(sl[k], scl), _mm256_madd_epi16(sh[k], sch));
                if (gemm) {
                    const __m256 dy = _mm256_set1_ps(((const block_q8_K*)(y + k * ys) + b)->d);
                    const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)x));
                    const __m256 dmx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(x + 16)));
                    const __m256i m = q4kx8_mins(sm, j, pairs[k * ps + 4 * b + j]);
                    acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dx, dy), acc[k]);
                    accm[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), _mm256_mul_ps(dmx, dy), accm[k]);
                } else {
                    total[k] = _mm256_add_epi32(total[k], p);
                }
            }
        }
        if (!gemm) {
            const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)x));
            const __m256 dmx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(x + 16)));
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                const int32_t* pk = pairs + k * ps + 4 * b;
                const __m256i m = _mm256_add_epi32(_mm256_add_epi32(q4kx8_mins(sm, 0, pk[0]), q4kx8_mins(sm, 1, pk[1])),
                                                   _mm256_add_epi32(q4kx8_mins(sm, 2, pk[2]), q4kx8_mins(sm, 3, pk[3])));
                const __m256 dy = _mm256_set1_ps(((const block_q8_K*)(y + k * ys) + b)->d);
                acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total[k]), _mm256_mul_ps(dx, dy), acc[k]);
                accm[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), _mm256_mul_ps(dmx, dy), accm[k]);
            }
        }
    }
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
        if (window & NPC_WINDOW_KEEP) {
            _mm256_storeu_ps(part + k * ps2, acc[k]);
            _mm256_storeu_ps(part + k * ps2 + 8, accm[k]);
        } else {
            _mm256_storeu_ps(out + k * os, _mm256_sub_ps(acc[k], accm[k]));
        }
    }
}

#define Q4KX8_CASE(NA, GEMM)                                                                                     \
    case 2 * NA + GEMM:                                                                                          \
        for (int g = 0; g < ng; g++)                                                                             \
            q4_Kx8_group(x + g * gs, nb, y, ys, pairs, ps, out + 8 * g, os, part ? part + 16 * g : NULL, 16 * ng, \
                         window, NA, GEMM);                                                                      \
        break;

static AVX2 void q4_Kx8(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys,
                        const int32_t* pairs, int64_t ps, int na, int gemm, float* out, int64_t os, float* part,
                        int window)
{
    switch (2 * na + (gemm != 0)) {
    Q4KX8_CASE(1, 0) Q4KX8_CASE(1, 1) Q4KX8_CASE(2, 0) Q4KX8_CASE(2, 1)
    Q4KX8_CASE(3, 0) Q4KX8_CASE(3, 1) Q4KX8_CASE(4, 0) Q4KX8_CASE(4, 1)
    default: break;
    }
}

static AVX2 void q8_K_pairs(const uint8_t* y, int nb, int32_t* pairs)
{
    /* vphaddw of the 16 bsums: 16-bit lane j holds bsums 2j + 2j+1, so 32-bit lane j is pair j, low half first. */
    for (int b = 0; b < nb; b++) {
        const int16_t* bs = ((const block_q8_K*)y + b)->bsums;
        _mm_storeu_si128((__m128i*)(pairs + 4 * b),
                         _mm_hadd_epi16(_mm_loadu_si128((const __m128i*)bs), _mm_loadu_si128((const __m128i*)(bs + 8))));
    }
}

/* Q6_K: lane l of the -32 correction holds 16-element groups 2l and 2l+1, as ggml's q8sclsub. */
INLINE AVX2 void rows_q6_K_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os, const int na)
{
    const block_q6_K* x = (const block_q6_K*)w;
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    const __m256i m2 = _mm256_set1_epi8(0x30);
    __m256 acc[4];
    _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++) acc[k] = _mm256_setzero_ps();
    for (int b = 0; b < n / NPC_QK_K; b++) {
        const float d = h16(x[b].d);
        const __m256i all_scales = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i*)x[b].scales));
        __m256i sumi[4];
        /* The quants are stored +32: take 32 * sum(scale * q8) off once per block, from the Q8_K group sums. */
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)
            sumi[k] = _mm256_sub_epi32(_mm256_setzero_si256(),
                                       _mm256_slli_epi32(_mm256_madd_epi16(all_scales, loadu(Y(block_q8_K, k, b)->bsums)), 5));
        for (int half = 0; half < 2; half++) {
            const uint8_t* ql = x[b].ql + 64 * half;
            const uint8_t* qh = x[b].qh + 32 * half;
            const __m256i scales = dup128(half == 0 ? _mm256_castsi256_si128(all_scales) : _mm256_extracti128_si256(all_scales, 1));
            const __m256i bits1 = loadu(ql), bits2 = loadu(ql + 32), bitsH = loadu(qh);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(bits1, m4), _mm256_and_si256(_mm256_slli_epi16(bitsH, 4), m2));
            q[1] = _mm256_or_si256(_mm256_and_si256(bits2, m4), _mm256_and_si256(_mm256_slli_epi16(bitsH, 2), m2));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits1, 4), m4), _mm256_and_si256(bitsH, m2));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits2, 4), m4), _mm256_and_si256(_mm256_srli_epi16(bitsH, 2), m2));
            _Pragma("GCC unroll 4") for (int g = 0; g < 4; g++) {
                const __m256i sc = pair16(scales, 2 * g);
                _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                    const __m256i q8 = loadu(Y(block_q8_K, k, b)->qs + 128 * half + 32 * g);
                    sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(sc, _mm256_maddubs_epi16(q[g], q8)));
                }
            }
        }
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)
            acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(d * Y(block_q8_K, k, b)->d), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
    }
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) out[k * os] = hsum_ps(acc[k]);
}
INSTANTIATE(rows_q6_K)

/* ---- Activation quantizers (same bytes as the scalar ones) ---- */

INLINE AVX2 float hmax_ps(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

INLINE AVX2 __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

/** Packs 4x8 int32 (each -128..127) to 32 int8 in order. */
INLINE AVX2 __m256i pack_i32_to_i8(__m256i i0, __m256i i1, __m256i i2, __m256i i3)
{
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/** ggml-cpu's AVX2 quantize_row_q8_0 / q8_1, instruction for instruction. */
INLINE AVX2 void quant_q8_legacy(const float* x, uint8_t* y, int64_t n, const int with_sum)
{
    const int block_bytes = with_sum ? 36 : 34, qoff = with_sum ? 4 : 2;
    for (int64_t b = 0; b < n / NPC_QK; b++, x += NPC_QK, y += block_bytes) {
        __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8), v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
        __m256 m = _mm256_max_ps(_mm256_max_ps(abs_ps(v0), abs_ps(v1)), _mm256_max_ps(abs_ps(v2), abs_ps(v3)));
        const float amax = hmax_ps(m);
        const float d = amax / 127.0f;
        uint16_t dh = npc_fp32_to_fp16(d);
        memcpy(y, &dh, 2);
        const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
        const int rnd = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
        __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, id), rnd));
        __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, id), rnd));
        __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, id), rnd));
        __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, id), rnd));
        if (with_sum) {
            int sum = hsum_epi32(_mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3)));
            uint16_t sh = npc_fp32_to_fp16(d * (float)sum);
            memcpy(y + 2, &sh, 2);
        }
        _mm256_storeu_si256((__m256i*)(y + qoff), pack_i32_to_i8(i0, i1, i2, i3));
    }
}

static AVX2 void quant_q8_0(const float* x, void* y, int64_t n) { quant_q8_legacy(x, (uint8_t*)y, n, 0); }
static AVX2 void quant_q8_1(const float* x, void* y, int64_t n) { quant_q8_legacy(x, (uint8_t*)y, n, 1); }

/** quantize_row_q8_K_ref, vectorized. */
static AVX2 void quant_q8_K(const float* x, void* vy, int64_t n)
{
    block_q8_K* y = (block_q8_K*)vy;
    for (int64_t b = 0; b < n / NPC_QK_K; b++, x += NPC_QK_K) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < 256; j += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + j)));
        const float amax = hmax_ps(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof(block_q8_K));
            continue;
        }
        /* The first element of largest magnitude (its sign matters). */
        const __m256 target = _mm256_set1_ps(amax);
        float max = 0.0f;
        for (int j = 0; j < 256; j += 8) {
            int hits = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + j)), target, _CMP_EQ_OQ));
            if (hits) {
                max = x[j + __builtin_ctz((unsigned)hits)];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const __m256 scale = _mm256_set1_ps(iscale);
        const __m256i limit = _mm256_set1_epi32(127);
        const int rnd = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
        for (int j = 0; j < 256; j += 32) {
            __m256i i0 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j), scale), rnd)), limit);
            __m256i i1 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8), scale), rnd)), limit);
            __m256i i2 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j + 16), scale), rnd)), limit);
            __m256i i3 = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j + 24), scale), rnd)), limit);
            y[b].bsums[j / 16] = (int16_t)hsum_epi32(_mm256_add_epi32(i0, i1));
            y[b].bsums[j / 16 + 1] = (int16_t)hsum_epi32(_mm256_add_epi32(i2, i3));
            _mm256_storeu_si256((__m256i*)(y[b].qs + j), pack_i32_to_i8(i0, i1, i2, i3));
        }
        y[b].d = 1.0f / iscale;
    }
}

/** F16C vcvtps2ph with round to nearest even: bit-exact with npc_fp32_to_fp16 (NaNs included). */
static AVX2 void quant_f16(const float* x, void* vy, int64_t n)
{
    uint16_t* y = (uint16_t*)vy;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i*)(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) y[i] = npc_fp32_to_fp16(x[i]);
}

INLINE AVX2 __m256i bf16_bits(__m256i u)
{
    const __m256i one = _mm256_set1_epi32(1);
    __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7FFF)),
                                                         _mm256_and_si256(_mm256_srli_epi32(u, 16), one)), 16);
    __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(64));
    __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7FFFFFFF)), _mm256_set1_epi32(0x7F800000));
    return _mm256_blendv_epi8(rounded, quiet, is_nan);
}

/** ggml_compute_fp32_to_bf16, 16 at a time. */
static AVX2 void quant_bf16(const float* x, void* vy, int64_t n)
{
    uint16_t* y = (uint16_t*)vy;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256i a = bf16_bits(loadu(x + i)), b = bf16_bits(loadu(x + i + 8));
        _mm256_storeu_si256((__m256i*)(y + i), _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8));
    }
    for (; i < n; i++) y[i] = npc_fp32_to_bf16(x[i]);
}

void npc_kernels_avx2(npc_kernels* k, int vnni)
{
    k->path = NPC_PATH_AVX2;
    k->rows[NPC_TYPE_F32] = rows_f32;
    k->rows[NPC_TYPE_F16] = rows_f16;
    k->rows[NPC_TYPE_BF16] = rows_bf16;
    k->rows[NPC_TYPE_Q4_0] = rows_q4_0;
    k->rows[NPC_TYPE_Q4_1] = rows_q4_1;
    k->rows[NPC_TYPE_Q5_0] = rows_q5_0;
    k->rows[NPC_TYPE_Q5_1] = rows_q5_1;
    k->rows[NPC_TYPE_Q8_0] = rows_q8_0_decode;
    k->rows[NPC_TYPE_Q8_1] = rows_q8_1;
    k->rows[NPC_TYPE_Q8_K] = rows_q8_K;
    k->rows[NPC_TYPE_Q2_K] = rows_q2_K;
    k->rows[NPC_TYPE_Q3_K] = rows_q3_K;
    k->rows[NPC_TYPE_Q4_K] = rows_q4_K;
    k->rows[NPC_TYPE_Q5_K] = rows_q5_K;
    k->rows[NPC_TYPE_Q6_K] = rows_q6_K;
    k->tinyblas[NPC_TYPE_F32] = tinyblas_f32;
    k->tinyblas[NPC_TYPE_F16] = tinyblas_f16;
    k->tinyblas[NPC_TYPE_BF16] = tinyblas_bf16;
    k->gemv[NPC_TYPE_Q4_0] = rows_q4_0_repacked;
    k->gemm[NPC_TYPE_Q4_0] = rows_q4_0_repacked;
    k->gemv[NPC_TYPE_Q4_K] = rows_q4_K_gemv;
    k->gemm[NPC_TYPE_Q4_K] = rows_q4_K_gemm;
    k->quant[NPC_TYPE_F16] = quant_f16;
    k->quant[NPC_TYPE_BF16] = quant_bf16;
    k->quant[NPC_TYPE_Q8_0] = quant_q8_0;
    k->quant[NPC_TYPE_Q8_1] = quant_q8_1;
    k->quant[NPC_TYPE_Q8_K] = quant_q8_K;
    k->widen[NPC_TYPE_F16] = widen_f16;
    k->widen[NPC_TYPE_BF16] = widen_bf16;
    k->q4_0x8 = q4_0x8;
    k->q8_0_sums = q8_0_sums;
    k->q4_Kx8 = q4_Kx8;
    k->q8_K_pairs = q8_K_pairs;
    k->q5_0x8 = q5_0x8;
    if (vnni) {
        k->q5_0x8 = q5_0x8_vnni;
        k->rows[NPC_TYPE_Q8_0] = rows_q8_0_decode_vnni;
        k->q4_0x8 = q4_0x8_vnni;
    }
}

#endif /* NPC_X86_64 */
