/*
 * npc_matmul_q5_0x8 (Q5_0 interleaved in 8-row groups) on every path this CPU can run, bit for bit against the
 * repacked kernels' chain computed here on the original row-major layout: per block, in order,
 * acc = fmaf((float)sum (q - 16) y, d_x * d_y, acc) (NpcSdk's VecDotScalar.Repacked for Q5_0).
 * Random matrices with scales that must widen exactly (zero, denormals, negative, the largest finite), blocks of all
 * quants 31 and all 0 against activations of +-127 (the widest i16 partial sums), batches of 1..9 tokens and batches
 * large enough to go in windows, and that nothing outside the output is written.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npc_internal.h"
#include "test_util.h"

static const int k_paths[] = { NPC_PATH_SCALAR, NPC_PATH_AVX2, NPC_PATH_NEON };

static uint16_t get_u16(const uint8_t* p) { uint16_t v; memcpy(&v, p, 2); return v; }
static void set_u16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }

static uint32_t get_u32(const uint8_t* p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* The interleaved layout, written out from its definition (independent of the library). */
static void repack(const uint8_t* w, int rows, int cols, uint8_t* dst)
{
    const int blocks = cols / 32;
    const int64_t row_bytes = (int64_t)blocks * 22;
    for (int g = 0; g < rows / 8; g++)
        for (int b = 0; b < blocks; b++) {
            uint8_t* d = dst + ((int64_t)g * blocks + b) * 176;
            for (int r = 0; r < 8; r++) {
                const uint8_t* blk = w + (int64_t)(8 * g + r) * row_bytes + b * 22;
                const uint32_t qh = get_u32(blk + 2);
                memcpy(d + 2 * r, blk, 2);
                for (int c = 0; c < 4; c++) memcpy(d + 16 + 32 * c + 4 * r, blk + 6 + 4 * c, 4);
                for (int i = 0; i < 4; i++) {
                    uint8_t plane = 0;
                    for (int c = 0; c < 4; c++)
                        plane |= (uint8_t)(((qh >> (4 * c + i)) & 1) << c | ((qh >> (16 + 4 * c + i)) & 1) << (4 + c));
                    d[144 + 4 * r + i] = plane;
                }
            }
        }
}

