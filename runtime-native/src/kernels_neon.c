/*
 * The ARM64 Advanced SIMD (NEON) path, baseline ARMv8.0 (no dotprod extension needed): int8 x int8 products with
 * vmull_s8 into int16, pairwise-accumulated into int32 lanes (vpadalq_s16), summed per block; float weights with
 * fused multiply-adds. Like ggml's arch/arm/quants.c, each block's integer sum is exact, then scaled in float.
 *
 * Matrix products: each kernel takes up to 4 activation rows and unpacks a weight block once for all of them.
 */
#include "npc_internal.h"

#if defined(NPC_ARM64)

#include <arm_neon.h>

#define INLINE static inline __attribute__((always_inline))
#define ACT(k) ((const uint8_t*)act + (k) * as)
#define Y(T, k, b) ((const T*)ACT(k) + (b))

#define INSTANTIATE(name)                                                                                     \
    static void name(int n, const void* w, int64_t ws, int nrows, const void* act, int64_t as, int na,       \
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

/** acc + sum of a[i]*b[i] over 16 int8 pairs, in 4 int32 lanes. Products fit int16 (|a|,|b| <= 128, not both 128). */
INLINE int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b)
{
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
}

INLINE int32_t dot32(int8x16_t a0, int8x16_t a1, const int8_t* y)
{
    return vaddvq_s32(dot16(dot16(vdupq_n_s32(0), a0, vld1q_s8(y)), a1, vld1q_s8(y + 16)));
}

INLINE float h16(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }

/** 16 bits to 16 bytes of 0x00 / 0xFF: byte i set when bit i is. */
INLINE uint8x16_t bits_to_mask(uint32_t bits16)
{
    static const uint8_t sel[16] = { 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128 };
    uint8x16_t v = vcombine_u8(vdup_n_u8((uint8_t)(bits16 & 0xFF)), vdup_n_u8((uint8_t)((bits16 >> 8) & 0xFF)));
    return vtstq_u8(v, vld1q_u8(sel));
}

/* ---- Float weights (activations are floats; F16/BF16 ones were widened by the driver) ---- */

INLINE float32x4_t load_f32(const float* p) { return vld1q_f32(p); }
INLINE float32x4_t load_f16(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
INLINE float32x4_t load_bf16(const uint16_t* p) { return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16)); }
INLINE float scalar_f32(float v) { return v; }

#define FLOAT_ROWS(name, T, LOAD, SCALAR)                                                                      \
    INLINE void name##_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os, const int na) \
    {                                                                                                        \
        const T* x = (const T*)w;                                                                            \
        int i = 0;                                                                                           \
        if (na == 1) {                                                                                       \
            const float* y = (const float*)act;                                                              \
            float32x4_t a0 = vdupq_n_f32(0), a1 = a0, a2 = a0, a3 = a0;                                      \
            for (; i + 16 <= n; i += 16) {                                                                   \
                a0 = vfmaq_f32(a0, LOAD(x + i), vld1q_f32(y + i));                                           \
                a1 = vfmaq_f32(a1, LOAD(x + i + 4), vld1q_f32(y + i + 4));                                   \
                a2 = vfmaq_f32(a2, LOAD(x + i + 8), vld1q_f32(y + i + 8));                                   \
                a3 = vfmaq_f32(a3, LOAD(x + i + 12), vld1q_f32(y + i + 12));                                 \
            }                                                                                                \
            for (; i + 4 <= n; i += 4) a0 = vfmaq_f32(a0, LOAD(x + i), vld1q_f32(y + i));                    \
            float sum = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));                         \
            for (; i < n; i++) sum += SCALAR(x[i]) * y[i];                                                   \
            out[0] = sum;                                                                                    \
            return;                                                                                          \
        }                                                                                                    \
        float32x4_t acc0[4], acc1[4];                                                                        \
        for (int k = 0; k < 4; k++) acc0[k] = acc1[k] = vdupq_n_f32(0);                                      \
        for (; i + 8 <= n; i += 8) {                                                                         \
            float32x4_t x0 = LOAD(x + i), x1 = LOAD(x + i + 4);                                              \
            for (int k = 0; k < na; k++) {                                                                   \
                const float* y = (const float*)ACT(k);                                                       \
                acc0[k] = vfmaq_f32(acc0[k], x0, vld1q_f32(y + i));                                          \
                acc1[k] = vfmaq_f32(acc1[k], x1, vld1q_f32(y + i + 4));                                      \
            }                                                                                                \
        }                                                                                                    \
        for (int k = 0; k < na; k++) {                                                                       \
            const float* y = (const float*)ACT(k);                                                           \
            float sum = vaddvq_f32(vaddq_f32(acc0[k], acc1[k]));                                             \
            for (int j = i; j < n; j++) sum += SCALAR(x[j]) * y[j];                                          \
            out[k * os] = sum;                                                                               \
        }                                                                                                    \
    }                                                                                                        \
    INSTANTIATE(name)

FLOAT_ROWS(rows_f32, float, load_f32, scalar_f32)
FLOAT_ROWS(rows_f16, uint16_t, load_f16, npc_fp16_to_fp32)
FLOAT_ROWS(rows_bf16, uint16_t, load_bf16, npc_bf16_to_fp32)

static void widen_f16(const void* src, float* dst, int64_t n)
{
    const uint16_t* h = (const uint16_t*)src;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, load_f16(h + i));
    for (; i < n; i++) dst[i] = npc_fp16_to_fp32(h[i]);
}

static void widen_bf16(const void* src, float* dst, int64_t n)
{
    const uint16_t* h = (const uint16_t*)src;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, load_bf16(h + i));
    for (; i < n; i++) dst[i] = npc_bf16_to_fp32(h[i]);
}

/* ---- 32-element blocks: the weight block as two int8x16 (elements 0..15, 16..31), then one dot per activation ---- */

#define LEGACY_ROWS(name, XBLOCK, UNPACK, YBLOCK, HAS_MIN)                                                      \
    INLINE void name##_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os, const int na) \
    {                                                                                                        \
        const XBLOCK* x = (const XBLOCK*)w;                                                                  \
        float32x4_t acc[4];                                                                                  \
        float summs[4] = { 0, 0, 0, 0 };                                                                     \
        for (int k = 0; k < 4; k++) acc[k] = vdupq_n_f32(0);                                                 \
        for (int b = 0; b < n / NPC_QK; b++) {                                                               \
            int8x16_t q0, q1;                                                                                \
            UNPACK(&x[b], q0, q1);                                                                           \
            const float dx = h16(x[b].d);                                                                    \
            for (int k = 0; k < na; k++) {                                                                   \
                const YBLOCK* y = Y(YBLOCK, k, b);                                                           \
                int32x4_t p = dot16(dot16(vdupq_n_s32(0), q0, vld1q_s8(y->qs)), q1, vld1q_s8(y->qs + 16));   \
                acc[k] = vfmaq_n_f32(acc[k], vcvtq_f32_s32(p), dx * h16(y->d));                              \
                if (HAS_MIN) summs[k] += h16(MIN_OF(&x[b])) * h16(SUM_OF(y));                                \
            }                                                                                                \
        }                                                                                                    \
        for (int k = 0; k < na; k++) out[k * os] = vaddvq_f32(acc[k]) + summs[k];                            \
    }                                                                                                        \
    INSTANTIATE(name)

