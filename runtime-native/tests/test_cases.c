/*
 * Hand-checked small cases, run on every path: block layouts with values worked out on paper, the rounding rules
 * of the activation quantizers, fp16/bf16 edge cases, argument checks and the float helpers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npc_internal.h"
#include "test_util.h"

static void put16(void* p, uint16_t v) { memcpy(p, &v, 2); }

static void fill(void* p, int value, size_t n) { memset(p, value, n); }

/* A Q8_0 activation block: d, qs. */
static void q8_0_block(uint8_t* b, uint16_t d, const int8_t* qs) { put16(b, d); memcpy(b + 2, qs, 32); }

/* A Q8_K activation block with every quant = v (d = 1). */
static void q8_K_const(uint8_t* b, int8_t v)
{
    float d = 1.0f;
    memcpy(b, &d, 4);
    memset(b + 4, (uint8_t)v, 256);
    for (int j = 0; j < 16; j++) { int16_t s = (int16_t)(16 * v); memcpy(b + 260 + 2 * j, &s, 2); }
}

static float dot(int type, int n, const void* w, const void* act)
{
    float r = NAN;
    int st = npc_vec_dot(type, n, w, act, &r);
    check(st == NPC_OK, "%s: vec_dot status %d", type_name(type), st);
    return r;
}

static void expect(const char* what, float got, float want)
{
    check(fabsf(got - want) <= 1e-6f * fabsf(want) + 1e-6f, "%s [%s]: got %.9g, want %.9g", what,
          npc_path_name(npc_get_path()), got, want);
}

static void legacy_blocks(void)
{
    uint8_t w[36], a[36];
    int8_t qs[32];

    /* Q4_0: d = 1, nibbles 8 (-> 0) low and 9 (-> 1) high; activation d = 0.5, q = j. sum_{16..31} j = 376. */
    put16(w, 0x3C00); fill(w + 2, 0x98, 16);
    for (int j = 0; j < 32; j++) qs[j] = (int8_t)j;
    q8_0_block(a, 0x3800, qs);
    expect("Q4_0", dot(NPC_TYPE_Q4_0, 32, w, a), 188.0f);

    /* Q4_1: d = 0.5, m = -1, nibbles 1 / 2 -> -0.5 / 0; activation all 2 (d = 1, s = 64). */
    put16(w, 0x3800); put16(w + 2, 0xBC00); fill(w + 4, 0x21, 16);
    put16(a, 0x3C00); put16(a + 2, npc_fp32_to_fp16(64.0f)); fill(a + 4, 2, 32);
    expect("Q4_1", dot(NPC_TYPE_Q4_1, 32, w, a), -16.0f);

    /* Q5_0: d = 1, fifth bit set for elements 0..15 only, nibbles 0: values 0 (x16) and -16 (x16); activation 1. */
    put16(w, 0x3C00); { uint32_t qh = 0x0000FFFFu; memcpy(w + 2, &qh, 4); } fill(w + 6, 0x00, 16);
    for (int j = 0; j < 32; j++) qs[j] = 1;
    q8_0_block(a, 0x3C00, qs);
    expect("Q5_0", dot(NPC_TYPE_Q5_0, 32, w, a), -256.0f);

    /* Q5_1: d = 1, m = 0.5, fifth bit for 16..31, nibbles 1: values 1.5 (x16), 17.5 (x16); activation 1, s = 32. */
    put16(w, 0x3C00); put16(w + 2, 0x3800); { uint32_t qh = 0xFFFF0000u; memcpy(w + 4, &qh, 4); } fill(w + 8, 0x11, 16);
    put16(a, 0x3C00); put16(a + 2, npc_fp32_to_fp16(32.0f)); fill(a + 4, 1, 32);
    expect("Q5_1", dot(NPC_TYPE_Q5_1, 32, w, a), 304.0f);

    /* Q8_0: d = 2, q = -1; activation d = 1, q = j - 16: 2 * -(496 - 512) = 32. */
    put16(w, 0x4000); fill(w + 2, 0xFF, 32);
    for (int j = 0; j < 32; j++) qs[j] = (int8_t)(j - 16);
    q8_0_block(a, 0x3C00, qs);
    expect("Q8_0", dot(NPC_TYPE_Q8_0, 32, w, a), 32.0f);

    /* Q8_0 with the extreme weight -128 (the vpsignb trick must not overflow): -128 * 127 * 32 * d(0.5) * d(1). */
    put16(w, 0x3800); fill(w + 2, 0x80, 32);
    for (int j = 0; j < 32; j++) qs[j] = 127;
    q8_0_block(a, 0x3C00, qs);
    expect("Q8_0 -128", dot(NPC_TYPE_Q8_0, 32, w, a), -128.0f * 127 * 32 * 0.5f);
}