/* The repacked kernels' chain on row-major Q5_0 (VecDotScalar.Repacked). */
static float reference_dot(const uint8_t* row, const uint8_t* act, int cols)
{
    float acc = 0.0f;
    for (int b = 0; b < cols / 32; b++) {
        const uint8_t* x = row + b * 22;
        const uint32_t qh = get_u32(x + 2);
        const int8_t* y = (const int8_t*)(act + b * 34 + 2);
        int32_t s = 0;
        for (int j = 0; j < 16; j++) {
            const int lo = (x[6 + j] & 0xF) | (int)((qh >> j) & 1) << 4, hi = (x[6 + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
            s += (lo - 16) * y[j] + (hi - 16) * y[j + 16];
        }
        acc = fmaf((float)s, npc_fp16_to_fp32(get_u16(x)) * npc_fp16_to_fp32(get_u16(act + b * 34)), acc);
    }
    return acc;
}

static void test_shape(rng_t* rng, int rows, int cols, int tokens)
{
    const int blocks = cols / 32;
    const int64_t row_bytes = (int64_t)blocks * 22, act_bytes = (int64_t)blocks * 34;
    const int64_t act_stride = act_bytes + 6, os = rows + 5; /* padded strides */
    uint8_t* w = malloc(row_bytes * rows);
    uint8_t* packed = malloc(row_bytes * rows);
    uint8_t* act = malloc(act_stride * tokens);
    float* x = malloc(sizeof(float) * cols);
    float* ref = malloc(sizeof(float) * rows * tokens);
    float* out = malloc(sizeof(float) * os * tokens);

    random_weights(rng, NPC_TYPE_Q5_0, w, rows, cols);
    /* Scales the widening must carry exactly: zero, the smallest denormal, the largest denormal, negative ones, the
       largest finite; spread over rows and blocks. */
    const uint16_t scales[] = { 0x0000, 0x0001, 0x03FF, 0x8001, 0x83FF, 0xBC00, 0xA11F, 0x7BFF, 0xFBFF, 0x8000 };
    for (int i = 0; i < (int)(sizeof(scales) / sizeof(scales[0])); i++)
        set_u16(w + (int64_t)(i % rows) * row_bytes + (i * 7 % blocks) * 22, scales[i]);
    /* Whole blocks of quants 31 and 0 (q - 16 = 15 and -16 everywhere): fifth bits and nibbles all set or clear. */
    for (int r = 0; r < rows; r += 3) memset(w + r * row_bytes + (r % blocks) * 22 + 2, (r / 3) % 2 ? 0x00 : 0xFF, 20);
    repack(w, rows, cols, packed);

    npc_set_path(NPC_PATH_SCALAR);
    for (int t = 0; t < tokens; t++) {
        uint8_t* a = act + t * act_stride;
        for (int i = 0; i < cols; i++) x[i] = rng_gauss(rng, 1.0f);
        npc_quantize_row(NPC_TYPE_Q8_0, x, a, cols);
        memset(a + act_bytes, 0xEE, act_stride - act_bytes);
        /* The widest sums: +-127 alternating, all -127, all +127; and activation scales zero, denormal, negative. */
        const int b0 = t % blocks, b1 = (t + 1) % blocks, b2 = (t + 2) % blocks;
        for (int j = 0; j < 32; j++) a[b0 * 34 + 2 + j] = (uint8_t)(int8_t)(j % 2 ? -127 : 127);
        memset(a + b1 * 34 + 2, (uint8_t)(int8_t)-127, 32);
        if (blocks > 2) memset(a + b2 * 34 + 2, 127, 32);
        if (blocks > 3) set_u16(a + ((t + 3) % blocks) * 34, (uint16_t[]){ 0x0000, 0x0005, 0x8200, 0xB800 }[t % 4]);
        for (int r = 0; r < rows; r++) ref[t * rows + r] = reference_dot(w + r * row_bytes, a, cols);
    }


    const float** expected = malloc(sizeof(float*) * tokens);
    for (int t = 0; t < tokens; t++) expected[t] = ref + t * rows;
    for (size_t p = 0; p < sizeof(k_paths) / sizeof(k_paths[0]); p++) {
        int path = k_paths[p];
        if (!npc_path_supported(path)) continue;
        npc_set_path(path);
        char what[96];
        snprintf(what, sizeof what, "%s rows=%d cols=%d tokens=%d", npc_path_name(path), rows, cols, tokens);
        fill_canary(out, os * tokens);
        npc_matmul_q5_0x8(packed, cols, rows / 8, act, act_stride, tokens, out, os);
        check_interleaved_output(what, out, os, tokens, rows, 0, expected);

        /* A range of groups: the same rows' values, at out + 0. */
        if (rows >= 16) {
            fill_canary(out, os * tokens);
            npc_matmul_q5_0x8(packed + row_bytes * 8, cols, rows / 8 - 1, act, act_stride, tokens, out, os);
            check_interleaved_output(what, out, os, tokens, rows, 8, expected);
        }
    }
    npc_set_path(npc_best_path());
    free(w); free(packed); free(act); free(x); free(ref); free(out); free(expected);
}

/* Arguments it must ignore (it has no status to return): nothing written. */
static void test_no_ops(void)
{
    uint8_t packed[176] = { 0 }, act[34] = { 0 };
    float out[8];
    for (int i = 0; i < 8; i++) out[i] = 5.0f;
    npc_matmul_q5_0x8(NULL, 32, 1, act, 34, 1, out, 8);
    npc_matmul_q5_0x8(packed, 32, 1, NULL, 34, 1, out, 8);
    npc_matmul_q5_0x8(packed, 32, 1, act, 34, 1, NULL, 8);
    npc_matmul_q5_0x8(packed, 48, 1, act, 34, 1, out, 8);
    npc_matmul_q5_0x8(packed, 0, 1, act, 34, 1, out, 8);
    npc_matmul_q5_0x8(packed, 32, 0, act, 34, 1, out, 8);
    npc_matmul_q5_0x8(packed, 32, 1, act, 34, 0, out, 8);
    npc_matmul_q5_0x8(packed, 32, -1, act, 34, -3, out, 8);
    int touched = 0;
    for (int i = 0; i < 8; i++) touched += out[i] != 5.0f;
    check(touched == 0, "npc_matmul_q5_0x8 wrote with invalid arguments");
    npc_matmul_q5_0x8(packed, 32, 1, act, 34, 1, out, 8);
    check(out[0] == 0.0f && out[7] == 0.0f, "npc_matmul_q5_0x8 of zeros");
}

int main(void)
{
    rng_t rng = { 7 };
    printf("best path: %s\n", npc_path_name(npc_best_path()));
    const int cols[] = { 96, 2048, 4864 };
    const int tokens[] = { 1, 3, 4, 9 };
    for (int c = 0; c < 3; c++)
        for (int t = 0; t < 4; t++) test_shape(&rng, 24, cols[c], tokens[t]);
    /* Batches whose per-block values overflow the stack buffer: windows of tokens and of blocks. */
    test_shape(&rng, 16, 4864, 40);      /* windows of 32 + 8 tokens x 128 + 24 blocks */
    test_shape(&rng, 8, 2048, 70);       /* windows of 64 + 6 tokens, all blocks */
    test_shape(&rng, 16, 32768 + 96, 4); /* one pass of 4 tokens in 1024 + 3 blocks */
    test_shape(&rng, 8, 131072 + 32, 1); /* one token in 4096 + 1 blocks */
    test_no_ops();
    return finish("test_q5_0x8");
}