/* Blocks without a min never evaluate these (HAS_MIN is 0); they only have to compile. */
#define MIN_OF(xb) (((const block_q4_1*)(xb))->m)
#define SUM_OF(yb) (((const block_q8_1*)(yb))->s)

#define UNPACK_Q4_0(xb, q0, q1)                                                                 \
    do {                                                                                        \
        uint8x16_t v = vld1q_u8((xb)->qs);                                                      \
        q0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F))), vdupq_n_s8(8));       \
        q1 = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(v, 4)), vdupq_n_s8(8));                    \
    } while (0)

#define UNPACK_Q4_1(xb, q0, q1)                                                                 \
    do {                                                                                        \
        uint8x16_t v = vld1q_u8((xb)->qs);                                                      \
        q0 = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0F)));                                \
        q1 = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));                                             \
    } while (0)

/* Q5_0: a cleared fifth bit means value - 16: OR in 0xF0 (-16 on top of the nibble) where the bit is 0. */
#define UNPACK_Q5_0(xb, q0, q1)                                                                 \
    do {                                                                                        \
        uint8x16_t v = vld1q_u8((xb)->qs);                                                      \
        uint32_t qh = npc_load_u32((xb)->qh);                                                   \
        uint8x16_t f0 = vdupq_n_u8(0xF0);                                                       \
        q0 = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(v, vdupq_n_u8(0x0F)), vbicq_u8(f0, bits_to_mask(qh & 0xFFFF)))); \
        q1 = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(v, 4), vbicq_u8(f0, bits_to_mask(qh >> 16))));  \
    } while (0)

#define UNPACK_Q5_1(xb, q0, q1)                                                                 \
    do {                                                                                        \
        uint8x16_t v = vld1q_u8((xb)->qs);                                                      \
        uint32_t qh = npc_load_u32((xb)->qh);                                                   \
        uint8x16_t b4 = vdupq_n_u8(0x10);                                                       \
        q0 = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(v, vdupq_n_u8(0x0F)), vandq_u8(b4, bits_to_mask(qh & 0xFFFF)))); \
        q1 = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(v, 4), vandq_u8(b4, bits_to_mask(qh >> 16))));  \
    } while (0)

#define UNPACK_Q8(xb, q0, q1)          \
    do {                               \
        q0 = vld1q_s8((xb)->qs);       \
        q1 = vld1q_s8((xb)->qs + 16);  \
    } while (0)

LEGACY_ROWS(rows_q4_0, block_q4_0, UNPACK_Q4_0, block_q8_0, 0)
LEGACY_ROWS(rows_q4_1, block_q4_1, UNPACK_Q4_1, block_q8_1, 1)
LEGACY_ROWS(rows_q5_0, block_q5_0, UNPACK_Q5_0, block_q8_0, 0)
LEGACY_ROWS(rows_q5_1, block_q5_1, UNPACK_Q5_1, block_q8_1, 1)
LEGACY_ROWS(rows_q8_0, block_q8_0, UNPACK_Q8, block_q8_0, 0)
LEGACY_ROWS(rows_q8_1, block_q8_1, UNPACK_Q8, block_q8_1, 0)

/*
 * Interleaved Q4_0 and Q5_0 (npc_matmul_q4_0x8, npc_matmul_q5_0x8; Q5_0's blocks add a plane of fifth bits, or'ed onto
 * the nibbles, and take off 16 x sum(q_y)): a chunk's 32 bytes hold four quant bytes of each of the 8 rows (rows 0..3 in
 * the first 16), so with the activation's matching four bytes broadcast, each row's products stay in its own lanes.
 * With the dotprod extension (a build for armv8.2-a+dotprod or later) sdot sums each row's four into its int32 lane;
 * baseline ARMv8.0 widens instead: smull/smlal of two rows x four bytes into int16 lanes, each the sum of 8 products
 * (4 chunks, low and high nibbles) of at most 15 x 128 (Q5_0: 31 x 128) in magnitude, exact, then pairwise adds to a
 * lane per row.
 * As on AVX2 the nibbles multiply unsigned and 8 x sum(q_y) comes off; the float step is the repacked kernels'
 * fma((float)total, d_x * d_y, acc) in one lane per row (vfmaq_f32 is fused), so every path gives the same bits.
 */
INLINE int8x16_t bcast4(const uint8_t* p) { return vreinterpretq_s8_u32(vdupq_n_u32(npc_load_u32(p))); }

/* Quants of one half-chunk as signed bytes: the nibbles, with Q5_0's fifth bits (plane bit `shift` places up or down
   from bit 4) or'ed on. */
INLINE int8x16_t x8_quants(uint8x16_t nibbles, uint8x16_t plane, const int shift, const int q5, uint8x16_t b4)
{
    if (!q5) return vreinterpretq_s8_u8(nibbles);
    return vreinterpretq_s8_u8(vorrq_u8(nibbles, vandq_u8(vshlq_u8(plane, vdupq_n_s8((int8_t)shift)), b4)));
}

