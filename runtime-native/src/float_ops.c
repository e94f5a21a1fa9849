/*
 * Float helpers of a transformer step, with the same operation order as the managed VectorOps / ForwardPass /
 * Attention (built with -ffp-contract=off, so no multiply-add is fused behind our back).
 */
#include <math.h>
#include <stdlib.h>

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
