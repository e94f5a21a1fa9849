/*
 * npc_matmul_q4_Kx8 (interleaved Q4_K) on every path this CPU can run, bit for bit against:
 *  - the repacked Q4_K chains computed here on the original row-major layout: with acc and acc_min from 0, per
 *    super-block (gemv) or per 64 elements (gemm), in order, acc = fmaf((float)sum sc q y, d_x * d_y, acc) and
 *    acc_min = fmaf((float)sum m bsum, dmin_x * d_y, acc_min), the result acc - acc_min;
 *  - on x86-64 with AVX2, the library's NPC_KERNEL_REPACKED Q4_K path (which must agree with those chains too).
 * Random matrices with d and dmin that must widen exactly (zero, denormals, negative, the largest finite), super-blocks
 * whose quant and scale bytes are all 0xFF (every nibble 15, every scale and min 63) against activations of +-127 and
 * -128 (the widest i16 partial sums), zero, denormal and negative activation scales, 1..9 tokens with several
 * first_row / gemm_rows splits, batches large enough to go in windows of tokens, rows longer than the stack buffer
 * (windows of blocks), ranges of groups, and that nothing outside the output is written.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npc_internal.h"
#include "test_util.h"

static const int k_paths[] = { NPC_PATH_SCALAR, NPC_PATH_AVX2, NPC_PATH_NEON };

static uint16_t get_u16(const uint8_t* p) { uint16_t v; memcpy(&v, p, 2); return v; }
static void set_u16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }

/* ggml's get_scale_min_k4: the 6-bit scale and min of sub-block j from the 12 packed bytes. */
static void scale_min(const uint8_t* q, int j, int* sc, int* m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

/* The interleaved layout, written out from its definition (Q4_KInterleaved.Repack, independent of the library). */
static void repack(const uint8_t* w, int rows, int cols, uint8_t* dst)
{
    const int blocks = cols / 256;
    const int64_t row_bytes = (int64_t)blocks * 144;
    for (int g = 0; g < rows / 8; g++)
        for (int b = 0; b < blocks; b++) {
            uint8_t* d = dst + ((int64_t)g * blocks + b) * 1152;
            for (int r = 0; r < 8; r++) {
                const uint8_t* blk = w + (int64_t)(8 * g + r) * row_bytes + b * 144;
                memcpy(d + 2 * r, blk, 2);
                memcpy(d + 16 + 2 * r, blk + 2, 2);
                for (int i = 0; i < 12; i++) d[32 + 8 * i + r] = blk[4 + i]; /* packed scale bytes, transposed */
                for (int c = 0; c < 32; c++) memcpy(d + 128 + 32 * c + 4 * r, blk + 16 + 4 * c, 4);
            }
        }
}

/* The repacked kernels' chains on row-major Q4_K (VecDotScalar.Repacked / RepackedGemm). */
static float reference_dot(const uint8_t* row, const uint8_t* act, int cols, int gemm)
{
    float acc = 0.0f, acc_min = 0.0f;
    for (int b = 0; b < cols / 256; b++) {
        const uint8_t* x = row + b * 144;
        const block_q8_K* y = (const block_q8_K*)act + b;
        const float d = npc_fp16_to_fp32(get_u16(x)) * y->d, dmin = npc_fp16_to_fp32(get_u16(x + 2)) * y->d;
        int32_t total = 0, mins = 0;
        for (int j = 0; j < 4; j++) {
            int32_t lo = 0, hi = 0;
            for (int l = 0; l < 32; l++) {
                lo += (x[16 + 32 * j + l] & 0xF) * y->qs[64 * j + l];
                hi += (x[16 + 32 * j + l] >> 4) * y->qs[64 * j + 32 + l];
            }
            int sc0, m0, sc1, m1;
            scale_min(x + 4, 2 * j, &sc0, &m0);
            scale_min(x + 4, 2 * j + 1, &sc1, &m1);
            const int32_t s = sc0 * lo + sc1 * hi;
            const int32_t m = m0 * (y->bsums[4 * j] + y->bsums[4 * j + 1]) + m1 * (y->bsums[4 * j + 2] + y->bsums[4 * j + 3]);
            if (gemm) {
                acc = fmaf((float)s, d, acc);
                acc_min = fmaf((float)m, dmin, acc_min);
            } else {
                total += s;
                mins += m;
            }
        }
        if (!gemm) {
            acc = fmaf((float)total, d, acc);
            acc_min = fmaf((float)mins, dmin, acc_min);
        }
    }
    return acc - acc_min;
}

/* Sets a Q8_K block's bsums from its quants. */
static void fix_bsums(block_q8_K* y)
{
    for (int j = 0; j < 16; j++) {
        int s = 0;
        for (int i = 0; i < 16; i++) s += y->qs[16 * j + i];
        y->bsums[j] = (int16_t)s;
    }
}

/* first_row / gemm_rows pairs: all gemv, all gemm, llama.cpp's split (whole 4s gemm), splits inside a batch. */
static const int k_splits[][2] = { { 0, 0 }, { 0, 1 << 30 }, { 0, -1 }, { 1, 3 }, { 6, 8 }, { 3, 2 } };
#define SPLITS (int)(sizeof(k_splits) / sizeof(k_splits[0]))

static void test_shape(rng_t* rng, int rows, int cols, int tokens)
{
    const int blocks = cols / 256;
    const int64_t row_bytes = (int64_t)blocks * 144, act_bytes = (int64_t)blocks * 292;
    const int64_t packed_bytes = (int64_t)rows / 8 * blocks * 1152;
    const int64_t act_stride = act_bytes + 8, os = rows + 5; /* padded strides */
    uint8_t* w = malloc(row_bytes * rows);
    uint8_t* packed = malloc(packed_bytes);
    uint8_t* act = malloc(act_stride * tokens);
    float* x = malloc(sizeof(float) * cols);
    float* ref[2] = { malloc(sizeof(float) * rows * tokens), malloc(sizeof(float) * rows * tokens) }; /* gemv, gemm */
    float* out = malloc(sizeof(float) * os * tokens);

    random_weights(rng, NPC_TYPE_Q4_K, w, rows, cols);
    /* d and dmin the widening must carry exactly: zero, the smallest and largest denormals, negative ones, the largest
       finite; spread over rows and blocks. */
    const uint16_t halves[] = { 0x0000, 0x0001, 0x03FF, 0x8001, 0x83FF, 0xBC00, 0xA11F, 0x7BFF, 0xFBFF, 0x8000 };
    for (int i = 0; i < (int)(sizeof(halves) / sizeof(halves[0])); i++) {
        set_u16(w + (int64_t)(i % rows) * row_bytes + (i * 7 % blocks) * 144, halves[i]);
        set_u16(w + (int64_t)((i + 3) % rows) * row_bytes + (i * 5 % blocks) * 144 + 2, halves[(i + 4) % 10]);
    }
    /* Super-blocks of all 0xFF quant and scale bytes (nibbles 15, scales and mins 63), and of all-0x00 quants. */
    for (int r = 0; r < rows; r += 3) memset(w + r * row_bytes + (r % blocks) * 144 + 4, 0xFF, 140);
    for (int r = 1; r < rows; r += 5) memset(w + r * row_bytes + ((r + 1) % blocks) * 144 + 16, 0x00, 128);
    repack(w, rows, cols, packed);

    npc_set_path(NPC_PATH_SCALAR);
    for (int t = 0; t < tokens; t++) {
        uint8_t* a = act + t * act_stride;
        for (int i = 0; i < cols; i++) x[i] = rng_gauss(rng, 1.0f);
        npc_quantize_row(NPC_TYPE_Q8_K, x, a, cols);
        memset(a + act_bytes, 0xEE, act_stride - act_bytes);
        /* The widest sums: +-127 alternating, all -127, all +127, all -128; activation scales zero, denormal, negative. */
        block_q8_K* y = (block_q8_K*)a;
        const int b0 = t % blocks, b1 = (t + 1) % blocks, b2 = (t + 2) % blocks, b3 = (t + 3) % blocks;
        for (int j = 0; j < 256; j++) y[b0].qs[j] = (int8_t)(j % 2 ? -127 : 127);
        memset(y[b1].qs, (uint8_t)(int8_t)-127, 256);
        if (blocks > 2) memset(y[b2].qs, 127, 256);
        if (blocks > 3) memset(y[b3].qs, (uint8_t)(int8_t)-128, 256);
        for (int b = 0; b < blocks; b++) fix_bsums(&y[b]);
        if (blocks > 4) y[(t + 4) % blocks].d = (float[]){ 0.0f, 1e-40f, -0.0078125f, -3.5e-3f }[t % 4];
        for (int r = 0; r < rows; r++)
            for (int gemm = 0; gemm < 2; gemm++) ref[gemm][t * rows + r] = reference_dot(w + r * row_bytes, a, cols, gemm);
    }

    for (int sp = 0; sp < SPLITS; sp++) {
        const int first_row = k_splits[sp][0];
        const int gemm_rows = k_splits[sp][1] < 0 ? first_row + (tokens & ~3) : k_splits[sp][1];
        const int split = gemm_rows - first_row <= 0 ? 0 : gemm_rows - first_row > tokens ? tokens : gemm_rows - first_row;
#define REF(t, r) ref[(t) < split][(t) * rows + (r)]

#if defined(NPC_X86_64)
        /* The reference chains are the library's repacked Q4_K kernels on AVX2 (gemm for the first `split` tokens). */
        if (npc_path_supported(NPC_PATH_AVX2)) {
            npc_set_path(NPC_PATH_AVX2);
            int st = npc_matmul_kernel(NPC_KERNEL_REPACKED, split, NPC_TYPE_Q4_K, w, row_bytes, rows, cols, act,
                                       act_stride, tokens, out, os, 0, rows);
            int bad = st != NPC_OK;
            for (int t = 0; t < tokens; t++)
                for (int r = 0; r < rows; r++) bad += !same_bits(out[t * os + r], REF(t, r));
            check(bad == 0, "rows=%d cols=%d tokens=%d split=%d: the test's chains differ from NPC_KERNEL_REPACKED in %d "
                  "elements", rows, cols, tokens, split, bad);
        }
#endif

        const float** expected = malloc(sizeof(float*) * tokens);
        for (int t = 0; t < tokens; t++) expected[t] = &REF(t, 0);
        for (size_t p = 0; p < sizeof(k_paths) / sizeof(k_paths[0]); p++) {
            int path = k_paths[p];
            if (!npc_path_supported(path)) continue;
            npc_set_path(path);
            char what[96];
            snprintf(what, sizeof what, "%s rows=%d cols=%d tokens=%d rows %d/%d", npc_path_name(path), rows, cols, tokens,
                     first_row, gemm_rows);
            fill_canary(out, os * tokens);
            npc_matmul_q4_Kx8(packed, cols, rows / 8, act, act_stride, tokens, first_row, gemm_rows, out, os);
            check_interleaved_output(what, out, os, tokens, rows, 0, expected);

            /* A range of groups: the same rows' values, at out + 0. */
            if (rows >= 16) {
                fill_canary(out, os * tokens);
                npc_matmul_q4_Kx8(packed + (int64_t)blocks * 1152, cols, rows / 8 - 1, act, act_stride, tokens, first_row,
                                  gemm_rows, out, os);
                check_interleaved_output(what, out, os, tokens, rows, 8, expected);
            }
        }
        free(expected);
#undef REF
    }
    npc_set_path(npc_best_path());
    free(w); free(packed); free(act); free(x); free(ref[0]); free(ref[1]); free(out);
}

/* Arguments it must ignore (it has no status to return): nothing written. */
static void test_no_ops(void)
{
    static uint8_t packed[1152], act[292];
    float out[8];
    for (int i = 0; i < 8; i++) out[i] = 5.0f;
    npc_matmul_q4_Kx8(NULL, 256, 1, act, 292, 1, 0, 0, out, 8);
    npc_matmul_q4_Kx8(packed, 256, 1, NULL, 292, 1, 0, 0, out, 8);
    npc_matmul_q4_Kx8(packed, 256, 1, act, 292, 1, 0, 0, NULL, 8);
    npc_matmul_q4_Kx8(packed, 128, 1, act, 292, 1, 0, 0, out, 8);
    npc_matmul_q4_Kx8(packed, 0, 1, act, 292, 1, 0, 0, out, 8);
    npc_matmul_q4_Kx8(packed, 256, 0, act, 292, 1, 0, 0, out, 8);
    npc_matmul_q4_Kx8(packed, 256, 1, act, 292, 0, 0, 0, out, 8);
    npc_matmul_q4_Kx8(packed, 256, -1, act, 292, -3, 0, 0, out, 8);
    int touched = 0;
    for (int i = 0; i < 8; i++) touched += out[i] != 5.0f;
    check(touched == 0, "npc_matmul_q4_Kx8 wrote with invalid arguments");
    npc_matmul_q4_Kx8(packed, 256, 1, act, 292, 1, 0, 1, out, 8);
    check(out[0] == 0.0f && out[7] == 0.0f, "npc_matmul_q4_Kx8 of zeros");
}

int main(void)
{
    rng_t rng = { 11 };
    printf("best path: %s\n", npc_path_name(npc_best_path()));
    const int cols[] = { 256, 2048, 8192 };
    const int tokens[] = { 1, 3, 4, 9 };
    for (int c = 0; c < 3; c++)
        for (int t = 0; t < 4; t++) test_shape(&rng, 24, cols[c], tokens[t]);
    /* Batches whose pair sums overflow the stack buffer (2048 blocks): windows of tokens. */
    test_shape(&rng, 16, 8192, 70);          /* windows of 64 + 6 tokens */
    test_shape(&rng, 8, 16384 + 256, 33);    /* 65 blocks: windows of 31 + 2 tokens */
    /* Rows longer than the buffer: one token at a time in windows of 2048 + 1 blocks, chains carried between them. */
    test_shape(&rng, 16, 256 * 2049, 2);
    test_no_ops();
    return finish("test_q4_Kx8");
}