INLINE void x8_group(const uint8_t* x, int nb, const uint8_t* y, int64_t ys, const float* dy, const int32_t* sy8,
                     int64_t ps, float* out, int64_t os, int accumulate, const int na, const int q5)
{
    const uint8x16_t m4 = vdupq_n_u8(0x0F), b4 = vdupq_n_u8(0x10);
    float32x4_t acc[4][2];
    for (int k = 0; k < na; k++)
        for (int h = 0; h < 2; h++) acc[k][h] = accumulate ? vld1q_f32(out + k * os + 4 * h) : vdupq_n_f32(0);
    const uint8_t* qy = y + offsetof(block_q8_0, qs);
    for (int b = 0; b < nb; b++, x += q5 ? NPC_Q5X8_BLOCK : NPC_Q4X8_BLOCK, qy += sizeof(block_q8_0)) {
        const uint8x16_t pl0 = q5 ? vld1q_u8(x + NPC_Q5X8_PLANE) : vdupq_n_u8(0), pl1 = q5 ? vld1q_u8(x + NPC_Q5X8_PLANE + 16) : vdupq_n_u8(0);
        int32x4_t s[4][2]; /* activation k: rows 0..3, rows 4..7 */
#if defined(__ARM_FEATURE_DOTPROD)
        for (int k = 0; k < na; k++) s[k][0] = s[k][1] = vdupq_n_s32(0);
        for (int c = 0; c < 4; c++) {
            const uint8x16_t v0 = vld1q_u8(x + 16 + 32 * c), v1 = vld1q_u8(x + 32 + 32 * c);
            const int8x16_t lo0 = x8_quants(vandq_u8(v0, m4), pl0, 4 - c, q5, b4), hi0 = x8_quants(vshrq_n_u8(v0, 4), pl0, -c, q5, b4);
            const int8x16_t lo1 = x8_quants(vandq_u8(v1, m4), pl1, 4 - c, q5, b4), hi1 = x8_quants(vshrq_n_u8(v1, 4), pl1, -c, q5, b4);
            for (int k = 0; k < na; k++) {
                const int8x16_t yl = bcast4(qy + k * ys + 4 * c), yh = bcast4(qy + k * ys + 16 + 4 * c);
                s[k][0] = vdotq_s32(vdotq_s32(s[k][0], lo0, yl), hi0, yh);
                s[k][1] = vdotq_s32(vdotq_s32(s[k][1], lo1, yl), hi1, yh);
            }
        }
#else
        int16x8_t p[4][4]; /* activation k: rows 0-1, 2-3, 4-5, 6-7, four bytes each */
        for (int c = 0; c < 4; c++) {
            const uint8x16_t v0 = vld1q_u8(x + 16 + 32 * c), v1 = vld1q_u8(x + 32 + 32 * c);
            const int8x16_t lo0 = x8_quants(vandq_u8(v0, m4), pl0, 4 - c, q5, b4), hi0 = x8_quants(vshrq_n_u8(v0, 4), pl0, -c, q5, b4);
            const int8x16_t lo1 = x8_quants(vandq_u8(v1, m4), pl1, 4 - c, q5, b4), hi1 = x8_quants(vshrq_n_u8(v1, 4), pl1, -c, q5, b4);
            for (int k = 0; k < na; k++) {
                const int8x16_t yl = bcast4(qy + k * ys + 4 * c), yh = bcast4(qy + k * ys + 16 + 4 * c);
                const int8x8_t yl8 = vget_low_s8(yl), yh8 = vget_low_s8(yh);
                if (c == 0) {
                    p[k][0] = vmull_s8(vget_low_s8(lo0), yl8);
                    p[k][1] = vmull_high_s8(lo0, yl);
                    p[k][2] = vmull_s8(vget_low_s8(lo1), yl8);
                    p[k][3] = vmull_high_s8(lo1, yl);
                } else {
                    p[k][0] = vmlal_s8(p[k][0], vget_low_s8(lo0), yl8);
                    p[k][1] = vmlal_high_s8(p[k][1], lo0, yl);
                    p[k][2] = vmlal_s8(p[k][2], vget_low_s8(lo1), yl8);
                    p[k][3] = vmlal_high_s8(p[k][3], lo1, yl);
                }
                p[k][0] = vmlal_s8(p[k][0], vget_low_s8(hi0), yh8);
                p[k][1] = vmlal_high_s8(p[k][1], hi0, yh);
                p[k][2] = vmlal_s8(p[k][2], vget_low_s8(hi1), yh8);
                p[k][3] = vmlal_high_s8(p[k][3], hi1, yh);
            }
        }
        for (int k = 0; k < na; k++) {
            s[k][0] = vpaddq_s32(vpaddlq_s16(p[k][0]), vpaddlq_s16(p[k][1]));
            s[k][1] = vpaddq_s32(vpaddlq_s16(p[k][2]), vpaddlq_s16(p[k][3]));
        }
#endif
        const float32x4_t dx0 = vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(x)));
        const float32x4_t dx1 = vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(x + 8)));
        for (int k = 0; k < na; k++) {
            const int32x4_t corr = vdupq_n_s32((q5 ? 2 : 1) * sy8[k * ps + b]);
            const float32x4_t d = vdupq_n_f32(dy[k * ps + b]);
            acc[k][0] = vfmaq_f32(acc[k][0], vcvtq_f32_s32(vsubq_s32(s[k][0], corr)), vmulq_f32(dx0, d));
            acc[k][1] = vfmaq_f32(acc[k][1], vcvtq_f32_s32(vsubq_s32(s[k][1], corr)), vmulq_f32(dx1, d));
        }
    }
    for (int k = 0; k < na; k++) {
        vst1q_f32(out + k * os, acc[k][0]);
        vst1q_f32(out + k * os + 4, acc[k][1]);
    }
}

#define X8(name, q5)                                                                                                   \
    static void name(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys, const float* dy,       \
                     const int32_t* sy8, int64_t ps, int na, float* out, int64_t os, int accumulate)                    \
    {                                                                                                                 \
        switch (na) {                                                                                                 \
        case 1: for (int g = 0; g < ng; g++) x8_group(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 1, q5); break; \
        case 2: for (int g = 0; g < ng; g++) x8_group(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 2, q5); break; \
        case 3: for (int g = 0; g < ng; g++) x8_group(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 3, q5); break; \
        default: for (int g = 0; g < ng; g++) x8_group(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 4, q5); break; \
        }                                                                                                             \
    }

X8(q4_0x8, 0)
X8(q5_0x8, 1)
#undef X8

static void q8_0_sums(const uint8_t* y, int nb, float* dy, int32_t* sy8)
{
    for (int b = 0; b < nb; b++) {
        const block_q8_0* yb = (const block_q8_0*)(y + b * sizeof(block_q8_0));
        dy[b] = h16(yb->d);
        sy8[b] = 8 * ((int32_t)vaddlvq_s8(vld1q_s8(yb->qs)) + vaddlvq_s8(vld1q_s8(yb->qs + 16)));
    }
}

/*
 * Interleaved Q4_K (npc_matmul_q4_Kx8): the same chunk layout as interleaved Q4_0, so each row's products stay in its
 * own lanes; the low and the high nibbles (sub-blocks 2j and 2j + 1, different scales) are summed apart. With dotprod,
 * sdot sums each row's four into its int32 lane; baseline ARMv8.0 widens, smull/smlal of two rows x four bytes into
 * int16 lanes, each the sum of 8 products (8 chunks) of at most 15 x 128 in magnitude, exact, then pairwise adds to a
 * lane per row (one activation at a time: 8 int16 accumulators each). Scales and mins multiply in int32, exact; the
 * float steps are the repacked kernels' in one lane per row (vfmaq_f32 is fused), so every path gives the same bits.
 * The 6-bit scales and mins come out of the rows' packed scale bytes (stored transposed) once per super-block, for
 * all 8 rows at once, into a 128-byte buffer on the stack.
 */

