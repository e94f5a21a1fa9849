/*
 * Random-data tests of every kernel on every path this CPU can run:
 *  - the plain-C path against a double-precision reference over dequantized weights and activations (layouts);
 *  - every SIMD path against the plain-C path (same int sums; float order may differ) for matrix-vector and
 *    matrix-matrix products, over row ranges, activation counts 1..9 and strides, with every ggml kernel order that
 *    applies (vec_dot; tinyBLAS for float rows of whole groups of 8; repacked gemm/gemv splits for Q4_0/Q4_K);
 *  - every SIMD activation quantizer against the plain-C one, byte for byte.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npc_internal.h"
#include "test_util.h"

static const int k_paths[] = { NPC_PATH_SCALAR, NPC_PATH_AVX2, NPC_PATH_NEON };

/* sum |w_i * a_i| in double: the scale float rounding errors are measured against */
static void reference(int type, const void* w, int64_t row_bytes, int rows, int cols, const void* act,
                      int64_t act_bytes, int n_act, double* exact, double* mag)
{
    int at = npc_vec_dot_type(type);
    float* wf = malloc(sizeof(float) * cols);
    float* af = malloc(sizeof(float) * cols);
    for (int i = 0; i < n_act; i++) {
        npc_dequantize_row(at, (const uint8_t*)act + i * act_bytes, af, cols);
        for (int r = 0; r < rows; r++) {
            npc_dequantize_row(type, (const uint8_t*)w + r * row_bytes, wf, cols);
            double s = 0, m = 0;
            for (int j = 0; j < cols; j++) {
                s += (double)wf[j] * af[j];
                m += fabs((double)wf[j] * af[j]);
            }
            if (type == NPC_TYPE_Q4_1 || type == NPC_TYPE_Q5_1) {
                /* The format stores the activation block sum as fp16 s = d * sum(q): the min term uses that. */
                const uint8_t* wr = (const uint8_t*)w + r * row_bytes;
                const uint8_t* ar = (const uint8_t*)act + i * act_bytes;
                for (int b = 0; b < cols / 32; b++) {
                    uint16_t m, sy;
                    memcpy(&m, wr + b * npc_block_bytes(type) + 2, 2);
                    memcpy(&sy, ar + b * 36 + 2, 2);
                    double sum_a = 0;
                    for (int j = 0; j < 32; j++) sum_a += af[32 * b + j];
                    s += (double)npc_fp16_to_fp32(m) * ((double)npc_fp16_to_fp32(sy) - sum_a);
                }
            }
            exact[i * rows + r] = s;
            mag[i * rows + r] = m;
        }
    }
    free(wf);
    free(af);
}

typedef struct { int kernel, gemm_rows; } kernel_config;