static void k_blocks(void)
{
    uint8_t w[292], a[292];
    q8_K_const(a, 1);

    /* Q2_K: d = 1, dmin = 0.5, every scale 1 and min 2, quant bytes 0x1B (3,2,1,0 by shift): value q - 1. */
    fill(w, 0x21, 16); fill(w + 16, 0x1B, 64); put16(w + 80, 0x3C00); put16(w + 82, 0x3800);
    expect("Q2_K", dot(NPC_TYPE_Q2_K, 256, w, a), 128.0f);

    /* Q3_K: every 6-bit scale 33 (-> 1), low bits 3,2,1,0 by shift; hmask all set: value q; all clear: q - 4. */
    fill(w, 0xFF, 32); fill(w + 32, 0x1B, 64); fill(w + 96, 0x11, 8); fill(w + 104, 0xAA, 4); put16(w + 108, 0x3C00);
    expect("Q3_K", dot(NPC_TYPE_Q3_K, 256, w, a), 384.0f);
    fill(w, 0x00, 32);
    expect("Q3_K hmask", dot(NPC_TYPE_Q3_K, 256, w, a), -640.0f);

    /* Q4_K: d = dmin = 1, all scales 1 and mins 2, nibbles 3 (low) / 5 (high): values 1 and 3. */
    const uint8_t k4[12] = { 1, 1, 1, 1, 2, 2, 2, 2, 0x21, 0x21, 0x21, 0x21 };
    put16(w, 0x3C00); put16(w + 2, 0x3C00); memcpy(w + 4, k4, 12); fill(w + 16, 0x53, 128);
    expect("Q4_K", dot(NPC_TYPE_Q4_K, 256, w, a), 512.0f);

    /* Q5_K: as Q4_K, plus the fifth bit (qh bit 0) on elements 0..31: +16 each. */
    put16(w, 0x3C00); put16(w + 2, 0x3C00); memcpy(w + 4, k4, 12); fill(w + 16, 0x01, 32); fill(w + 48, 0x53, 128);
    expect("Q5_K", dot(NPC_TYPE_Q5_K, 256, w, a), 1024.0f);

    /* Q6_K: d = 0.5, scales 2, ql 0x21, qh 0xE4: groups of 32 are -31, -15, 2, 18. */
    fill(w, 0x21, 128); fill(w + 128, 0xE4, 64); fill(w + 192, 2, 16); put16(w + 208, 0x3800);
    expect("Q6_K", dot(NPC_TYPE_Q6_K, 256, w, a), -1664.0f);

    /* Q6_K with signed activations: the activation's sign flips the sum. */
    q8_K_const(a, -3);
    expect("Q6_K negative", dot(NPC_TYPE_Q6_K, 256, w, a), 3 * 1664.0f);
}

static void float_rows(void)
{
    float wf[20], af[20];
    uint16_t wh[20], ah[20];
    double want = 0;
    for (int i = 0; i < 20; i++) {
        wf[i] = (float)(i + 1) * 0.5f;
        af[i] = (float)(i % 3) - 1.0f;
        wh[i] = npc_fp32_to_fp16(wf[i]);
        ah[i] = npc_fp32_to_fp16(af[i]);
        want += (double)wf[i] * af[i];
    }
    expect("F32", dot(NPC_TYPE_F32, 20, wf, af), (float)want);
    expect("F16", dot(NPC_TYPE_F16, 20, wh, ah), (float)want);
    for (int i = 0; i < 20; i++) { wh[i] = npc_fp32_to_bf16(wf[i]); ah[i] = npc_fp32_to_bf16(af[i]); }
    expect("BF16", dot(NPC_TYPE_BF16, 20, wh, ah), (float)want);
}