/**
 * The rows' packed scale bytes (byte 8i + r: row r's scales[i]) as ggml's get_scale_min_k4 unpacks them: the scale of
 * sub-block s of row r at sm[8s + r], its min at sm[64 + 16 (s / 2) + 2r + s % 2]. With A, B, C the bytes 0-3, 4-7,
 * 8-11 of the 8 rows: scales 0-3 = A & 63, mins 0-3 = B & 63, scales 4-7 = (C & 15) | (A >> 6) << 4,
 * mins 4-7 = C >> 4 | (B >> 6) << 4.
 */
INLINE void q4kx8_unpack(const uint8_t* x, uint8_t* sm)
{
    const uint8_t* raw = x + NPC_Q4KX8_SCALES;
    const uint8x16_t m6 = vdupq_n_u8(63), m4 = vdupq_n_u8(0x0F), m30 = vdupq_n_u8(0x30);
    for (int h = 0; h < 2; h++) { /* sub-blocks 2h, 2h + 1 and 4 + 2h, 5 + 2h */
        const uint8x16_t a = vld1q_u8(raw + 16 * h), b = vld1q_u8(raw + 32 + 16 * h), c = vld1q_u8(raw + 64 + 16 * h);
        const uint8x16_t mlo = vandq_u8(b, m6), mhi = vorrq_u8(vshrq_n_u8(c, 4), vandq_u8(vshrq_n_u8(b, 2), m30));
        vst1q_u8(sm + 16 * h, vandq_u8(a, m6));
        vst1q_u8(sm + 32 + 16 * h, vorrq_u8(vandq_u8(c, m4), vandq_u8(vshrq_n_u8(a, 2), m30)));
        /* [2j: rows 0..7][2j + 1: rows 0..7] to [row 0: 2j, 2j + 1][row 1: ..].. */
        vst1q_u8(sm + 64 + 16 * h, vzip1q_u8(mlo, vextq_u8(mlo, mlo, 8)));
        vst1q_u8(sm + 96 + 16 * h, vzip1q_u8(mhi, vextq_u8(mhi, mhi, 8)));
    }
}

/** Eight rows' bytes (scales of one sub-block) widened to int32, rows 0..3 and 4..7. */
INLINE void widen8(const uint8_t* p, int32x4_t* v)
{
    const uint16x8_t h = vmovl_u8(vld1_u8(p));
    v[0] = vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(h)));
    v[1] = vreinterpretq_s32_u32(vmovl_high_u16(h));
}

/** Row r's mins of sub-blocks 2j, 2j + 1 times the activation's sums over them (`pair`, two int16): rows 0..3, 4..7. */
INLINE void q4kx8_mins(const uint8_t* sm, int j, int32_t pair, int32x4_t* m)
{
    const uint8x16_t mv = vld1q_u8(sm + 64 + 16 * j);
    const int16x8_t m0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mv))), m1 = vreinterpretq_s16_u16(vmovl_high_u8(mv));
    const int16x8_t bp = vreinterpretq_s16_s32(vdupq_n_s32(pair));
    m[0] = vpaddq_s32(vmull_s16(vget_low_s16(m0), vget_low_s16(bp)), vmull_high_s16(m0, bp));
    m[1] = vpaddq_s32(vmull_s16(vget_low_s16(m1), vget_low_s16(bp)), vmull_high_s16(m1, bp));
}

/* One group against `na` activations with the gemm's (per 64) or the gemv's (per 256) steps; `part` and `ps2`: its
   chains across windows (npc_q4kx8_fn), activation k's at part + k * ps2. */
