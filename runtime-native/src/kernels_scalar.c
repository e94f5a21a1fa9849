/*
 * The plain-C path: the reference every SIMD path is tested against, and what runs on CPUs without AVX2/NEON.
 *
 * Each weight block is unpacked once into int8 quants (and per-16-element scales for the K-quants), then dotted
 * with every activation row: exact int32 sums per block, one float multiply-add with the product of the scales,
 * in the same order as the managed VecDotScalar (ggml's ggml_vec_dot_*_generic).
 */
#include <math.h>

#include "npc_internal.h"

#define NPC_MAX_ACT 4

/* ---- Unpacking one block of weights to int8 (the value before scaling) ---- */

static void unpack_q4_0(const block_q4_0* b, int8_t* q)
{
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((b->qs[j] & 0xF) - 8);
        q[j + 16] = (int8_t)((b->qs[j] >> 4) - 8);
    }
}

static void unpack_q4_1(const block_q4_1* b, int8_t* q)
{
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)(b->qs[j] & 0xF);
        q[j + 16] = (int8_t)(b->qs[j] >> 4);
    }
}

static void unpack_q5(const uint8_t* qs, uint32_t qh, int offset, int8_t* q)
{
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)(((qs[j] & 0xF) | (((qh >> j) << 4) & 0x10)) - offset);
        q[j + 16] = (int8_t)(((qs[j] >> 4) | ((qh >> (j + 12)) & 0x10)) - offset);
    }
}

static int32_t dot32(const int8_t* a, const int8_t* b)
{
    int32_t s = 0;
    for (int j = 0; j < 32; j++) s += a[j] * b[j];
    return s;
}

/** Q2_K: quants 0..3 in activation order, and the 16 scales / mins (4 bits each). */
static void unpack_q2_K(const block_q2_K* b, int8_t* q, int32_t* sc, int32_t* mn)
{
    for (int e = 0; e < 256; e++) {
        int k = e / 128, r = e % 128;
        q[e] = (int8_t)((b->qs[32 * k + r % 32] >> (2 * (r / 32))) & 3);
    }
    for (int j = 0; j < 16; j++) {
        sc[j] = b->scales[j] & 0xF;
        mn[j] = b->scales[j] >> 4;
    }
}

/** Q3_K: quants -4..3 and the 16 6-bit scales minus 32. */
static void unpack_q3_K(const block_q3_K* b, int8_t* q, int32_t* sc)
{
    for (int e = 0; e < 256; e++) {
        int k = e / 128, r = e % 128, s = r / 32, l = r % 32;
        int low = (b->qs[32 * k + l] >> (2 * s)) & 3;
        q[e] = (int8_t)(low - ((b->hmask[l] & (1 << (4 * k + s))) ? 0 : 4));
    }
    for (int j = 0; j < 16; j++) {
        int low = j < 8 ? b->scales[j] & 0xF : b->scales[j - 8] >> 4;
        int high = (b->scales[8 + (j % 4)] >> (2 * (j / 4))) & 3;
        sc[j] = (low | (high << 4)) - 32;
    }
}

/** Q4_K / Q5_K: eight 6-bit scales and mins (ggml's get_scale_min_k4), spread to the 16 groups of 16. */
static void unpack_scales_k4(const uint8_t* s, int32_t* sc, int32_t* mn)
{
    for (int j = 0; j < 8; j++) {
        int a, m;
        if (j < 4) {
            a = s[j] & 63;
            m = s[j + 4] & 63;
        } else {
            a = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
            m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
        }
        sc[2 * j] = sc[2 * j + 1] = a;
        mn[2 * j] = mn[2 * j + 1] = m;
    }
}

static void unpack_q4_K(const block_q4_K* b, int8_t* q, int32_t* sc, int32_t* mn)
{
    for (int e = 0; e < 256; e++) {
        int j = e / 64, r = e % 64;
        q[e] = (int8_t)(r < 32 ? b->qs[32 * j + r] & 0xF : b->qs[32 * j + r - 32] >> 4);
    }
    unpack_scales_k4(b->scales, sc, mn);
}

