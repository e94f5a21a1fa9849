/*
 * npc_matmul_q5_0x4 (interleaved Q5_0) on every path this CPU can run, bit for bit against:
 *  - ggml_vec_dot_q5_0_q8_0's x86 arithmetic computed here on the original row-major layout (the managed
 *    VecDotScalar.Dot): per block, in order, 8 int32 lanes of 4 adjacent products each, acc[l] = fmaf(lane, d_x * d_y,
 *    acc[l]), then hsum_float_8;
 *  - on x86-64 with AVX2, the library's Q5_0 vec_dot (npc_matmul on AVX2, which must agree with that chain too).
 * Random matrices with scales that must widen exactly (zero, denormals, negative, the largest finite), blocks of all
 * q = -16 and all q = 15 against activations of +-127 (the widest i16 partial sums), rows with and without blocks past
 * the last chunk of 8, batches of 1..9 tokens (tiles of groups past 4), ranges of groups, and that nothing outside the
 * output is written.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npc_internal.h"
#include "test_util.h"

static const int k_paths[] = { NPC_PATH_SCALAR, NPC_PATH_AVX2, NPC_PATH_NEON };

static uint16_t get_u16(const uint8_t* p) { uint16_t v; memcpy(&v, p, 2); return v; }
static void set_u16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }

/* Element i of a row-major Q5_0 block, 0..31. */
static int q5_0_quant(const uint8_t* blk, int i)
{
    const uint32_t qh = npc_load_u32(blk + 2);
    const int low4 = i < 16 ? blk[6 + i] & 0x0F : blk[6 + i - 16] >> 4;
    return low4 | (int)((qh >> i) & 1) << 4;
}

/* The interleaved layout, written out from its definition (independent of the library). */
static void repack(const uint8_t* w, int rows, int cols, uint8_t* dst)
{
    const int blocks = cols / 32, chunks = blocks / 8, tail = blocks % 8;
    const int64_t row_bytes = (int64_t)blocks * 22;
    uint8_t* d = dst;
    for (int g = 0; g < rows / 4; g++) {
        const uint8_t* rows4 = w + (int64_t)4 * g * row_bytes;
        for (int c = 0; c < chunks; c++)
            for (int r = 0; r < 4; r++, d += 176) {
                memset(d, 0, 176);
                for (int k = 0; k < 8; k++) {
                    const uint8_t* blk = rows4 + r * row_bytes + (int64_t)(8 * c + k) * 22;
                    memcpy(d + 2 * k, blk, 2);
                    for (int i = 0; i < 32; i++) {
                        const int q = q5_0_quant(blk, i);
                        d[16 + 32 * (k / 2) + i] |= (uint8_t)((q & 0x0F) << (4 * (k % 2)));
                        d[144 + i] |= (uint8_t)((q >> 4) << k);
                    }
                }
            }
        for (int r = 0; r < 4; r++, d += tail * 22) memcpy(d, rows4 + r * row_bytes + (int64_t)chunks * 176, tail * 22);
    }
}

/* ggml_vec_dot_q5_0_q8_0 on x86 AVX2 (VecDotScalar.Dot for Q5_0). */
static float reference_dot(const uint8_t* row, const uint8_t* act, int cols)
{
    float acc[8] = { 0 };
    for (int b = 0; b < cols / 32; b++) {
        const uint8_t* x = row + b * 22;
        const int8_t* y = (const int8_t*)(act + b * 34 + 2);
        const float d = npc_fp16_to_fp32(get_u16(x)) * npc_fp16_to_fp32(get_u16(act + b * 34));
        for (int l = 0; l < 8; l++) {
            int32_t s = 0;
            for (int i = 4 * l; i < 4 * l + 4; i++) s += (q5_0_quant(x, i) - 16) * y[i];
            acc[l] = fmaf((float)s, d, acc[l]);
        }
    }
    return ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]));
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
       largest finite; spread over rows and blocks (chunks and tails). */
    const uint16_t scales[] = { 0x0000, 0x0001, 0x03FF, 0x8001, 0x83FF, 0xBC00, 0xA11F, 0x7BFF, 0xFBFF, 0x8000 };
    for (int i = 0; i < (int)(sizeof(scales) / sizeof(scales[0])); i++)
        set_u16(w + (int64_t)(i % rows) * row_bytes + (i * 7 % blocks) * 22, scales[i]);
    /* Whole blocks of q - 16 = -16 (nibbles and fifth bits 0), 15 (all 1) and -1 (nibbles 0xF, fifth bits 0); the
       last block of a row too (a tail block when the row has one). */
    for (int r = 0; r < rows; r += 3) {
        uint8_t* blk = w + r * row_bytes + (r % blocks) * 22;
        const int kind = (r / 3) % 3;
        memset(blk + 2, kind == 1 ? 0xFF : 0x00, 4);
        memset(blk + 6, kind == 0 ? 0x00 : 0xFF, 16);
    }
    memset(w + (rows - 1) * row_bytes + (blocks - 1) * 22 + 2, 0xFF, 20);
    repack(w, rows, cols, packed);

    npc_set_path(NPC_PATH_SCALAR);
    for (int t = 0; t < tokens; t++) {
        uint8_t* a = act + t * act_stride;
        for (int i = 0; i < cols; i++) x[i] = rng_gauss(rng, 1.0f);
        npc_quantize_row(NPC_TYPE_Q8_0, x, a, cols);
        memset(a + act_bytes, 0xEE, act_stride - act_bytes);
        /* The widest sums: +-127 alternating, all -127, all +127 (-128 never comes out of the Q8_0 quantizer, and
           ggml's vpsignb would wrap it); and activation scales zero, denormal, negative. */
        const int b0 = t % blocks, b1 = (t + 1) % blocks, b2 = (t + 2) % blocks;
        for (int j = 0; j < 32; j++) a[b0 * 34 + 2 + j] = (uint8_t)(int8_t)(j % 2 ? -127 : 127);
        memset(a + b1 * 34 + 2, (uint8_t)(int8_t)-127, 32);
        if (blocks > 2) memset(a + b2 * 34 + 2, 127, 32);
        if (blocks > 3) set_u16(a + ((t + 3) % blocks) * 34, (uint16_t[]){ 0x0000, 0x0005, 0x8200, 0xB800 }[t % 4]);
        memset(a + (blocks - 1) * 34 + 2, t % 2 ? 127 : (uint8_t)(int8_t)-127, 32);
        for (int r = 0; r < rows; r++) ref[t * rows + r] = reference_dot(w + r * row_bytes, a, cols);
    }