INLINE void q4_Kx8_group(const uint8_t* x, int nb, const uint8_t* y, int64_t ys, const int32_t* pairs, int64_t ps,
                         float* out, int64_t os, float* part, int64_t ps2, int window, const int na, const int gemm)
{
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    float32x4_t acc[4][2], accm[4][2];
    for (int k = 0; k < na; k++)
        for (int h = 0; h < 2; h++) {
            const int carry = window & NPC_WINDOW_CONTINUE;
            acc[k][h] = carry ? vld1q_f32(part + k * ps2 + 4 * h) : vdupq_n_f32(0);
            accm[k][h] = carry ? vld1q_f32(part + k * ps2 + 8 + 4 * h) : vdupq_n_f32(0);
        }
    const uint8_t* qy = y + offsetof(block_q8_K, qs);
    for (int b = 0; b < nb; b++, x += NPC_Q4KX8_BLOCK, qy += sizeof(block_q8_K)) {
        _Alignas(16) uint8_t sm[128];
        q4kx8_unpack(x, sm);
        int32x4_t total[4][2], mins[4][2];
        for (int k = 0; k < na; k++) total[k][0] = total[k][1] = mins[k][0] = mins[k][1] = vdupq_n_s32(0);
        for (int j = 0; j < 4; j++) {
            const uint8_t* c = x + NPC_Q4KX8_QUANTS + 256 * j;
            int32x4_t sl[4][2], sh[4][2]; /* activation k: low / high nibbles' sums, rows 0..3, rows 4..7 */
#if defined(__ARM_FEATURE_DOTPROD)
            for (int k = 0; k < na; k++) sl[k][0] = sl[k][1] = sh[k][0] = sh[k][1] = vdupq_n_s32(0);
            for (int i = 0; i < 8; i++) {
                const uint8x16_t v0 = vld1q_u8(c + 32 * i), v1 = vld1q_u8(c + 32 * i + 16);
                const int8x16_t lo0 = vreinterpretq_s8_u8(vandq_u8(v0, m4)), hi0 = vreinterpretq_s8_u8(vshrq_n_u8(v0, 4));
                const int8x16_t lo1 = vreinterpretq_s8_u8(vandq_u8(v1, m4)), hi1 = vreinterpretq_s8_u8(vshrq_n_u8(v1, 4));
                for (int k = 0; k < na; k++) {
                    const int8x16_t yl = bcast4(qy + k * ys + 64 * j + 4 * i), yh = bcast4(qy + k * ys + 64 * j + 32 + 4 * i);
                    sl[k][0] = vdotq_s32(sl[k][0], lo0, yl);
                    sl[k][1] = vdotq_s32(sl[k][1], lo1, yl);
                    sh[k][0] = vdotq_s32(sh[k][0], hi0, yh);
                    sh[k][1] = vdotq_s32(sh[k][1], hi1, yh);
                }
            }
#else
            for (int k = 0; k < na; k++) {
                int16x8_t pl[4], ph[4]; /* rows 0-1, 2-3, 4-5, 6-7, four bytes each */
                for (int i = 0; i < 8; i++) {
                    const uint8x16_t v0 = vld1q_u8(c + 32 * i), v1 = vld1q_u8(c + 32 * i + 16);
                    const int8x16_t lo0 = vreinterpretq_s8_u8(vandq_u8(v0, m4)), hi0 = vreinterpretq_s8_u8(vshrq_n_u8(v0, 4));
                    const int8x16_t lo1 = vreinterpretq_s8_u8(vandq_u8(v1, m4)), hi1 = vreinterpretq_s8_u8(vshrq_n_u8(v1, 4));
                    const int8x16_t yl = bcast4(qy + k * ys + 64 * j + 4 * i), yh = bcast4(qy + k * ys + 64 * j + 32 + 4 * i);
                    const int8x8_t yl8 = vget_low_s8(yl), yh8 = vget_low_s8(yh);
                    if (i == 0) {
                        pl[0] = vmull_s8(vget_low_s8(lo0), yl8);
                        pl[1] = vmull_high_s8(lo0, yl);
                        pl[2] = vmull_s8(vget_low_s8(lo1), yl8);
                        pl[3] = vmull_high_s8(lo1, yl);
                        ph[0] = vmull_s8(vget_low_s8(hi0), yh8);
                        ph[1] = vmull_high_s8(hi0, yh);
                        ph[2] = vmull_s8(vget_low_s8(hi1), yh8);
                        ph[3] = vmull_high_s8(hi1, yh);
                    } else {
                        pl[0] = vmlal_s8(pl[0], vget_low_s8(lo0), yl8);
                        pl[1] = vmlal_high_s8(pl[1], lo0, yl);
                        pl[2] = vmlal_s8(pl[2], vget_low_s8(lo1), yl8);
                        pl[3] = vmlal_high_s8(pl[3], lo1, yl);
                        ph[0] = vmlal_s8(ph[0], vget_low_s8(hi0), yh8);
                        ph[1] = vmlal_high_s8(ph[1], hi0, yh);
                        ph[2] = vmlal_s8(ph[2], vget_low_s8(hi1), yh8);
                        ph[3] = vmlal_high_s8(ph[3], hi1, yh);
                    }
                }
                sl[k][0] = vpaddq_s32(vpaddlq_s16(pl[0]), vpaddlq_s16(pl[1]));
                sl[k][1] = vpaddq_s32(vpaddlq_s16(pl[2]), vpaddlq_s16(pl[3]));
                sh[k][0] = vpaddq_s32(vpaddlq_s16(ph[0]), vpaddlq_s16(ph[1]));
                sh[k][1] = vpaddq_s32(vpaddlq_s16(ph[2]), vpaddlq_s16(ph[3]));
            }
#endif
            int32x4_t scl[2], sch[2];
            widen8(sm + 16 * j, scl);
            widen8(sm + 16 * j + 8, sch);
            for (int k = 0; k < na; k++) {
                int32x4_t m[2];
                q4kx8_mins(sm, j, pairs[k * ps + 4 * b + j], m);
                for (int h = 0; h < 2; h++) {
                    const int32x4_t p = vmlaq_s32(vmulq_s32(sl[k][h], scl[h]), sh[k][h], sch[h]);
                    if (gemm) {
                        const float32x4_t dy = vdupq_n_f32(((const block_q8_K*)(y + k * ys) + b)->d);
                        const float32x4_t dx = vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(x + 8 * h)));
                        const float32x4_t dmx = vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(x + 16 + 8 * h)));
                        acc[k][h] = vfmaq_f32(acc[k][h], vcvtq_f32_s32(p), vmulq_f32(dx, dy));
                        accm[k][h] = vfmaq_f32(accm[k][h], vcvtq_f32_s32(m[h]), vmulq_f32(dmx, dy));
                    } else {
                        total[k][h] = vaddq_s32(total[k][h], p);
                        mins[k][h] = vaddq_s32(mins[k][h], m[h]);
                    }
                }
            }
        }
        if (!gemm) {
            for (int k = 0; k < na; k++) {
                const float32x4_t dy = vdupq_n_f32(((const block_q8_K*)(y + k * ys) + b)->d);
                for (int h = 0; h < 2; h++) {
                    const float32x4_t dx = vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(x + 8 * h)));
                    const float32x4_t dmx = vcvt_f32_f16(vreinterpret_f16_u8(vld1_u8(x + 16 + 8 * h)));
                    acc[k][h] = vfmaq_f32(acc[k][h], vcvtq_f32_s32(total[k][h]), vmulq_f32(dx, dy));
                    accm[k][h] = vfmaq_f32(accm[k][h], vcvtq_f32_s32(mins[k][h]), vmulq_f32(dmx, dy));
                }
            }
        }
    }
    for (int k = 0; k < na; k++)
        for (int h = 0; h < 2; h++) {
            if (window & NPC_WINDOW_KEEP) {
                vst1q_f32(part + k * ps2 + 4 * h, acc[k][h]);
                vst1q_f32(part + k * ps2 + 8 + 4 * h, accm[k][h]);
            } else {
                vst1q_f32(out + k * os + 4 * h, vsubq_f32(acc[k][h], accm[k][h]));
            }
        }
}

#define Q4KX8_CASE(NA, GEMM)                                                                                     \
    case 2 * NA + GEMM:                                                                                          \
        for (int g = 0; g < ng; g++)                                                                             \
            q4_Kx8_group(x + g * gs, nb, y, ys, pairs, ps, out + 8 * g, os, part ? part + 16 * g : NULL, 16 * ng, \
                         window, NA, GEMM);                                                                      \
        break;

static void q4_Kx8(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys, const int32_t* pairs,
                   int64_t ps, int na, int gemm, float* out, int64_t os, float* part, int window)
{
    switch (2 * na + (gemm != 0)) {
    Q4KX8_CASE(1, 0) Q4KX8_CASE(1, 1) Q4KX8_CASE(2, 0) Q4KX8_CASE(2, 1)
    Q4KX8_CASE(3, 0) Q4KX8_CASE(3, 1) Q4KX8_CASE(4, 0) Q4KX8_CASE(4, 1)
    default: break;
    }
}

static void q8_K_pairs(const uint8_t* y, int nb, int32_t* pairs)
{
    /* pairwise adds of the 16 bsums: 16-bit lane j holds bsums 2j + 2j+1, so 32-bit lane j is pair j, low half first */
    for (int b = 0; b < nb; b++) {
        const int16_t* bs = ((const block_q8_K*)y + b)->bsums;
        vst1q_s32(pairs + 4 * b, vreinterpretq_s32_s16(vpaddq_s16(vld1q_s16(bs), vld1q_s16(bs + 8))));
    }
}

/* ---- K-quants ---- */