static void test_matmul_type(rng_t* rng, int type, int cols)
{
    const int rows = 21, n_act = 9;
    const int at = npc_vec_dot_type(type);
    const int64_t row_bytes = npc_row_bytes(type, cols);
    const int64_t act_bytes = npc_row_bytes(at, cols);
    uint8_t* w = malloc(row_bytes * rows);
    uint8_t* act = malloc(act_bytes * n_act);
    float* x = malloc(sizeof(float) * cols * n_act);
    double* exact = malloc(sizeof(double) * rows * n_act);
    double* mag = malloc(sizeof(double) * rows * n_act);
    float* ref = malloc(sizeof(float) * rows * n_act);
    float* out = malloc(sizeof(float) * (rows + 3) * n_act);

    random_weights(rng, type, w, rows, cols);
    for (int i = 0; i < cols * n_act; i++) x[i] = rng_gauss(rng, 1.0f);
    npc_set_path(NPC_PATH_SCALAR);
    check(npc_quantize_rows(at, x, cols, act, act_bytes, cols, n_act) == NPC_OK, "%s: quantize activations", type_name(type));
    reference(type, w, row_bytes, rows, cols, act, act_bytes, n_act, exact, mag);

    /* The plain-C path against the double reference. */
    check(npc_matmul(type, w, row_bytes, rows, cols, act, act_bytes, n_act, ref, rows, 0, rows) == NPC_OK,
          "%s: scalar matmul status", type_name(type));
    double worst = 0;
    for (int i = 0; i < rows * n_act; i++) {
        double err = fabs(ref[i] - exact[i]) / (mag[i] + 1e-30);
        if (err > worst) worst = err;
    }
    check(worst < 2e-5, "%s cols=%d: scalar vs double reference, error %.3g of sum|w*a|", type_name(type), cols, worst);

    for (size_t p = 1; p < sizeof(k_paths) / sizeof(k_paths[0]); p++) {
        int path = k_paths[p];
        if (!npc_path_supported(path)) continue;
        npc_set_path(path);
        /* matrix-matrix over every activation count 1..9 and a few row ranges, with a padded output stride */
        const int ranges[][2] = { { 0, rows }, { 3, 4 }, { 5, 19 }, { 20, 21 }, { 7, 7 } };
        const int is_float = npc_block_size(type) == 1;
        const int repacked = type == NPC_TYPE_Q4_0 || type == NPC_TYPE_Q4_K;
        for (int n = 1; n <= n_act; n++) {
            /* (kernel, gemm rows): vec_dot, then the kernels that apply to this type */
            kernel_config configs[3] = { { NPC_KERNEL_VEC_DOT, 0 } };
            int n_configs = 1;
            if (is_float && cols % 8 == 0) configs[n_configs++] = (kernel_config){ NPC_KERNEL_TINYBLAS, 0 };
            if (repacked) {
                configs[n_configs++] = (kernel_config){ NPC_KERNEL_REPACKED, n - n % 4 };
                configs[n_configs++] = (kernel_config){ NPC_KERNEL_REPACKED, n / 2 };
            }
            for (int c = 0; c < n_configs; c++)
            for (size_t rr = 0; rr < sizeof(ranges) / sizeof(ranges[0]); rr++) {
                int r0 = ranges[rr][0], r1 = ranges[rr][1];
                int64_t os = rows + 3;
                for (int i = 0; i < os * n_act; i++) out[i] = 12345.0f;
                int st = npc_matmul_kernel(configs[c].kernel, configs[c].gemm_rows, type, w, row_bytes, rows, cols, act, act_bytes, n,
                                           out, os, r0, r1);
                check(st == NPC_OK, "%s %s kernel %d: matmul status %d", npc_path_name(path), type_name(type), configs[c].kernel, st);
                double worst_p = 0;
                int untouched = 1;
                for (int i = 0; i < n_act; i++) {
                    for (int c = 0; c < os; c++) {
                        float v = out[i * os + c];
                        int r = r0 + c;
                        if (i < n && r < r1) {
                            double err = fabs(v - ref[i * rows + r]) / (mag[i * rows + r] + 1e-30);
                            if (err > worst_p || err != err) worst_p = err != err ? 1e9 : err;
                        } else if (v != 12345.0f) {
                            untouched = 0;
                        }
                    }
                }
                check(worst_p < 1e-5, "%s %s kernel %d cols=%d n_act=%d rows [%d,%d): vs scalar, error %.3g",
                      npc_path_name(path), type_name(type), configs[c].kernel, cols, n, r0, r1, worst_p);
                check(untouched, "%s %s n_act=%d rows [%d,%d): wrote outside the output", npc_path_name(path),
                      type_name(type), n, r0, r1);
            }
        }
        /* matrix-vector entry point */
        for (int i = 0; i < rows; i++) out[i] = 0;
        check(npc_matvec(type, w, rows, cols, act, out, 0, rows) == NPC_OK, "matvec status");
        double worst_v = 0;
        for (int r = 0; r < rows; r++) {
            double err = fabs(out[r] - ref[r]) / (mag[r] + 1e-30);
            if (err > worst_v) worst_v = err;
        }
        check(worst_v < 1e-5, "%s %s cols=%d: matvec vs scalar, error %.3g", npc_path_name(path), type_name(type), cols, worst_v);
    }
    npc_set_path(npc_best_path());
    free(w); free(act); free(x); free(exact); free(mag); free(ref); free(out);
}