static void quantizers(void)
{
    float x[256];
    uint8_t y[292];

    /* Q8_0: amax 127 gives id = 1 exactly; halves round to even. */
    for (int j = 0; j < 32; j++) x[j] = 0;
    x[0] = 127; x[1] = 2.5f; x[2] = 3.5f; x[3] = -2.5f; x[4] = -0.5f; x[5] = 1.5f; x[6] = -127;
    npc_quantize_row(NPC_TYPE_Q8_0, x, y, 32);
    uint16_t d; memcpy(&d, y, 2);
    check(d == 0x3C00, "Q8_0 d = %04x [%s]", d, npc_path_name(npc_get_path()));
    const int8_t want[7] = { 127, 2, 4, -2, 0, 2, -127 };
    check(memcmp(y + 2, want, 7) == 0, "Q8_0 round half to even [%s]: %d %d %d %d %d %d %d", npc_path_name(npc_get_path()),
          (int8_t)y[2], (int8_t)y[3], (int8_t)y[4], (int8_t)y[5], (int8_t)y[6], (int8_t)y[7], (int8_t)y[8]);

    /* Q8_1: same quants; s = fp16(d * sum) = 127 + 2 + 4 - 2 + 0 + 2 - 127 = 6. */
    npc_quantize_row(NPC_TYPE_Q8_1, x, y, 32);
    uint16_t s; memcpy(&s, y + 2, 2);
    check(s == npc_fp32_to_fp16(6.0f) && memcmp(y + 4, want, 7) == 0, "Q8_1 s = %04x [%s]", s, npc_path_name(npc_get_path()));

    /* Q8_K: the first element of largest magnitude is -2 (before +2): iscale = 63.5, so 1 -> 63.5 -> 64 (even). */
    for (int j = 0; j < 256; j++) x[j] = 0;
    x[5] = -2; x[9] = 2; x[10] = 1; x[11] = -1; x[12] = 0.5f;
    npc_quantize_row(NPC_TYPE_Q8_K, x, y, 256);
    float dk; memcpy(&dk, y, 4);
    int8_t* q = (int8_t*)(y + 4);
    check(dk == 1.0f / (-127.0f / -2.0f), "Q8_K d = %g", dk);
    check(q[5] == -127 && q[9] == 127 && q[10] == 64 && q[11] == -64 && q[12] == 32, "Q8_K quants %d %d %d %d %d [%s]",
          q[5], q[9], q[10], q[11], q[12], npc_path_name(npc_get_path()));
    int16_t bs0; memcpy(&bs0, y + 260, 2);
    check(bs0 == -127 + 127 + 64 - 64 + 32, "Q8_K bsums[0] = %d", bs0);

    /* Q8_K of zeros: an all-zero block. */
    for (int j = 0; j < 256; j++) x[j] = 0;
    memset(y, 0x55, sizeof(y));
    npc_quantize_row(NPC_TYPE_Q8_K, x, y, 256);
    int zero = 1;
    for (int j = 0; j < 292; j++) zero &= y[j] == 0;
    check(zero, "Q8_K of zeros is all zero bytes");

    /* F16 / BF16 edge cases (16 values so the SIMD loops see them). */
    const uint32_t in[16] = { 0x3F800000u, 0x477FE000u, 0x477FF000u, 0x33800000u, 0x33000000u, 0x33C00000u,
                              0x7FC00001u, 0xFF800000u, 0x387FE000u, 0x3F801000u, 0x3F803000u, 0x80000000u,
                              0x7F800001u, 0x38800000u, 0xC0000000u, 0x00000001u };
    const uint16_t want16[16] = { 0x3C00, 0x7BFF, 0x7C00, 0x0001, 0x0000, 0x0002, 0x7E00, 0xFC00,
                                  0x0400, 0x3C00, 0x3C02, 0x8000, 0x7E00, 0x0400, 0xC000, 0x0000 };
    float f[16];
    uint16_t h[16];
    memcpy(f, in, sizeof(f));
    npc_quantize_row(NPC_TYPE_F16, f, h, 16);
    for (int i = 0; i < 16; i++)
        check(h[i] == want16[i], "F16 of %08x = %04x, want %04x [%s]", in[i], h[i], want16[i], npc_path_name(npc_get_path()));
    const uint32_t inb[4] = { 0x3F808000u, 0x3F818000u, 0x7F800001u, 0x3F80FFFFu };
    const uint16_t wantb[4] = { 0x3F80, 0x3F82, 0x7FC0, 0x3F81 };
    float fb[16];
    uint16_t hb[16];
    for (int i = 0; i < 16; i++) memcpy(&fb[i], &inb[i % 4], 4);
    npc_quantize_row(NPC_TYPE_BF16, fb, hb, 16);
    for (int i = 0; i < 16; i++)
        check(hb[i] == wantb[i % 4], "BF16 of %08x = %04x, want %04x", inb[i % 4], hb[i], wantb[i % 4]);
}