INLINE void rows_q8_K_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os, const int na)
{
    const block_q8_K* x = (const block_q8_K*)w;
    float acc[4] = { 0, 0, 0, 0 };
    for (int b = 0; b < n / NPC_QK_K; b++) {
        int32x4_t s[4];
        for (int k = 0; k < 4; k++) s[k] = vdupq_n_s32(0);
        for (int j = 0; j < 256; j += 16) {
            int8x16_t q = vld1q_s8(x[b].qs + j);
            for (int k = 0; k < na; k++) s[k] = dot16(s[k], q, vld1q_s8(Y(block_q8_K, k, b)->qs + j));
        }
        for (int k = 0; k < na; k++) acc[k] += x[b].d * Y(block_q8_K, k, b)->d * (float)vaddvq_s32(s[k]);
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}
INSTANTIATE(rows_q8_K)

/** sum over the 16 groups of 16 of bsums[g] * mins[g] (mins as 16 shorts). */
INLINE int32_t mins_dot(const int16_t* bsums, int16x8_t m0, int16x8_t m1)
{
    int16x8_t b0 = vld1q_s16(bsums), b1 = vld1q_s16(bsums + 8);
    int32x4_t s = vmull_s16(vget_low_s16(b0), vget_low_s16(m0));
    s = vmlal_high_s16(s, b0, m0);
    s = vmlal_s16(s, vget_low_s16(b1), vget_low_s16(m1));
    s = vmlal_high_s16(s, b1, m1);
    return vaddvq_s32(s);
}

INLINE void rows_q2_K_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os, const int na)
{
    const block_q2_K* x = (const block_q2_K*)w;
    const uint8x16_t m3 = vdupq_n_u8(3);
    float acc[4] = { 0, 0, 0, 0 };
    for (int b = 0; b < n / NPC_QK_K; b++) {
        const float d = h16(x[b].d), dmin = h16(x[b].dmin);
        const uint8x16_t packed = vld1q_u8(x[b].scales);
        const uint8x16_t mins8 = vshrq_n_u8(packed, 4);
        const int16x8_t m0 = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mins8)));
        const int16x8_t m1 = vreinterpretq_s16_u16(vmovl_high_u8(mins8));
        int32_t sc[16];
        for (int j = 0; j < 16; j++) sc[j] = x[b].scales[j] & 0xF;
        int32_t isum[4] = { 0, 0, 0, 0 };
        for (int j = 0; j < 2; j++) {
            const uint8x16_t bits0 = vld1q_u8(x[b].qs + 32 * j), bits1 = vld1q_u8(x[b].qs + 32 * j + 16);
            for (int s = 0; s < 4; s++) {
                const int8x16_t shift = vdupq_n_s8((int8_t)(-2 * s));
                const int8x16_t q0 = vreinterpretq_s8_u8(vandq_u8(vshlq_u8(bits0, shift), m3));
                const int8x16_t q1 = vreinterpretq_s8_u8(vandq_u8(vshlq_u8(bits1, shift), m3));
                const int si = 8 * j + 2 * s;
                for (int k = 0; k < na; k++) {
                    const int8_t* q8 = Y(block_q8_K, k, b)->qs + 128 * j + 32 * s;
                    isum[k] += sc[si] * vaddvq_s32(dot16(vdupq_n_s32(0), q0, vld1q_s8(q8)))
                             + sc[si + 1] * vaddvq_s32(dot16(vdupq_n_s32(0), q1, vld1q_s8(q8 + 16)));
                }
            }
        }
        for (int k = 0; k < na; k++) {
            const block_q8_K* y = Y(block_q8_K, k, b);
            acc[k] += y->d * d * (float)isum[k] - y->d * dmin * (float)mins_dot(y->bsums, m0, m1);
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}
INSTANTIATE(rows_q2_K)

INLINE void unpack_scales_q3_K(const uint8_t* q, int32_t* sc)
{
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0F0F0F0F;
    uint32_t a0 = npc_load_u32(q), a1 = npc_load_u32(q + 4), tmp = npc_load_u32(q + 8);
    uint32_t s[4];
    s[0] = (a0 & kmask2) | ((tmp & kmask1) << 4);
    s[1] = (a1 & kmask2) | (((tmp >> 2) & kmask1) << 4);
    s[2] = ((a0 >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    s[3] = ((a1 >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    const uint8_t* bytes = (const uint8_t*)s;
    for (int j = 0; j < 16; j++) sc[j] = (int32_t)bytes[j] - 32;
}

INLINE void rows_q3_K_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os, const int na)
{
    const block_q3_K* x = (const block_q3_K*)w;
    const uint8x16_t m3 = vdupq_n_u8(3);
    const uint8x16_t four = vdupq_n_u8(4);
    float acc[4] = { 0, 0, 0, 0 };
    for (int b = 0; b < n / NPC_QK_K; b++) {
        const float d = h16(x[b].d);
        int32_t sc[16];
        unpack_scales_q3_K(x[b].scales, sc);
        const uint8x16_t hm0 = vld1q_u8(x[b].hmask), hm1 = vld1q_u8(x[b].hmask + 16);
        int32_t isum[4] = { 0, 0, 0, 0 };
        for (int j = 0; j < 2; j++) {
            const uint8x16_t bits0 = vld1q_u8(x[b].qs + 32 * j), bits1 = vld1q_u8(x[b].qs + 32 * j + 16);
            for (int s = 0; s < 4; s++) {
                const int8x16_t shift = vdupq_n_s8((int8_t)(-2 * s));
                const uint8x16_t mask = vdupq_n_u8((uint8_t)(1 << (4 * j + s)));
                /* A cleared high bit means q - 4. */
                const int8x16_t q0 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(vshlq_u8(bits0, shift), m3)),
                                              vreinterpretq_s8_u8(vbicq_u8(four, vtstq_u8(hm0, mask))));
                const int8x16_t q1 = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(vshlq_u8(bits1, shift), m3)),
                                              vreinterpretq_s8_u8(vbicq_u8(four, vtstq_u8(hm1, mask))));
                const int si = 8 * j + 2 * s;
                for (int k = 0; k < na; k++) {
                    const int8_t* q8 = Y(block_q8_K, k, b)->qs + 128 * j + 32 * s;
                    isum[k] += sc[si] * vaddvq_s32(dot16(vdupq_n_s32(0), q0, vld1q_s8(q8)))
                             + sc[si + 1] * vaddvq_s32(dot16(vdupq_n_s32(0), q1, vld1q_s8(q8 + 16)));
                }
            }
        }
        for (int k = 0; k < na; k++) acc[k] += d * Y(block_q8_K, k, b)->d * (float)isum[k];
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}
INSTANTIATE(rows_q3_K)

/** Q4_K/Q5_K: 8 scales and 8 mins from the 12 packed bytes (ggml's utmp/kmask code). */
INLINE void unpack_scales_k4(const uint8_t* q, uint8_t* scales, uint8_t* mins)
{
    const uint32_t kmask1 = 0x3F3F3F3F, kmask2 = 0x0F0F0F0F, kmask3 = 0x03030303;
    uint32_t u0 = npc_load_u32(q), u1 = npc_load_u32(q + 4), u2 = npc_load_u32(q + 8);
    uint32_t s[2] = { u0 & kmask1, (u2 & kmask2) | (((u0 >> 6) & kmask3) << 4) };
    uint32_t m[2] = { u1 & kmask1, ((u2 >> 4) & kmask2) | (((u1 >> 6) & kmask3) << 4) };
    memcpy(scales, s, 8);
    memcpy(mins, m, 8);
}