static void fill_special(rng_t* rng, float* x, int n, int pattern)
{
    for (int i = 0; i < n; i++) x[i] = rng_gauss(rng, pattern == 3 ? 1e-3f : 1.0f);
    switch (pattern) {
    case 1: /* a zero block (32 and 256), and a block whose largest magnitude is negative and repeated */
        for (int i = 0; i < 256 && i < n; i++) x[i] = 0.0f;
        if (n >= 512) { x[300] = -4.0f; x[301] = 4.0f; x[302] = 2.0f; x[303] = -2.0f; }
        break;
    case 2: /* exact halves after scaling: amax 127 gives id = 1 */
        for (int b = 0; b + 32 <= n; b += 32) {
            x[b] = 127.0f;
            for (int j = 1; j < 32; j++) x[b + j] = (float)((int)(rng_u32(rng) % 200) - 100) + 0.5f;
        }
        break;
    case 4: /* float edge cases for F16 / BF16 */
        if (n >= 16) {
            uint32_t bits[16] = { 0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x7F800001u, 0xFFC12345u, 0x477FEFFFu,
                                  0x477FF000u, 0x33000000u, 0x33000001u, 0x387FC000u, 0x00000001u, 0x80000000u,
                                  0x3F808000u, 0x3F818000u, 0x7F7FFFFFu, 0x38800000u };
            for (int i = 0; i < 16; i++) memcpy(&x[i], &bits[i], 4);
        }
        for (int i = 16; i < n; i++) {
            uint32_t u = rng_u32(rng);
            memcpy(&x[i], &u, 4); /* any bit pattern: NaNs, infinities, subnormals */
        }
        break;
    default: break;
    }
}

static void test_quantizers(rng_t* rng)
{
    const int types[] = { NPC_TYPE_F32, NPC_TYPE_F16, NPC_TYPE_BF16, NPC_TYPE_Q8_0, NPC_TYPE_Q8_1, NPC_TYPE_Q8_K };
    const int n = 4096 + 256 + 15 * 0;
    float* x = malloc(sizeof(float) * n);
    uint8_t* a = malloc(8 * n);
    uint8_t* b = malloc(8 * n);
    for (size_t ti = 0; ti < sizeof(types) / sizeof(types[0]); ti++) {
        int t = types[ti];
        for (int pattern = 0; pattern < 5; pattern++) {
            if (pattern == 4 && t != NPC_TYPE_F16 && t != NPC_TYPE_BF16 && t != NPC_TYPE_F32) continue;
            int len = (t == NPC_TYPE_F16 || t == NPC_TYPE_BF16) ? n - 3 : n; /* odd tails for the 16-bit ones */
            if (t == NPC_TYPE_Q8_0 || t == NPC_TYPE_Q8_1) len = n - 32;
            fill_special(rng, x, len, pattern);
            int64_t bytes = npc_row_bytes(t, len);
            npc_set_path(NPC_PATH_SCALAR);
            memset(a, 0xAB, bytes);
            check(npc_quantize_row(t, x, a, len) == NPC_OK, "quantize %s status", type_name(t));
            for (size_t p = 1; p < sizeof(k_paths) / sizeof(k_paths[0]); p++) {
                if (!npc_path_supported(k_paths[p])) continue;
                npc_set_path(k_paths[p]);
                memset(b, 0xCD, bytes);
                npc_quantize_row(t, x, b, len);
                int64_t first = -1;
                for (int64_t i = 0; i < bytes; i++)
                    if (a[i] != b[i]) { first = i; break; }
                check(first < 0, "%s quantize %s pattern %d: byte %lld differs (%02x vs scalar %02x)",
                      npc_path_name(k_paths[p]), type_name(t), pattern, (long long)first, first < 0 ? 0 : b[first],
                      first < 0 ? 0 : a[first]);
            }
        }
    }
    npc_set_path(npc_best_path());
    free(x); free(a); free(b);
}