static void arguments(void)
{
    uint8_t w[34 * 4] = { 0 }, a[34] = { 0 };
    float out[8];
    check(npc_matvec(NPC_TYPE_Q8_0, w, 4, 32, a, out, 0, 5) == NPC_ERR_ARGUMENT, "row_end beyond rows");
    check(npc_matvec(NPC_TYPE_Q8_0, w, 4, 32, a, out, 3, 2) == NPC_ERR_ARGUMENT, "reversed range");
    check(npc_matvec(NPC_TYPE_Q8_0, w, 4, 33, a, out, 0, 1) == NPC_ERR_ARGUMENT, "cols not a whole number of blocks");
    check(npc_matvec(5, w, 4, 32, a, out, 0, 1) == NPC_ERR_TYPE, "unknown type");
    check(npc_matvec(NPC_TYPE_Q8_0, NULL, 4, 32, a, out, 0, 1) == NPC_ERR_ARGUMENT, "null weights");
    check(npc_matvec(NPC_TYPE_Q8_0, w, 4, 32, a, out, 2, 2) == NPC_OK, "empty range");
    check(npc_quantize_row(NPC_TYPE_Q4_0, (const float*)w, a, 32) == NPC_ERR_TYPE, "weights are not quantized here");
    check(npc_row_bytes(NPC_TYPE_Q4_K, 512) == 288 && npc_row_bytes(NPC_TYPE_Q4_K, 500) < 0, "row bytes");
    check(npc_vec_dot_type(NPC_TYPE_Q5_1) == NPC_TYPE_Q8_1 && npc_vec_dot_type(NPC_TYPE_Q3_K) == NPC_TYPE_Q8_K &&
          npc_vec_dot_type(NPC_TYPE_BF16) == NPC_TYPE_BF16, "vec_dot types");
    float f[8] = { 0 };
    check(npc_matmul_kernel(NPC_KERNEL_TINYBLAS, 0, NPC_TYPE_Q8_0, w, 34, 4, 32, a, 34, 1, out, 4, 0, 4) == NPC_ERR_TYPE,
          "tinyBLAS takes float weights only");
    check(npc_matmul_kernel(NPC_KERNEL_REPACKED, 0, NPC_TYPE_Q8_0, w, 34, 4, 32, a, 34, 1, out, 4, 0, 4) == NPC_ERR_TYPE,
          "repacked takes Q4_0/Q4_K only");
    check(npc_matmul_kernel(3, 0, NPC_TYPE_Q8_0, w, 34, 4, 32, a, 34, 1, out, 4, 0, 4) == NPC_ERR_TYPE, "unknown kernel");
    check(npc_matmul_kernel(NPC_KERNEL_TINYBLAS, 0, NPC_TYPE_F32, f, 12, 2, 3, f, 12, 1, out, 2, 0, 2) == NPC_ERR_ARGUMENT,
          "tinyBLAS needs cols in multiples of 8");
    check(npc_matmul_kernel(NPC_KERNEL_REPACKED, 2, NPC_TYPE_Q4_0, w, 18, 4, 32, a, 34, 1, out, 4, 0, 4) == NPC_ERR_ARGUMENT,
          "more gemm rows than activations");
    check(npc_matmul_kernel(NPC_KERNEL_REPACKED, -1, NPC_TYPE_Q4_0, w, 18, 4, 32, a, 34, 1, out, 4, 0, 4) == NPC_ERR_ARGUMENT,
          "negative gemm rows");
    check(npc_matmul_kernel(NPC_KERNEL_REPACKED, 1, NPC_TYPE_Q4_0, w, 18, 4, 32, a, 34, 1, out, 4, 0, 4) == NPC_OK,
          "repacked gemm row");
    check(npc_set_path(7) == NPC_ERR_UNSUPPORTED, "unknown path");
    check(npc_abi_version() == NPC_ABI_VERSION, "abi version");
}