#define K4_ROWS(name, BLOCK, HAS_QH)                                                                            \
    INLINE void name##_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os, const int na) \
    {                                                                                                         \
        const BLOCK* x = (const BLOCK*)w;                                                                     \
        const uint8x16_t m4 = vdupq_n_u8(0x0F), bit4 = vdupq_n_u8(0x10);                                      \
        float acc[4] = { 0, 0, 0, 0 };                                                                        \
        for (int b = 0; b < n / NPC_QK_K; b++) {                                                              \
            const float d = h16(x[b].d), dmin = h16(x[b].dmin);                                               \
            uint8_t scales[8], mins[8];                                                                       \
            unpack_scales_k4(x[b].scales, scales, mins);                                                      \
            /* each min covers two groups of 16 */                                                            \
            const uint8x8_t mn = vld1_u8(mins);                                                               \
            const int16x8_t m0 = vreinterpretq_s16_u16(vmovl_u8(vzip1_u8(mn, mn)));                           \
            const int16x8_t m1 = vreinterpretq_s16_u16(vmovl_u8(vzip2_u8(mn, mn)));                           \
            int32_t isum[4] = { 0, 0, 0, 0 };                                                                 \
            uint8x16_t qh0 = vdupq_n_u8(0), qh1 = vdupq_n_u8(0);                                              \
            if (HAS_QH) {                                                                                     \
                qh0 = vld1q_u8(K4_QH(x + b));                                                                 \
                qh1 = vld1q_u8(K4_QH(x + b) + 16);                                                            \
            }                                                                                                 \
            const uint8_t* q4 = x[b].qs;                                                                      \
            for (int j = 0; j < 4; j++, q4 += 32) {                                                           \
                const uint8x16_t v0 = vld1q_u8(q4), v1 = vld1q_u8(q4 + 16);                                   \
                uint8x16_t l0 = vandq_u8(v0, m4), l1 = vandq_u8(v1, m4);                                      \
                uint8x16_t h0 = vshrq_n_u8(v0, 4), h1 = vshrq_n_u8(v1, 4);                                    \
                if (HAS_QH) {                                                                                 \
                    const uint8x16_t ml = vdupq_n_u8((uint8_t)(1 << (2 * j)));                                \
                    const uint8x16_t mh = vdupq_n_u8((uint8_t)(2 << (2 * j)));                                \
                    l0 = vorrq_u8(l0, vandq_u8(vtstq_u8(qh0, ml), bit4));                                     \
                    l1 = vorrq_u8(l1, vandq_u8(vtstq_u8(qh1, ml), bit4));                                     \
                    h0 = vorrq_u8(h0, vandq_u8(vtstq_u8(qh0, mh), bit4));                                     \
                    h1 = vorrq_u8(h1, vandq_u8(vtstq_u8(qh1, mh), bit4));                                     \
                }                                                                                             \
                const int8x16_t sl0 = vreinterpretq_s8_u8(l0), sl1 = vreinterpretq_s8_u8(l1);                 \
                const int8x16_t sh0 = vreinterpretq_s8_u8(h0), sh1 = vreinterpretq_s8_u8(h1);                 \
                for (int k = 0; k < na; k++) {                                                                \
                    const int8_t* q8 = Y(block_q8_K, k, b)->qs + 64 * j;                                      \
                    isum[k] += scales[2 * j] * dot32(sl0, sl1, q8) + scales[2 * j + 1] * dot32(sh0, sh1, q8 + 32); \
                }                                                                                             \
            }                                                                                                 \
            for (int k = 0; k < na; k++) {                                                                    \
                const block_q8_K* y = Y(block_q8_K, k, b);                                                    \
                acc[k] += d * y->d * (float)isum[k] - dmin * y->d * (float)mins_dot(y->bsums, m0, m1);         \
            }                                                                                                 \
        }                                                                                                     \
        for (int k = 0; k < na; k++) out[k * os] = acc[k];                                                    \
    }                                                                                                         \
    INSTANTIATE(name)

#define K4_QH(xb) ((const block_q5_K*)(xb))->qh
K4_ROWS(rows_q4_K, block_q4_K, 0)
K4_ROWS(rows_q5_K, block_q5_K, 1)

INLINE void rows_q6_K_n(int n, const void* w, const void* act, int64_t as, float* out, int64_t os, const int na)
{
    const block_q6_K* x = (const block_q6_K*)w;
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t m32 = vdupq_n_s8(32);
    float acc[4] = { 0, 0, 0, 0 };
    for (int b = 0; b < n / NPC_QK_K; b++) {
        const float d = h16(x[b].d);
        int32_t isum[4] = { 0, 0, 0, 0 };
        for (int half = 0; half < 2; half++) {
            const uint8_t* ql = x[b].ql + 64 * half;
            const uint8_t* qh = x[b].qh + 32 * half;
            const int8_t* sc = x[b].scales + 8 * half;
            for (int c = 0; c < 2; c++) {
                const uint8x16_t la = vld1q_u8(ql + 16 * c), lb = vld1q_u8(ql + 32 + 16 * c), h = vld1q_u8(qh + 16 * c);
                int8x16_t q[4];
                q[0] = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(la, m4), vshlq_n_u8(vandq_u8(h, vdupq_n_u8(0x03)), 4)));
                q[1] = vreinterpretq_s8_u8(vorrq_u8(vandq_u8(lb, m4), vshlq_n_u8(vandq_u8(h, vdupq_n_u8(0x0C)), 2)));
                q[2] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(la, 4), vandq_u8(h, vdupq_n_u8(0x30))));
                q[3] = vreinterpretq_s8_u8(vorrq_u8(vshrq_n_u8(lb, 4), vshrq_n_u8(vandq_u8(h, vdupq_n_u8(0xC0)), 2)));
                for (int g = 0; g < 4; g++) q[g] = vsubq_s8(q[g], m32);
                for (int k = 0; k < na; k++) {
                    const int8_t* q8 = Y(block_q8_K, k, b)->qs + 128 * half + 16 * c;
                    for (int g = 0; g < 4; g++)
                        isum[k] += sc[2 * g + c] * vaddvq_s32(dot16(vdupq_n_s32(0), q[g], vld1q_s8(q8 + 32 * g)));
                }
            }
        }
        for (int k = 0; k < na; k++) acc[k] += d * Y(block_q8_K, k, b)->d * (float)isum[k];
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}
INSTANTIATE(rows_q6_K)