/* Every binary16 converts exactly (F16 weights against F32 activations of 1.0 at one position). */
static void test_f16_all_values(void)
{
    for (size_t p = 0; p < sizeof(k_paths) / sizeof(k_paths[0]); p++) {
        if (!npc_path_supported(k_paths[p])) continue;
        npc_set_path(k_paths[p]);
        int bad = 0;
        uint16_t w[16];
        uint16_t one[16];
        for (int i = 0; i < 16; i++) one[i] = 0;
        one[5] = 0x3C00;
        for (uint32_t h = 0; h < 65536; h++) {
            if ((h & 0x7C00) == 0x7C00) continue; /* inf/NaN times 0 is NaN: not a dot product question */
            for (int i = 0; i < 16; i++) w[i] = 0;
            w[5] = (uint16_t)h;
            float r;
            npc_vec_dot(NPC_TYPE_F16, 16, w, one, &r);
            float e = npc_fp16_to_fp32((uint16_t)h);
            if (memcmp(&r, &e, 4) != 0 && !(r == 0 && e == 0)) bad++;
        }
        check(bad == 0, "%s: %d binary16 values converted inexactly", npc_path_name(k_paths[p]), bad);
    }
    npc_set_path(npc_best_path());
}

/* F16 / BF16 to float on every path: every one of the 65536 values of each, exact (NaN stays NaN). */
static void test_widen_all_values(void)
{
    uint16_t* h = malloc(2 * 65536 + 2 * 7);
    float* f = malloc(sizeof(float) * (65536 + 7));
    for (uint32_t i = 0; i < 65536 + 7; i++) h[i] = (uint16_t)(i * 40503u); /* a permutation, odd tail */
    const int types[2] = { NPC_TYPE_F16, NPC_TYPE_BF16 };
    for (size_t p = 0; p < sizeof(k_paths) / sizeof(k_paths[0]); p++) {
        if (!npc_path_supported(k_paths[p])) continue;
        npc_set_path(k_paths[p]);
        for (int t = 0; t < 2; t++) {
            npc_dequantize_row(types[t], h, f, 65536 + 7);
            int bad = 0;
            for (uint32_t i = 0; i < 65536 + 7; i++) {
                float e = types[t] == NPC_TYPE_F16 ? npc_fp16_to_fp32(h[i]) : npc_bf16_to_fp32(h[i]);
                if (e != e ? f[i] == f[i] : memcmp(&e, &f[i], 4) != 0) bad++;
            }
            check(bad == 0, "%s: %d %s values widened inexactly", npc_path_name(k_paths[p]), bad, type_name(types[t]));
        }
    }
    npc_set_path(npc_best_path());
    free(h);
    free(f);
}

/* The scalar fp32 -> fp16 conversion, compared with the hardware on every path that has one, over many bit patterns. */
static void test_f16_rounding(rng_t* rng)
{
    const int n = 1 << 16;
    float* x = malloc(sizeof(float) * n);
    uint16_t* h = malloc(2 * n);
    for (int i = 0; i < n; i++) {
        uint32_t u = rng_u32(rng);
        /* concentrate on the fp16 range and its rounding boundaries */
        if (i % 2) u = (u & 0x807FFFFFu) | ((102u + rng_u32(rng) % 42u) << 23); /* exponents 2^-25 .. 2^16 */
        if (i % 4 == 1) u &= ~0xFFFu;                                            /* many exact ties */
        memcpy(&x[i], &u, 4);
    }
    for (size_t p = 1; p < sizeof(k_paths) / sizeof(k_paths[0]); p++) {
        if (!npc_path_supported(k_paths[p])) continue;
        npc_set_path(k_paths[p]);
        npc_quantize_row(NPC_TYPE_F16, x, h, n);
        int bad = 0;
        for (int i = 0; i < n; i++)
            if (h[i] != npc_fp32_to_fp16(x[i])) bad++;
        check(bad == 0, "%s: %d of %d floats round to fp16 differently from the scalar conversion", npc_path_name(k_paths[p]), bad, n);
    }
    npc_set_path(npc_best_path());
    free(x);
    free(h);
}

int main(void)
{
    rng_t rng = { 42 };
    printf("best path: %s\n", npc_path_name(npc_best_path()));
    for (int i = 0; i < k_weight_type_count; i++) {
        int t = k_weight_types[i];
        const int lengths[] = { 256, 512, 4096 };
        for (int l = 0; l < 3; l++) test_matmul_type(&rng, t, lengths[l]);
        if (npc_block_size(t) == 1) test_matmul_type(&rng, t, 45); /* float rows need not be a multiple of 8 */
    }
    test_quantizers(&rng);
    test_f16_all_values();
    test_widen_all_values();
    test_f16_rounding(&rng);
    return finish("test_kernels");
}