static void float_helpers(void)
{
    float x[2] = { 3, 4 }, w[2] = { 1, 2 }, y[2];
    npc_rmsnorm(x, w, y, 2, 0.0f);
    float s = 1.0f / sqrtf(12.5f);
    expect("rmsnorm 0", y[0], 3 * s);
    expect("rmsnorm 1", y[1], 4 * s * 2);

    float p[3] = { 0, logf(2.0f), -INFINITY };
    npc_softmax(p, 3);
    expect("softmax 0", p[0], 1.0f / 3);
    expect("softmax 1", p[1], 2.0f / 3);
    expect("softmax 2", p[2], 0);

    /* SwiGLU: 8 lanes through ggml_v_expf's arithmetic (and its overflow branches), one tail lane through expf. */
    float gate[9] = { 1, -1, 0, 2.5f, -3, 100, -100, 200, 1 }, up[9] = { 1, 1, 1, 2, 1, 1, 1, 1, 3 };
    float want[9];
    for (int i = 0; i < 9; i++) want[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
    npc_swiglu(gate, up, 9);
    for (int i = 0; i < 9; i++) check(fabsf(gate[i] - want[i]) <= 2e-6f * fmaxf(1.0f, fabsf(want[i])), "swiglu %d: %g vs %g", i, gate[i], want[i]);

    float head[8] = { 1, 0, 0, 1, 1, 0, 0, 1 };
    const float c[2] = { 0, 1 }, sn[2] = { 1, 0 };
    npc_rope(head, 2, 4, 4, 4, c, sn, NPC_ROPE_NORMAL);
    check(head[0] == 0 && head[1] == 1 && head[2] == 0 && head[3] == 1, "rope normal %g %g %g %g", head[0], head[1], head[2], head[3]);
    float neox[4] = { 1, 0, 0, 1 };
    npc_rope(neox, 1, 4, 4, 4, c, sn, NPC_ROPE_NEOX);
    /* pairs (x0, x2) rotated by 90 degrees, (x1, x3) by 0 */
    check(neox[0] == 0 && neox[2] == 1 && neox[1] == 0 && neox[3] == 1, "rope neox %g %g %g %g", neox[0], neox[1], neox[2], neox[3]);

    /* attention over 2 positions: scores q.k = {0, ln 3}: p = {1/4, 3/4}; values {4, 0} and {0, 8}. */
    float q[2] = { 0, logf(3.0f) };
    float kf[4] = { 1, 0, 0, 1 }, vf[4] = { 4, 0, 0, 8 };
    float scores[2], o[2];
    npc_attention(q, 2, NPC_TYPE_F32, kf, vf, 8, 2, 1.0f, scores, o);
    expect("attention f32 0", o[0], 1.0f);
    expect("attention f32 1", o[1], 6.0f);
    uint16_t kh[4], vh[4];
    for (int i = 0; i < 4; i++) { kh[i] = npc_fp32_to_fp16(kf[i]); vh[i] = npc_fp32_to_fp16(vf[i]); }
    npc_attention(q, 2, NPC_TYPE_F16, kh, vh, 4, 2, 1.0f, scores, o);
    check(fabsf(o[0] - 1.0f) < 2e-3f && fabsf(o[1] - 6.0f) < 5e-3f, "attention f16 %g %g", o[0], o[1]);
}

int main(void)
{
    const int paths[] = { NPC_PATH_SCALAR, NPC_PATH_AVX2, NPC_PATH_NEON };
    arguments();
    for (size_t p = 0; p < 3; p++) {
        if (!npc_path_supported(paths[p])) continue;
        check(npc_set_path(paths[p]) == NPC_OK && npc_get_path() == paths[p], "set path %s", npc_path_name(paths[p]));
        printf("path %s\n", npc_path_name(paths[p]));
        legacy_blocks();
        k_blocks();
        float_rows();
        quantizers();
        float_helpers();
    }
    return finish("test_cases");
}