static void unpack_q5_K(const block_q5_K* b, int8_t* q, int32_t* sc, int32_t* mn)
{
    for (int e = 0; e < 256; e++) {
        int j = e / 64, r = e % 64, l = r % 32, hi = r >= 32;
        int low = hi ? b->qs[32 * j + l] >> 4 : b->qs[32 * j + l] & 0xF;
        q[e] = (int8_t)(low + ((b->qh[l] & (1 << (2 * j + hi))) ? 16 : 0));
    }
    unpack_scales_k4(b->scales, sc, mn);
}

/** Q6_K: quants -32..31 and the 16 int8 scales. */
static void unpack_q6_K(const block_q6_K* b, int8_t* q, int32_t* sc)
{
    for (int e = 0; e < 256; e++) {
        int n = e / 128, r = e % 128, g = r / 32, l = r % 32;
        const uint8_t* ql = b->ql + 64 * n;
        const uint8_t* qh = b->qh + 32 * n;
        int low = (g & 1) ? ql[l + 32] : ql[l];
        low = (g & 2) ? low >> 4 : low & 0xF;
        int high = (qh[l] >> (2 * g)) & 3;
        q[e] = (int8_t)((low | (high << 4)) - 32);
    }
    for (int j = 0; j < 16; j++) sc[j] = b->scales[j];
}

/** sum over 16 groups of 16: sc[g] * dot(q, y) over the group. */
static int32_t dot256_scaled(const int8_t* q, const int8_t* y, const int32_t* sc)
{
    int32_t isum = 0;
    for (int g = 0; g < 16; g++) {
        int32_t part = 0;
        for (int l = 0; l < 16; l++) part += q[16 * g + l] * y[16 * g + l];
        isum += sc[g] * part;
    }
    return isum;
}

static int32_t mins_dot(const int16_t* bsums, const int32_t* mn)
{
    int32_t s = 0;
    for (int j = 0; j < 16; j++) s += bsums[j] * mn[j];
    return s;
}

/* ---- Row kernels (npc_rows_fn) ---- */

#define ACT(k) ((const uint8_t*)act + (k) * act_stride)

static void row_f32(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const float* x = (const float*)w;
    for (int k = 0; k < na; k++) {
        const float* y = (const float*)ACT(k);
        float sum = 0;
        for (int i = 0; i < n; i++) sum += x[i] * y[i];
        out[k * os] = sum;
    }
}