#if defined(NPC_X86_64)
    /* The reference chain is the library's Q5_0 vec_dot on AVX2 (ggml's kernel, instruction for instruction). */
    if (npc_path_supported(NPC_PATH_AVX2)) {
        npc_set_path(NPC_PATH_AVX2);
        int st = npc_matmul(NPC_TYPE_Q5_0, w, row_bytes, rows, cols, act, act_stride, tokens, out, os, 0, rows);
        int bad = st != NPC_OK;
        for (int t = 0; t < tokens; t++)
            for (int r = 0; r < rows; r++) bad += !same_bits(out[t * os + r], ref[t * rows + r]);
        check(bad == 0, "rows=%d cols=%d tokens=%d: the test's chain differs from the AVX2 Q5_0 vec_dot in %d elements",
              rows, cols, tokens, bad);
    }
#endif

    const float** expected = malloc(sizeof(float*) * tokens);
    for (int t = 0; t < tokens; t++) expected[t] = ref + t * rows;
    for (size_t p = 0; p < sizeof(k_paths) / sizeof(k_paths[0]); p++) {
        int path = k_paths[p];
        if (!npc_path_supported(path)) continue;
        npc_set_path(path);
        char what[96];
        snprintf(what, sizeof what, "%s rows=%d cols=%d tokens=%d", npc_path_name(path), rows, cols, tokens);
        fill_canary(out, os * tokens);
        npc_matmul_q5_0x4(packed, cols, rows / 4, act, act_stride, tokens, out, os);
        check_interleaved_output(what, out, os, tokens, rows, 0, expected);

        /* A range of groups: the same rows' values, at out + 0. */
        if (rows >= 8) {
            fill_canary(out, os * tokens);
            npc_matmul_q5_0x4(packed + row_bytes * 4, cols, rows / 4 - 1, act, act_stride, tokens, out, os);
            check_interleaved_output(what, out, os, tokens, rows, 4, expected);
        }
    }
    npc_set_path(npc_best_path());
    free(w); free(packed); free(act); free(x); free(ref); free(out); free(expected);
}

/* Arguments it must ignore (it has no status to return): nothing written. */
static void test_no_ops(void)
{
    uint8_t packed[4 * 22] = { 0 }, act[34] = { 0 };
    float out[4];
    for (int i = 0; i < 4; i++) out[i] = 5.0f;
    npc_matmul_q5_0x4(NULL, 32, 1, act, 34, 1, out, 4);
    npc_matmul_q5_0x4(packed, 32, 1, NULL, 34, 1, out, 4);
    npc_matmul_q5_0x4(packed, 32, 1, act, 34, 1, NULL, 4);
    npc_matmul_q5_0x4(packed, 48, 1, act, 34, 1, out, 4);
    npc_matmul_q5_0x4(packed, 0, 1, act, 34, 1, out, 4);
    npc_matmul_q5_0x4(packed, 32, 0, act, 34, 1, out, 4);
    npc_matmul_q5_0x4(packed, 32, 1, act, 34, 0, out, 4);
    npc_matmul_q5_0x4(packed, 32, -1, act, 34, -3, out, 4);
    int touched = 0;
    for (int i = 0; i < 4; i++) touched += out[i] != 5.0f;
    check(touched == 0, "npc_matmul_q5_0x4 wrote with invalid arguments");
    /* One block per row, all of it tail: zero scales give +0. */
    npc_matmul_q5_0x4(packed, 32, 1, act, 34, 1, out, 4);
    check(out[0] == 0.0f && out[3] == 0.0f, "npc_matmul_q5_0x4 of zeros");
}

int main(void)
{
    rng_t rng = { 11 };
    printf("best path: %s\n", npc_path_name(npc_best_path()));
    /* 8 blocks (one chunk), 28 (3 chunks + 4), 31 (3 + 7), 152 (19, no tail), 9 (1 + 1). */
    const int cols[] = { 256, 896, 992, 4864, 288 };
    const int tokens[] = { 1, 2, 3, 4, 5, 9 };
    for (int c = 0; c < 5; c++)
        for (int t = 0; t < 6; t++) test_shape(&rng, 12, cols[c], tokens[t]);
    test_shape(&rng, 4, 896, 3);
    /* Tiles of groups: 16 KiB of weights per tile (4 groups of 896 columns here), so 40 groups make several. */
    test_shape(&rng, 160, 896, 6);
    test_no_ops();
    return finish("test_q5_0x4");
}
