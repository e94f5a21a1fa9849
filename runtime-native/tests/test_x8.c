/*
 * The 8-row interleaved products, npc_matmul_q4_0x8 (Q4_0) and npc_matmul_q5_0x8 (Q5_0), on every path this CPU can
 * run, bit for bit against:
 *  - the repacked kernels' chain computed here on the original row-major layout: per block, in order,
 *    acc = fmaf((float)sum (q - offset) y, d_x * d_y, acc), offset 8 (Q4_0) or 16 (Q5_0) (VecDotScalar.Repacked);
 *  - for Q4_0 on x86-64 with AVX2, the library's NPC_KERNEL_REPACKED path (which must agree with that chain too).
 * Random matrices with scales that must widen exactly (zero, denormals, negative, the largest finite), blocks of all
 * quants at their largest and at 0 against activations of +-127 (the widest i16 partial sums), batches of 1..9 tokens
 * and batches large enough to go in windows, and that nothing outside the output is written.
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

typedef void (*matmul_fn)(const uint8_t* packed, int cols, int groups, const uint8_t* act, int64_t act_stride, int tokens,
                          float* out, int64_t out_stride);

/* One of the two layouts: its weight type, row-major block (block_q4_0: d, qs; block_q5_0: d, qh, qs), interleaved
   block and product. */
typedef struct {
    const char* name;
    int type, q5, block, packed_block;
    matmul_fn matmul;
} layout_t;

static const layout_t k_q4 = { "npc_matmul_q4_0x8", NPC_TYPE_Q4_0, 0, 18, 144, npc_matmul_q4_0x8 };
static const layout_t k_q5 = { "npc_matmul_q5_0x8", NPC_TYPE_Q5_0, 1, 22, 176, npc_matmul_q5_0x8 };

/* The unsigned quant of element j (0..31) of a row-major block. */
static int quant(const layout_t* l, const uint8_t* x, int j)
{
    const uint8_t* qs = x + (l->q5 ? 6 : 2);
    const int nibble = j < 16 ? qs[j] & 0xF : qs[j - 16] >> 4;
    return l->q5 ? nibble | (int)((get_u32(x + 2) >> j) & 1) << 4 : nibble;
}

/* The interleaved layout, written out from its definition (independent of the library). */
static void repack(const layout_t* l, const uint8_t* w, int rows, int cols, uint8_t* dst)
{
    const int blocks = cols / 32;
    const int64_t row_bytes = (int64_t)blocks * l->block;
    for (int g = 0; g < rows / 8; g++)
        for (int b = 0; b < blocks; b++) {
            uint8_t* d = dst + ((int64_t)g * blocks + b) * l->packed_block;
            for (int r = 0; r < 8; r++) {
                const uint8_t* blk = w + (int64_t)(8 * g + r) * row_bytes + b * l->block;
                memcpy(d + 2 * r, blk, 2);
                for (int c = 0; c < 4; c++) memcpy(d + 16 + 32 * c + 4 * r, blk + l->block - 16 + 4 * c, 4);
                if (!l->q5) continue;
                /* Byte 4r + i of the plane: bit c the fifth bit of element 4c + i, bit 4 + c that of 16 + 4c + i. */
                for (int i = 0; i < 4; i++) {
                    uint8_t plane = 0;
                    for (int c = 0; c < 4; c++)
                        plane |= (uint8_t)((quant(l, blk, 4 * c + i) >> 4) << c | (quant(l, blk, 16 + 4 * c + i) >> 4) << (4 + c));
                    d[144 + 4 * r + i] = plane;
                }
            }
        }
}

/* The repacked kernels' chain on the row-major weights (VecDotScalar.Repacked). */
static float reference_dot(const layout_t* l, const uint8_t* row, const uint8_t* act, int cols)
{
    const int offset = l->q5 ? 16 : 8;
    float acc = 0.0f;
    for (int b = 0; b < cols / 32; b++) {
        const uint8_t* x = row + b * l->block;
        const int8_t* y = (const int8_t*)(act + b * 34 + 2);
        int32_t s = 0;
        for (int j = 0; j < 32; j++) s += (quant(l, x, j) - offset) * y[j];
        acc = fmaf((float)s, npc_fp16_to_fp32(get_u16(x)) * npc_fp16_to_fp32(get_u16(act + b * 34)), acc);
    }
    return acc;
}