/* ---- Activation quantizers (same bytes as the scalar ones) ---- */

INLINE float absmax32(const float* x)
{
    float32x4_t m = vabsq_f32(vld1q_f32(x));
    for (int j = 4; j < 32; j += 4) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + j)));
    return vmaxvq_f32(m);
}

/** round_half_even(x * id) for 8 floats, narrowed to int8 (values are within -127..127). */
INLINE int8x8_t round8(const float* x, float id, int32x4_t* sum)
{
    int32x4_t a = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x), id));
    int32x4_t b = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + 4), id));
    *sum = vaddq_s32(*sum, vaddq_s32(a, b));
    return vqmovn_s16(vcombine_s16(vqmovn_s32(a), vqmovn_s32(b)));
}

INLINE void quant_q8_legacy(const float* x, uint8_t* y, int64_t n, const int with_sum)
{
    const int block_bytes = with_sum ? 36 : 34, qoff = with_sum ? 4 : 2;
    for (int64_t b = 0; b < n / NPC_QK; b++, x += NPC_QK, y += block_bytes) {
        const float amax = absmax32(x);
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        uint16_t dh = npc_fp32_to_fp16(d);
        memcpy(y, &dh, 2);
        int32x4_t sum = vdupq_n_s32(0);
        for (int j = 0; j < 32; j += 8) vst1_s8((int8_t*)(y + qoff + j), round8(x + j, id, &sum));
        if (with_sum) {
            uint16_t sh = npc_fp32_to_fp16(d * (float)vaddvq_s32(sum));
            memcpy(y + 2, &sh, 2);
        }
    }
}

static void quant_q8_0(const float* x, void* y, int64_t n) { quant_q8_legacy(x, (uint8_t*)y, n, 0); }
static void quant_q8_1(const float* x, void* y, int64_t n) { quant_q8_legacy(x, (uint8_t*)y, n, 1); }

static void quant_q8_K(const float* x, void* vy, int64_t n)
{
    block_q8_K* y = (block_q8_K*)vy;
    for (int64_t b = 0; b < n / NPC_QK_K; b++, x += NPC_QK_K) {
        float32x4_t m = vdupq_n_f32(0);
        for (int j = 0; j < 256; j += 4) m = vmaxq_f32(m, vabsq_f32(vld1q_f32(x + j)));
        const float amax = vmaxvq_f32(m);
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof(block_q8_K));
            continue;
        }
        float max = 0.0f;
        for (int j = 0; j < 256; j++) {
            if ((x[j] < 0 ? -x[j] : x[j]) == amax) {
                max = x[j];
                break;
            }
        }
        const float iscale = -127.0f / max;
        const int32x4_t limit = vdupq_n_s32(127);
        for (int j = 0; j < 256; j += 16) {
            int32x4_t i0 = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + j), iscale)), limit);
            int32x4_t i1 = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + j + 4), iscale)), limit);
            int32x4_t i2 = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + j + 8), iscale)), limit);
            int32x4_t i3 = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + j + 12), iscale)), limit);
            y[b].bsums[j / 16] = (int16_t)vaddvq_s32(vaddq_s32(vaddq_s32(i0, i1), vaddq_s32(i2, i3)));
            int16x8_t lo = vcombine_s16(vqmovn_s32(i0), vqmovn_s32(i1));
            int16x8_t hi = vcombine_s16(vqmovn_s32(i2), vqmovn_s32(i3));
            vst1q_s8(y[b].qs + j, vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)));
        }
        y[b].d = 1.0f / iscale;
    }
}

/** fcvtn with the default FPCR (round to nearest even, NaNs quieted keeping the top payload bits). */
static void quant_f16(const float* x, void* vy, int64_t n)
{
    uint16_t* y = (uint16_t*)vy;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; i++) y[i] = npc_fp32_to_fp16(x[i]);
}

static void quant_bf16(const float* x, void* vy, int64_t n)
{
    uint16_t* y = (uint16_t*)vy;
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32x4_t u = vreinterpretq_u32_f32(vld1q_f32(x + i));
        uint32x4_t rounded = vshrq_n_u32(vaddq_u32(vaddq_u32(u, vdupq_n_u32(0x7FFF)), vandq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(1))), 16);
        uint32x4_t quiet = vorrq_u32(vshrq_n_u32(u, 16), vdupq_n_u32(64));
        uint32x4_t is_nan = vcgtq_u32(vandq_u32(u, vdupq_n_u32(0x7FFFFFFF)), vdupq_n_u32(0x7F800000));
        vst1_u16(y + i, vmovn_u32(vbslq_u32(is_nan, quiet, rounded)));
    }
    for (; i < n; i++) y[i] = npc_fp32_to_bf16(x[i]);
}

void npc_kernels_neon(npc_kernels* k)
{
    k->path = NPC_PATH_NEON;
    k->rows[NPC_TYPE_F32] = rows_f32;
    k->rows[NPC_TYPE_F16] = rows_f16;
    k->rows[NPC_TYPE_BF16] = rows_bf16;
    k->rows[NPC_TYPE_Q4_0] = rows_q4_0;
    k->rows[NPC_TYPE_Q4_1] = rows_q4_1;
    k->rows[NPC_TYPE_Q5_0] = rows_q5_0;
    k->rows[NPC_TYPE_Q5_1] = rows_q5_1;
    k->rows[NPC_TYPE_Q8_0] = rows_q8_0;
    k->rows[NPC_TYPE_Q8_1] = rows_q8_1;
    k->rows[NPC_TYPE_Q8_K] = rows_q8_K;
    k->rows[NPC_TYPE_Q2_K] = rows_q2_K;
    k->rows[NPC_TYPE_Q3_K] = rows_q3_K;
    k->rows[NPC_TYPE_Q4_K] = rows_q4_K;
    k->rows[NPC_TYPE_Q5_K] = rows_q5_K;
    k->rows[NPC_TYPE_Q6_K] = rows_q6_K;
    k->quant[NPC_TYPE_F16] = quant_f16;
    k->quant[NPC_TYPE_BF16] = quant_bf16;
    k->quant[NPC_TYPE_Q8_0] = quant_q8_0;
    k->quant[NPC_TYPE_Q8_1] = quant_q8_1;
    k->quant[NPC_TYPE_Q8_K] = quant_q8_K;
    k->widen[NPC_TYPE_F16] = widen_f16;
    k->widen[NPC_TYPE_BF16] = widen_bf16;
    k->q4_0x8 = q4_0x8;
    k->q5_0x8 = q5_0x8;
    k->q8_0_sums = q8_0_sums;
    k->q4_Kx8 = q4_Kx8;
    k->q8_K_pairs = q8_K_pairs;
}

#endif /* NPC_ARM64 */