static void row_f16(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const uint16_t* x = (const uint16_t*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    for (int i = 0; i < n; i++) {
        float xi = npc_fp16_to_fp32(x[i]);
        for (int k = 0; k < na; k++) acc[k] += xi * ((const float*)ACT(k))[i];
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_bf16(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const uint16_t* x = (const uint16_t*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    for (int i = 0; i < n; i++) {
        float xi = npc_bf16_to_fp32(x[i]);
        for (int k = 0; k < na; k++) acc[k] += xi * ((const float*)ACT(k))[i];
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q4_0(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q4_0* x = (const block_q4_0*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    int8_t q[32];
    for (int b = 0; b < n / NPC_QK; b++) {
        unpack_q4_0(&x[b], q);
        float dx = NPC_FP16(x[b].d);
        for (int k = 0; k < na; k++) {
            const block_q8_0* y = (const block_q8_0*)ACT(k) + b;
            acc[k] += dx * NPC_FP16(y->d) * (float)dot32(q, y->qs);
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q4_1(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q4_1* x = (const block_q4_1*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    int8_t q[32];
    for (int b = 0; b < n / NPC_QK; b++) {
        unpack_q4_1(&x[b], q);
        float dx = NPC_FP16(x[b].d), mx = NPC_FP16(x[b].m);
        for (int k = 0; k < na; k++) {
            const block_q8_1* y = (const block_q8_1*)ACT(k) + b;
            acc[k] += dx * NPC_FP16(y->d) * (float)dot32(q, y->qs) + mx * NPC_FP16(y->s);
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q5_0(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q5_0* x = (const block_q5_0*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    int8_t q[32];
    for (int b = 0; b < n / NPC_QK; b++) {
        unpack_q5(x[b].qs, npc_load_u32(x[b].qh), 16, q);
        float dx = NPC_FP16(x[b].d);
        for (int k = 0; k < na; k++) {
            const block_q8_0* y = (const block_q8_0*)ACT(k) + b;
            acc[k] += dx * NPC_FP16(y->d) * (float)dot32(q, y->qs);
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q5_1(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q5_1* x = (const block_q5_1*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    int8_t q[32];
    for (int b = 0; b < n / NPC_QK; b++) {
        unpack_q5(x[b].qs, npc_load_u32(x[b].qh), 0, q);
        float dx = NPC_FP16(x[b].d), mx = NPC_FP16(x[b].m);
        for (int k = 0; k < na; k++) {
            const block_q8_1* y = (const block_q8_1*)ACT(k) + b;
            acc[k] += dx * NPC_FP16(y->d) * (float)dot32(q, y->qs) + mx * NPC_FP16(y->s);
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q8_0(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q8_0* x = (const block_q8_0*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    for (int b = 0; b < n / NPC_QK; b++) {
        float dx = NPC_FP16(x[b].d);
        for (int k = 0; k < na; k++) {
            const block_q8_0* y = (const block_q8_0*)ACT(k) + b;
            acc[k] += dx * NPC_FP16(y->d) * (float)dot32(x[b].qs, y->qs);
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q8_1(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q8_1* x = (const block_q8_1*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    for (int b = 0; b < n / NPC_QK; b++) {
        float dx = NPC_FP16(x[b].d);
        for (int k = 0; k < na; k++) {
            const block_q8_1* y = (const block_q8_1*)ACT(k) + b;
            acc[k] += dx * NPC_FP16(y->d) * (float)dot32(x[b].qs, y->qs);
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q8_K(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q8_K* x = (const block_q8_K*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    for (int b = 0; b < n / NPC_QK_K; b++) {
        for (int k = 0; k < na; k++) {
            const block_q8_K* y = (const block_q8_K*)ACT(k) + b;
            int32_t isum = 0;
            for (int j = 0; j < 256; j++) isum += x[b].qs[j] * y->qs[j];
            acc[k] += x[b].d * y->d * (float)isum;
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q2_K(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q2_K* x = (const block_q2_K*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    int8_t q[256];
    int32_t sc[16], mn[16];
    for (int b = 0; b < n / NPC_QK_K; b++) {
        unpack_q2_K(&x[b], q, sc, mn);
        float d = NPC_FP16(x[b].d), dmin = NPC_FP16(x[b].dmin);
        for (int k = 0; k < na; k++) {
            const block_q8_K* y = (const block_q8_K*)ACT(k) + b;
            int32_t isum = dot256_scaled(q, y->qs, sc);
            int32_t summs = mins_dot(y->bsums, mn);
            acc[k] += y->d * d * (float)isum - y->d * dmin * (float)summs;
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q3_K(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q3_K* x = (const block_q3_K*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    int8_t q[256];
    int32_t sc[16];
    for (int b = 0; b < n / NPC_QK_K; b++) {
        unpack_q3_K(&x[b], q, sc);
        float d = NPC_FP16(x[b].d);
        for (int k = 0; k < na; k++) {
            const block_q8_K* y = (const block_q8_K*)ACT(k) + b;
            acc[k] += d * y->d * (float)dot256_scaled(q, y->qs, sc);
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q4_K(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q4_K* x = (const block_q4_K*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    int8_t q[256];
    int32_t sc[16], mn[16];
    for (int b = 0; b < n / NPC_QK_K; b++) {
        unpack_q4_K(&x[b], q, sc, mn);
        float d = NPC_FP16(x[b].d), dmin = NPC_FP16(x[b].dmin);
        for (int k = 0; k < na; k++) {
            const block_q8_K* y = (const block_q8_K*)ACT(k) + b;
            int32_t isum = dot256_scaled(q, y->qs, sc);
            int32_t summs = mins_dot(y->bsums, mn);
            acc[k] += d * y->d * (float)isum - dmin * y->d * (float)summs;
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q5_K(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q5_K* x = (const block_q5_K*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    int8_t q[256];
    int32_t sc[16], mn[16];
    for (int b = 0; b < n / NPC_QK_K; b++) {
        unpack_q5_K(&x[b], q, sc, mn);
        float d = NPC_FP16(x[b].d), dmin = NPC_FP16(x[b].dmin);
        for (int k = 0; k < na; k++) {
            const block_q8_K* y = (const block_q8_K*)ACT(k) + b;
            int32_t isum = dot256_scaled(q, y->qs, sc);
            int32_t summs = mins_dot(y->bsums, mn);
            acc[k] += d * y->d * (float)isum - dmin * y->d * (float)summs;
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

static void row_q6_K(int n, const void* w, const void* act, int64_t act_stride, int na, float* out, int64_t os)
{
    const block_q6_K* x = (const block_q6_K*)w;
    float acc[NPC_MAX_ACT] = { 0 };
    int8_t q[256];
    int32_t sc[16];
    for (int b = 0; b < n / NPC_QK_K; b++) {
        unpack_q6_K(&x[b], q, sc);
        float d = NPC_FP16(x[b].d);
        for (int k = 0; k < na; k++) {
            const block_q8_K* y = (const block_q8_K*)ACT(k) + b;
            acc[k] += d * y->d * (float)dot256_scaled(q, y->qs, sc);
        }
    }
    for (int k = 0; k < na; k++) out[k * os] = acc[k];
}

/* The row loop around each single-row kernel (npc_rows_fn). */
#define ROWS_LOOP(name)                                                                                         \
    static void rows_##name(int n, const void* w, int64_t ws, int nrows, const void* act, int64_t as, int na,   \
                            float* out, int64_t os)                                                            \
    {                                                                                                          \
        for (int r = 0; r < nrows; r++) row_##name(n, (const uint8_t*)w + r * ws, act, as, na, out + r, os);    \
    }
ROWS_LOOP(f32)
ROWS_LOOP(f16)
ROWS_LOOP(bf16)
ROWS_LOOP(q4_0)
ROWS_LOOP(q4_1)
ROWS_LOOP(q5_0)
ROWS_LOOP(q5_1)
ROWS_LOOP(q8_0)
ROWS_LOOP(q8_1)
ROWS_LOOP(q8_K)
ROWS_LOOP(q2_K)
ROWS_LOOP(q3_K)
ROWS_LOOP(q4_K)
ROWS_LOOP(q5_K)
ROWS_LOOP(q6_K)

/* ---- Activation quantizers (the bytes of the managed Quantizer.QuantizeRow) ---- */

static float absmax(const float* x, int n)
{
    float amax = 0.0f;
    for (int j = 0; j < n; j++) {
        float a = x[j] < 0 ? -x[j] : x[j];
        amax = amax > a ? amax : a;
    }
    return amax;
}

static void quant_f32(const float* x, void* y, int64_t n) { memcpy(y, x, (size_t)n * sizeof(float)); }

static void quant_f16(const float* x, void* y, int64_t n)
{
    uint16_t* h = (uint16_t*)y;
    for (int64_t i = 0; i < n; i++) h[i] = npc_fp32_to_fp16(x[i]);
}

static void quant_bf16(const float* x, void* y, int64_t n)
{
    uint16_t* h = (uint16_t*)y;
    for (int64_t i = 0; i < n; i++) h[i] = npc_fp32_to_bf16(x[i]);
}

/** x86 AVX2 quantize_row_q8_0: d = amax/127, q = round_half_even(x * (127/amax)). */
static void quant_q8_0(const float* x, void* vy, int64_t n)
{
    block_q8_0* y = (block_q8_0*)vy;
    for (int64_t b = 0; b < n / NPC_QK; b++, x += NPC_QK) {
        float amax = absmax(x, NPC_QK);
        float d = amax / 127.0f;
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        y[b].d = npc_fp32_to_fp16(d);
        for (int j = 0; j < NPC_QK; j++) y[b].qs[j] = (int8_t)npc_nearest_int(x[j] * id);
    }
}

/** x86 AVX2 quantize_row_q8_1: as Q8_0, plus s = d * sum(q). */
static void quant_q8_1(const float* x, void* vy, int64_t n)
{
    block_q8_1* y = (block_q8_1*)vy;
    for (int64_t b = 0; b < n / NPC_QK; b++, x += NPC_QK) {
        float amax = absmax(x, NPC_QK);
        float d = amax / 127.0f;
        float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        y[b].d = npc_fp32_to_fp16(d);
        for (int j = 0; j < NPC_QK; j++) {
            int q = npc_nearest_int(x[j] * id);
            y[b].qs[j] = (int8_t)q;
            sum += q;
        }
        y[b].s = npc_fp32_to_fp16(d * (float)sum);
    }
}

/** quantize_row_q8_K_ref: q = min(127, nearest_int(-127/max * x)), max the first element of largest magnitude. */
static void quant_q8_K(const float* x, void* vy, int64_t n)
{
    block_q8_K* y = (block_q8_K*)vy;
    for (int64_t b = 0; b < n / NPC_QK_K; b++, x += NPC_QK_K) {
        float max = 0.0f, amax = 0.0f;
        for (int j = 0; j < NPC_QK_K; j++) {
            float ax = x[j] < 0 ? -x[j] : x[j];
            if (ax > amax) {
                amax = ax;
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(&y[b], 0, sizeof(block_q8_K));
            continue;
        }
        float iscale = -127.0f / max;
        for (int j = 0; j < NPC_QK_K; j++) {
            int v = npc_nearest_int(iscale * x[j]);
            y[b].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int i = 0; i < 16; i++) sum += y[b].qs[16 * j + i];
            y[b].bsums[j] = (int16_t)sum;
        }
        y[b].d = 1.0f / iscale;
    }
}

/* ---- Interleaved Q4_0 and Q5_0 in 8-row groups (npc_matmul_q4_0x8, npc_matmul_q5_0x8) ---- */

static void q8_0_sums(const uint8_t* y, int nb, float* dy, int32_t* sy8)
{
    for (int b = 0; b < nb; b++) {
        const block_q8_0* yb = (const block_q8_0*)(y + b * sizeof(block_q8_0));
        int32_t s = 0;
        for (int j = 0; j < 32; j++) s += yb->qs[j];
        dy[b] = NPC_FP16(yb->d);
        sy8[b] = 8 * s;
    }
}

/* A block's 8 rows unpacked to unsigned quants in element order once (Q4_0's nibbles, or with `q5` Q5_0's nibbles with
   the plane's fifth bits), then each activation's exact sum; the float step is the repacked kernels'
   fma((float)(sum q y - offset sum y), d_x * d_y, acc), offset 8 or 16. */
static void x8(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys, const float* dy,
               const int32_t* sy8, int64_t ps, int na, float* out, int64_t os, int accumulate, int q5)
{
    for (int g = 0; g < ng; g++) {
        const uint8_t* xg = x + g * gs;
        float acc[NPC_MAX_ACT][8];
        for (int k = 0; k < na; k++)
            for (int r = 0; r < 8; r++) acc[k][r] = accumulate ? out[k * os + 8 * g + r] : 0.0f;
        for (int b = 0; b < nb; b++) {
            const uint8_t* xb = xg + b * (q5 ? NPC_Q5X8_BLOCK : NPC_Q4X8_BLOCK);
            uint8_t q[8][32];
            float dx[8];
            for (int r = 0; r < 8; r++) {
                dx[r] = NPC_FP16((uint16_t)(xb[2 * r] | (xb[2 * r + 1] << 8)));
                for (int c = 0; c < 4; c++)
                    for (int j = 0; j < 4; j++) {
                        const uint8_t v = xb[16 + 32 * c + 4 * r + j], h = q5 ? xb[NPC_Q5X8_PLANE + 4 * r + j] : 0;
                        q[r][4 * c + j] = (uint8_t)((v & 0x0F) | (((h >> c) & 1) << 4));
                        q[r][4 * c + j + 16] = (uint8_t)((v >> 4) | (((h >> (4 + c)) & 1) << 4));
                    }
            }
            for (int k = 0; k < na; k++) {
                const int8_t* qy = ((const block_q8_0*)(y + k * ys) + b)->qs;
                for (int r = 0; r < 8; r++) {
                    int32_t s = 0;
                    for (int j = 0; j < 32; j++) s += q[r][j] * qy[j];
                    acc[k][r] = fmaf((float)(s - (q5 ? 2 : 1) * sy8[k * ps + b]), dx[r] * dy[k * ps + b], acc[k][r]);
                }
            }
        }
        for (int k = 0; k < na; k++)
            for (int r = 0; r < 8; r++) out[k * os + 8 * g + r] = acc[k][r];
    }
}

static void q4_0x8(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys, const float* dy,
                   const int32_t* sy8, int64_t ps, int na, float* out, int64_t os, int accumulate)
{
    x8(x, gs, ng, nb, y, ys, dy, sy8, ps, na, out, os, accumulate, 0);
}

static void q5_0x8(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys, const float* dy,
                   const int32_t* sy8, int64_t ps, int na, float* out, int64_t os, int accumulate)
{
    x8(x, gs, ng, nb, y, ys, dy, sy8, ps, na, out, os, accumulate, 1);
}

/* ---- Interleaved Q4_K (npc_matmul_q4_Kx8) ---- */

static void q8_K_pairs(const uint8_t* y, int nb, int32_t* pairs)
{
    for (int b = 0; b < nb; b++) {
        const int16_t* bs = ((const block_q8_K*)y + b)->bsums;
        for (int j = 0; j < 4; j++) {
            /* int16 halves, wrapping as the SIMD adds (and the managed PairSums) do */
            uint32_t lo = (uint16_t)(bs[4 * j] + bs[4 * j + 1]), hi = (uint16_t)(bs[4 * j + 2] + bs[4 * j + 3]);
            pairs[4 * b + j] = (int32_t)(lo | hi << 16);
        }
    }
}

/* Half h (0 low, 1 high) of a pair sum as a signed int16. */
static int32_t pair_half(int32_t pair, int h)
{
    int32_t v = (int32_t)(((uint32_t)pair >> (16 * h)) & 0xFFFF);
    return v - ((v & 0x8000) << 1);
}

/* A super-block's 8 rows unpacked once (nibbles in element order, 6-bit scales and mins), then each activation's
   exact sums per 64 elements: sc * q . y over the two sub-blocks and their mins times the activation's sums; the
   float steps are the repacked kernels' (npc_q4kx8_fn): one fmaf per chain per 64 elements (gemm) or per super-block
   (gemv). */
static void q4_Kx8(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys, const int32_t* pairs,
                   int64_t ps, int na, int gemm, float* out, int64_t os, float* part, int window)
{
    for (int g = 0; g < ng; g++) {
        const uint8_t* xg = x + g * gs;
        float acc[NPC_MAX_ACT][8], accm[NPC_MAX_ACT][8];
        for (int k = 0; k < na; k++)
            for (int r = 0; r < 8; r++) {
                const int carry = window & NPC_WINDOW_CONTINUE;
                acc[k][r] = carry ? part[16 * (k * ng + g) + r] : 0.0f;
                accm[k][r] = carry ? part[16 * (k * ng + g) + 8 + r] : 0.0f;
            }
        for (int b = 0; b < nb; b++) {
            const uint8_t* xb = xg + b * NPC_Q4KX8_BLOCK;
            uint8_t q[8][256];
            float dx[8], dmx[8];
            for (int r = 0; r < 8; r++) {
                dx[r] = NPC_FP16((uint16_t)(xb[2 * r] | (xb[2 * r + 1] << 8)));
                dmx[r] = NPC_FP16((uint16_t)(xb[16 + 2 * r] | (xb[17 + 2 * r] << 8)));
                for (int c = 0; c < 32; c++) /* chunk 8j + i: bytes 32j + 4i.. of each row */
                    for (int e = 0; e < 4; e++) {
                        const uint8_t v = xb[NPC_Q4KX8_QUANTS + 32 * c + 4 * r + e];
                        q[r][64 * (c / 8) + 4 * (c % 8) + e] = v & 0x0F;
                        q[r][64 * (c / 8) + 32 + 4 * (c % 8) + e] = v >> 4;
                    }
            }
            /* Each row's 6-bit scales and mins from its 12 packed bytes (ggml's get_scale_min_k4). */
            uint8_t sc[8][8], mn[8][8];
            for (int r = 0; r < 8; r++) {
                const uint8_t* raw = xb + NPC_Q4KX8_SCALES + r; /* raw[8 * i]: the row's scales[i] */
                for (int s = 0; s < 8; s++) {
                    if (s < 4) {
                        sc[r][s] = raw[8 * s] & 63;
                        mn[r][s] = raw[8 * (s + 4)] & 63;
                    } else {
                        sc[r][s] = (uint8_t)((raw[8 * (s + 4)] & 0x0F) | ((raw[8 * (s - 4)] >> 6) << 4));
                        mn[r][s] = (uint8_t)((raw[8 * (s + 4)] >> 4) | ((raw[8 * s] >> 6) << 4));
                    }
                }
            }
            for (int k = 0; k < na; k++) {
                const block_q8_K* yb = (const block_q8_K*)(y + k * ys) + b;
                const int32_t* pk = pairs + k * ps + 4 * b;
                for (int r = 0; r < 8; r++) {
                    const float d = dx[r] * yb->d, dmin = dmx[r] * yb->d;
                    int32_t total = 0, mins = 0;
                    for (int j = 0; j < 4; j++) {
                        int32_t lo = 0, hi = 0;
                        for (int e = 0; e < 32; e++) {
                            lo += q[r][64 * j + e] * yb->qs[64 * j + e];
                            hi += q[r][64 * j + 32 + e] * yb->qs[64 * j + 32 + e];
                        }
                        const int32_t s = sc[r][2 * j] * lo + sc[r][2 * j + 1] * hi;
                        const int32_t m = mn[r][2 * j] * pair_half(pk[j], 0) + mn[r][2 * j + 1] * pair_half(pk[j], 1);
                        if (gemm) {
                            acc[k][r] = fmaf((float)s, d, acc[k][r]);
                            accm[k][r] = fmaf((float)m, dmin, accm[k][r]);
                        } else {
                            total += s;
                            mins += m;
                        }
                    }
                    if (!gemm) {
                        acc[k][r] = fmaf((float)total, d, acc[k][r]);
                        accm[k][r] = fmaf((float)mins, dmin, accm[k][r]);
                    }
                }
            }
        }
        for (int k = 0; k < na; k++)
            for (int r = 0; r < 8; r++) {
                if (window & NPC_WINDOW_KEEP) {
                    part[16 * (k * ng + g) + r] = acc[k][r];
                    part[16 * (k * ng + g) + 8 + r] = accm[k][r];
                } else {
                    out[k * os + 8 * g + r] = acc[k][r] - accm[k][r];
                }
            }
    }
}

static void widen_f16(const void* src, float* dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = npc_fp16_to_fp32(((const uint16_t*)src)[i]);
}

static void widen_bf16(const void* src, float* dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) dst[i] = npc_bf16_to_fp32(((const uint16_t*)src)[i]);
}

void npc_kernels_scalar(npc_kernels* k)
{
    memset(k, 0, sizeof(*k));
    k->path = NPC_PATH_SCALAR;
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
    k->quant[NPC_TYPE_F32] = quant_f32;
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

/* ---- Dequantization (ggml's dequantize_row_*): scalar on every path, except F16/BF16 (the active path's widen) ---- */

int npc_dequantize_row(int type, const void* src, float* dst, int64_t n)
{
    int bs = npc_type_block_size(type);
    if (bs == 0) return NPC_ERR_TYPE;
    if (!src || !dst || n < 0 || n % bs != 0) return NPC_ERR_ARGUMENT;
    int64_t nb = n / bs;
    int8_t q[256];
    int32_t sc[16], mn[16];
    switch (type) {
    case NPC_TYPE_F32: memcpy(dst, src, (size_t)n * 4); break;
    case NPC_TYPE_F16: case NPC_TYPE_BF16: npc_active()->widen[type](src, dst, n); break;
    case NPC_TYPE_Q4_0:
        for (int64_t b = 0; b < nb; b++) {
            const block_q4_0* x = (const block_q4_0*)src + b;
            unpack_q4_0(x, q);
            for (int j = 0; j < 32; j++) dst[32 * b + j] = q[j] * NPC_FP16(x->d);
        }
        break;
    case NPC_TYPE_Q4_1:
        for (int64_t b = 0; b < nb; b++) {
            const block_q4_1* x = (const block_q4_1*)src + b;
            unpack_q4_1(x, q);
            for (int j = 0; j < 32; j++) dst[32 * b + j] = q[j] * NPC_FP16(x->d) + NPC_FP16(x->m);
        }
        break;
    case NPC_TYPE_Q5_0:
        for (int64_t b = 0; b < nb; b++) {
            const block_q5_0* x = (const block_q5_0*)src + b;
            unpack_q5(x->qs, npc_load_u32(x->qh), 16, q);
            for (int j = 0; j < 32; j++) dst[32 * b + j] = q[j] * NPC_FP16(x->d);
        }
        break;
    case NPC_TYPE_Q5_1:
        for (int64_t b = 0; b < nb; b++) {
            const block_q5_1* x = (const block_q5_1*)src + b;
            unpack_q5(x->qs, npc_load_u32(x->qh), 0, q);
            for (int j = 0; j < 32; j++) dst[32 * b + j] = q[j] * NPC_FP16(x->d) + NPC_FP16(x->m);
        }
        break;
    case NPC_TYPE_Q8_0:
        for (int64_t b = 0; b < nb; b++) {
            const block_q8_0* x = (const block_q8_0*)src + b;
            for (int j = 0; j < 32; j++) dst[32 * b + j] = x->qs[j] * NPC_FP16(x->d);
        }
        break;
    case NPC_TYPE_Q8_1:
        for (int64_t b = 0; b < nb; b++) {
            const block_q8_1* x = (const block_q8_1*)src + b;
            for (int j = 0; j < 32; j++) dst[32 * b + j] = x->qs[j] * NPC_FP16(x->d);
        }
        break;
    case NPC_TYPE_Q8_K:
        for (int64_t b = 0; b < nb; b++) {
            const block_q8_K* x = (const block_q8_K*)src + b;
            for (int j = 0; j < 256; j++) dst[256 * b + j] = x->d * x->qs[j];
        }
        break;
    case NPC_TYPE_Q2_K:
        for (int64_t b = 0; b < nb; b++) {
            const block_q2_K* x = (const block_q2_K*)src + b;
            unpack_q2_K(x, q, sc, mn);
            float d = NPC_FP16(x->d), dmin = NPC_FP16(x->dmin);
            for (int e = 0; e < 256; e++) dst[256 * b + e] = d * sc[e / 16] * q[e] - dmin * mn[e / 16];
        }
        break;
    case NPC_TYPE_Q3_K:
        for (int64_t b = 0; b < nb; b++) {
            const block_q3_K* x = (const block_q3_K*)src + b;
            unpack_q3_K(x, q, sc);
            float d = NPC_FP16(x->d);
            for (int e = 0; e < 256; e++) dst[256 * b + e] = d * sc[e / 16] * q[e];
        }
        break;
    case NPC_TYPE_Q4_K:
        for (int64_t b = 0; b < nb; b++) {
            const block_q4_K* x = (const block_q4_K*)src + b;
            unpack_q4_K(x, q, sc, mn);
            float d = NPC_FP16(x->d), dmin = NPC_FP16(x->dmin);
            for (int e = 0; e < 256; e++) dst[256 * b + e] = d * sc[e / 16] * q[e] - dmin * mn[e / 16];
        }
        break;
    case NPC_TYPE_Q5_K:
        for (int64_t b = 0; b < nb; b++) {
            const block_q5_K* x = (const block_q5_K*)src + b;
            unpack_q5_K(x, q, sc, mn);
            float d = NPC_FP16(x->d), dmin = NPC_FP16(x->dmin);
            for (int e = 0; e < 256; e++) dst[256 * b + e] = d * sc[e / 16] * q[e] - dmin * mn[e / 16];
        }
        break;
    case NPC_TYPE_Q6_K:
        for (int64_t b = 0; b < nb; b++) {
            const block_q6_K* x = (const block_q6_K*)src + b;
            unpack_q6_K(x, q, sc);
            float d = NPC_FP16(x->d);
            for (int e = 0; e < 256; e++) dst[256 * b + e] = d * sc[e / 16] * q[e];
        }
        break;
    default:
        return NPC_ERR_TYPE;
    }
    return NPC_OK;
}