static void test_shape(const layout_t* l, rng_t* rng, int rows, int cols, int tokens)
{
    const int blocks = cols / 32;
    const int64_t row_bytes = (int64_t)blocks * l->block, act_bytes = (int64_t)blocks * 34;
    const int64_t act_stride = act_bytes + 6, os = rows + 5; /* padded strides */
    uint8_t* w = malloc(row_bytes * rows);
    uint8_t* packed = malloc(row_bytes * rows);
    uint8_t* act = malloc(act_stride * tokens);
    float* x = malloc(sizeof(float) * cols);
    float* ref = malloc(sizeof(float) * rows * tokens);
    float* out = malloc(sizeof(float) * os * tokens);

    random_weights(rng, l->type, w, rows, cols);
    /* Scales the widening must carry exactly: zero, the smallest denormal, the largest denormal, negative ones, the
       largest finite; spread over rows and blocks. */
    const uint16_t scales[] = { 0x0000, 0x0001, 0x03FF, 0x8001, 0x83FF, 0xBC00, 0xA11F, 0x7BFF, 0xFBFF, 0x8000 };
    for (int i = 0; i < (int)(sizeof(scales) / sizeof(scales[0])); i++)
        set_u16(w + (int64_t)(i % rows) * row_bytes + (i * 7 % blocks) * l->block, scales[i]);
    /* Whole blocks of the largest quants and of 0 (Q4_0: q = 7 and -8 everywhere; Q5_0: 15 and -16, the fifth bits
       with the nibbles). */
    for (int r = 0; r < rows; r += 3) memset(w + r * row_bytes + (r % blocks) * l->block + 2, (r / 3) % 2 ? 0x00 : 0xFF, l->block - 2);
    repack(l, w, rows, cols, packed);

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
        for (int r = 0; r < rows; r++) ref[t * rows + r] = reference_dot(l, w + r * row_bytes, a, cols);
    }

#if defined(NPC_X86_64)
    /* The reference chain is the library's repacked Q4_0 kernel on AVX2 (gemm for 4-token groups, gemv the rest). */
    if (!l->q5 && npc_path_supported(NPC_PATH_AVX2)) {
        npc_set_path(NPC_PATH_AVX2);
        int st = npc_matmul_kernel(NPC_KERNEL_REPACKED, tokens - tokens % 4, NPC_TYPE_Q4_0, w, row_bytes, rows, cols, act,
                                   act_stride, tokens, out, os, 0, rows);
        int bad = st != NPC_OK;
        for (int t = 0; t < tokens; t++)
            for (int r = 0; r < rows; r++) bad += !same_bits(out[t * os + r], ref[t * rows + r]);
        check(bad == 0, "rows=%d cols=%d tokens=%d: the test's chain differs from NPC_KERNEL_REPACKED in %d elements",
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
        snprintf(what, sizeof what, "%s %s rows=%d cols=%d tokens=%d", l->name, npc_path_name(path), rows, cols, tokens);
        fill_canary(out, os * tokens);
        l->matmul(packed, cols, rows / 8, act, act_stride, tokens, out, os);
        check_interleaved_output(what, out, os, tokens, rows, 0, expected);

        /* A range of groups: the same rows' values, at out + 0. */
        if (rows >= 16) {
            fill_canary(out, os * tokens);
            l->matmul(packed + row_bytes * 8, cols, rows / 8 - 1, act, act_stride, tokens, out, os);
            check_interleaved_output(what, out, os, tokens, rows, 8, expected);
        }
    }
    npc_set_path(npc_best_path());
    free(w); free(packed); free(act); free(x); free(ref); free(out); free(expected);
}

/* Arguments it must ignore (it has no status to return): nothing written. */
static void test_no_ops(const layout_t* l)
{
    uint8_t packed[176] = { 0 }, act[34] = { 0 };
    float out[8];
    for (int i = 0; i < 8; i++) out[i] = 5.0f;
    l->matmul(NULL, 32, 1, act, 34, 1, out, 8);
    l->matmul(packed, 32, 1, NULL, 34, 1, out, 8);
    l->matmul(packed, 32, 1, act, 34, 1, NULL, 8);
    l->matmul(packed, 48, 1, act, 34, 1, out, 8);
    l->matmul(packed, 0, 1, act, 34, 1, out, 8);
    l->matmul(packed, 32, 0, act, 34, 1, out, 8);
    l->matmul(packed, 32, 1, act, 34, 0, out, 8);
    l->matmul(packed, 32, -1, act, 34, -3, out, 8);
    int touched = 0;
    for (int i = 0; i < 8; i++) touched += out[i] != 5.0f;
    check(touched == 0, "%s wrote with invalid arguments", l->name);
    l->matmul(packed, 32, 1, act, 34, 1, out, 8);
    check(out[0] == 0.0f && out[7] == 0.0f, "%s of zeros", l->name);
}

int main(void)
{
    printf("best path: %s\n", npc_path_name(npc_best_path()));
    const layout_t* layouts[] = { &k_q4, &k_q5 };
    for (int li = 0; li < 2; li++) {
        const layout_t* l = layouts[li];
        rng_t rng = { 7 };
        const int cols[] = { 96, 2048, 4864 };
        const int tokens[] = { 1, 3, 4, 9 };
        for (int c = 0; c < 3; c++)
            for (int t = 0; t < 4; t++) test_shape(l, &rng, 24, cols[c], tokens[t]);
        /* Batches whose per-block values overflow the stack buffer: windows of tokens and of blocks. */
        test_shape(l, &rng, 16, 4864, 40);      /* windows of 32 + 8 tokens x 128 + 24 blocks */
        test_shape(l, &rng, 8, 2048, 70);       /* windows of 64 + 6 tokens, all blocks */
        test_shape(l, &rng, 16, 32768 + 96, 4); /* one pass of 4 tokens in 1024 + 3 blocks */
        test_shape(l, &rng, 8, 131072 + 32, 1); /* one token in 4096 + 1 blocks */
        test_no_ops(l);
    }
    return finish("test_x8");
}
