/*
 * Float helpers of a transformer step, with the same operation order as the managed VectorOps / ForwardPass /
 * Attention (built with -ffp-contract=off, so no multiply-add is fused behind our back).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "npc_internal.h"

int npc_rmsnorm(const float* x, const float* w, float* y, int n, float eps)
{
    if (!x || !w || !y || n <= 0) return NPC_ERR_ARGUMENT;
    double sum = 0;
    for (int i = 0; i < n; i++) {
        float sq = x[i] * x[i];
        sum += sq;
    }
    float mean = (float)(sum / n);
    float scale = 1.0f / sqrtf(mean + eps);
    for (int i = 0; i < n; i++) y[i] = x[i] * scale * w[i];
    return NPC_OK;
}

int npc_softmax(float* x, int n)
{
    if (!x || n < 0) return NPC_ERR_ARGUMENT;
    if (n == 0) return NPC_OK;
    float max = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0;
    for (int i = 0; i < n; i++) {
        float e = expf(x[i] - max);
        x[i] = e;
        sum += e;
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= inv;
    return NPC_OK;
}

static inline float f32_of(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* One lane of ggml_v_expf (AVX2 + FMA): the same operations as GgmlMath.Exp(float), fmaf where it fuses. */
static float v_expf_lane(float x)
{
    const float round = 12582912.0f; /* 0x1.8p23f */
    const float log2e = f32_of(0x3FB8AA3Bu), ln2lo = f32_of(0x35BFBE8Eu), ln2hi = f32_of(0x3F317200u);
    const float p5 = f32_of(0x3C072010u), p4 = f32_of(0x3D2B9F17u), p3 = f32_of(0x3E2AAF33u);
    const float p2 = f32_of(0x3EFFFEDBu), p1 = f32_of(0x3F7FFFF6u);
    float z = fmaf(x, log2e, round);
    float n = z - round;
    float b = fmaf(-n, ln2lo, fmaf(-n, ln2hi, x));
    uint32_t e = bits_of(z) << 23;
    float k = f32_of(e + 0x3F800000u);
    float u = b * b;
    float j = fmaf(fmaf(fmaf(p5, b, p4), u, fmaf(p3, b, p2)), u, p1 * b);
    float absn = fabsf(n);
    if (!(absn > 126.0f)) return fmaf(j, k, k);
    uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
    float s1 = f32_of(g + 0x7F000000u);
    float s2 = f32_of(e - g);
    if (absn > 192.0f) return s1 * s1;
    return fmaf(s2, j, s2) * s1;
}

int npc_swiglu(float* gate, const float* up, int n)
{
    if (!gate || !up || n < 0) return NPC_ERR_ARGUMENT;
    int full = n & ~7, i = 0;
    for (; i < full; i++) {
        float x = gate[i];
        gate[i] = x / (1.0f + v_expf_lane(0.0f - x)) * up[i];
    }
    for (; i < n; i++) {
        float x = gate[i];
        gate[i] = x / (1.0f + expf(-x)) * up[i];
    }
    return NPC_OK;
}

int npc_rope(float* x, int n_heads, int head_dim, int64_t head_stride, int rope_dim,
             const float* cos_table, const float* sin_table, int style)
{
    if (!x || !cos_table || !sin_table || n_heads < 0 || rope_dim < 0 || rope_dim % 2 != 0 || rope_dim > head_dim ||
        (style != NPC_ROPE_NORMAL && style != NPC_ROPE_NEOX))
        return NPC_ERR_ARGUMENT;
    int half = rope_dim / 2;
    for (int h = 0; h < n_heads; h++) {
        float* head = x + h * head_stride;
        if (style == NPC_ROPE_NORMAL) {
            for (int i = 0; i < half; i++) {
                float x0 = head[2 * i], x1 = head[2 * i + 1];
                head[2 * i] = x0 * cos_table[i] - x1 * sin_table[i];
                head[2 * i + 1] = x0 * sin_table[i] + x1 * cos_table[i];
            }
        } else {
            for (int i = 0; i < half; i++) {
                float x0 = head[i], x1 = head[i + half];
                head[i] = x0 * cos_table[i] - x1 * sin_table[i];
                head[i + half] = x0 * sin_table[i] + x1 * cos_table[i];
            }
        }
    }
    return NPC_OK;
}

int npc_attention(const float* q, int head_dim, int kv_type, const void* k, const void* v,
                  int64_t kv_stride_bytes, int n_pos, float scale, float* scores, float* out)
{
    if (!q || !k || !v || !scores || !out || head_dim <= 0 || n_pos < 0) return NPC_ERR_ARGUMENT;
    if (kv_type != NPC_TYPE_F32 && kv_type != NPC_TYPE_F16) return NPC_ERR_TYPE;
    int f16 = kv_type == NPC_TYPE_F16;
    if (kv_stride_bytes < (int64_t)head_dim * (f16 ? 2 : 4)) return NPC_ERR_ARGUMENT;

    const npc_kernels* kt = npc_active();
    float stack_buf[2 * 256];
    float* buf = head_dim <= 256 ? stack_buf : (float*)malloc((size_t)head_dim * 2 * sizeof(float));
    if (!buf) return NPC_ERR_MEMORY;
    float* qf = buf;             /* the query as the K.q product sees it */
    float* row = buf + head_dim; /* one value row, widened */

    /* llama.cpp rounds q to the cache's F16 before K.q (the managed Attention does the same). */
    for (int i = 0; i < head_dim; i++) qf[i] = f16 ? npc_fp16_to_fp32(npc_fp32_to_fp16(q[i])) : q[i];
    npc_rows_fn dot = kt->rows[kv_type];
    const uint8_t* kb = (const uint8_t*)k;
    const uint8_t* vb = (const uint8_t*)v;
    dot(head_dim, kb, kv_stride_bytes, n_pos, qf, 0, 1, scores, 0);
    for (int j = 0; j < n_pos; j++) scores[j] *= scale;
    npc_softmax(scores, n_pos);

    for (int i = 0; i < head_dim; i++) out[i] = 0;
    for (int j = 0; j < n_pos; j++) {
        float pj = f16 ? npc_fp16_to_fp32(npc_fp32_to_fp16(scores[j])) : scores[j];
        const float* vr = (const float*)(vb + j * kv_stride_bytes);
        if (f16) {
            npc_dequantize_row(NPC_TYPE_F16, vb + j * kv_stride_bytes, row, head_dim);
            vr = row;
        }
        for (int i = 0; i < head_dim; i++) out[i] += pj * vr[i];
    }
    if (buf != stack_buf) free(buf);
    return NPC_OK;
}
