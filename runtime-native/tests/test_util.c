#include "test_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "npc_internal.h"

int g_passed, g_failed;

void check(int ok, const char* fmt, ...)
{
    if (ok) {
        g_passed++;
        return;
    }
    g_failed++;
    if (g_failed <= 50) {
        va_list ap;
        va_start(ap, fmt);
        fputs("FAIL: ", stdout);
        vprintf(fmt, ap);
        fputc('\n', stdout);
        va_end(ap);
    }
}

int finish(const char* suite)
{
    printf("%s: %d passed, %d failed\n", suite, g_passed, g_failed);
    return g_failed == 0 ? 0 : 1;
}

int same_bits(float a, float b) { return memcmp(&a, &b, 4) == 0; }

void fill_canary(float* out, int64_t n)
{
    for (int64_t i = 0; i < n; i++) out[i] = NPC_TEST_CANARY;
}

void check_interleaved_output(const char* what, const float* out, int64_t os, int tokens, int rows, int first_row,
                              const float* const* expected)
{
    int bad = 0, first = -1, untouched = 1;
    for (int t = 0; t < tokens; t++)
        for (int c = 0; c < os; c++) {
            const float v = out[t * os + c];
            if (c >= rows - first_row) {
                untouched &= same_bits(v, NPC_TEST_CANARY);
            } else if (!same_bits(v, expected[t][first_row + c])) {
                if (first < 0) first = t * rows + c;
                bad++;
            }
        }
    check(bad == 0, "%s: %d elements differ, first (token %d, row %d): %.9g vs %.9g", what, bad,
          first < 0 ? 0 : first / rows, first < 0 ? 0 : first_row + first % rows,
          first < 0 ? 0.0 : (double)out[first / rows * os + first % rows],
          first < 0 ? 0.0 : (double)expected[first / rows][first_row + first % rows]);
    check(untouched, "%s: wrote outside the output", what);
}

uint32_t rng_u32(rng_t* r)
{
    /* splitmix64 */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (uint32_t)((z ^ (z >> 31)) >> 32);
}

float rng_uniform(rng_t* r) { return (float)(rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

float rng_gauss(rng_t* r, float sigma)
{
    float s = 0;
    for (int k = 0; k < 12; k++) s += rng_uniform(r);
    return (s - 6.0f) * sigma;
}

const int k_weight_types[] = {
    NPC_TYPE_F32, NPC_TYPE_F16, NPC_TYPE_Q4_0, NPC_TYPE_Q4_1, NPC_TYPE_Q5_0, NPC_TYPE_Q5_1, NPC_TYPE_Q8_0,
    NPC_TYPE_Q8_1, NPC_TYPE_Q2_K, NPC_TYPE_Q3_K, NPC_TYPE_Q4_K, NPC_TYPE_Q5_K, NPC_TYPE_Q6_K, NPC_TYPE_Q8_K,
    NPC_TYPE_BF16,
};
const int k_weight_type_count = (int)(sizeof(k_weight_types) / sizeof(k_weight_types[0]));

const char* type_name(int t)
{
    switch (t) {
    case NPC_TYPE_F32: return "F32";
    case NPC_TYPE_F16: return "F16";
    case NPC_TYPE_Q4_0: return "Q4_0";
    case NPC_TYPE_Q4_1: return "Q4_1";
    case NPC_TYPE_Q5_0: return "Q5_0";
    case NPC_TYPE_Q5_1: return "Q5_1";
    case NPC_TYPE_Q8_0: return "Q8_0";
    case NPC_TYPE_Q8_1: return "Q8_1";
    case NPC_TYPE_Q2_K: return "Q2_K";
    case NPC_TYPE_Q3_K: return "Q3_K";
    case NPC_TYPE_Q4_K: return "Q4_K";
    case NPC_TYPE_Q5_K: return "Q5_K";
    case NPC_TYPE_Q6_K: return "Q6_K";
    case NPC_TYPE_Q8_K: return "Q8_K";
    case NPC_TYPE_BF16: return "BF16";
    default: return "?";
    }
}

static uint16_t rand_scale(rng_t* r, float magnitude)
{
    return npc_fp32_to_fp16(magnitude * (0.25f + rng_uniform(r)));
}

static void set_u16(uint8_t* p, uint16_t v) { memcpy(p, &v, 2); }

void random_weights(rng_t* r, int type, void* dst, int rows, int cols)
{
    int64_t row_bytes = npc_row_bytes(type, cols);
    int bs = npc_block_size(type), bb = npc_block_bytes(type);
    uint8_t* p = (uint8_t*)dst;
    for (int64_t i = 0; i < row_bytes * rows; i++) p[i] = (uint8_t)rng_u32(r);
    int64_t blocks = (int64_t)rows * (cols / bs);
    for (int64_t b = 0; b < blocks; b++) {
        uint8_t* blk = p + b * bb;
        switch (type) {
        case NPC_TYPE_F32: { float v = rng_gauss(r, 1.0f); memcpy(blk, &v, 4); break; }
        case NPC_TYPE_F16: {
            /* mostly normal values, some subnormal ones (exercise the exact conversion) */
            uint16_t h = (rng_u32(r) % 64 == 0) ? (uint16_t)((rng_u32(r) & 0x83FF)) : npc_fp32_to_fp16(rng_gauss(r, 1.0f));
            set_u16(blk, h);
            break;
        }
        case NPC_TYPE_BF16: set_u16(blk, npc_fp32_to_bf16(rng_gauss(r, 1.0f))); break;
        case NPC_TYPE_Q4_0: case NPC_TYPE_Q5_0: case NPC_TYPE_Q8_0: set_u16(blk, rand_scale(r, 0.01f)); break;
        case NPC_TYPE_Q4_1: case NPC_TYPE_Q5_1:
            set_u16(blk, rand_scale(r, 0.01f));
            set_u16(blk + 2, npc_fp32_to_fp16(rng_gauss(r, 0.05f)));
            break;
        case NPC_TYPE_Q8_1: set_u16(blk, rand_scale(r, 0.01f)); break;
        case NPC_TYPE_Q2_K: set_u16(blk + 80, rand_scale(r, 0.01f)); set_u16(blk + 82, rand_scale(r, 0.01f)); break;
        case NPC_TYPE_Q3_K: set_u16(blk + 108, rand_scale(r, 0.01f)); break;
        case NPC_TYPE_Q4_K: case NPC_TYPE_Q5_K: set_u16(blk, rand_scale(r, 0.01f)); set_u16(blk + 2, rand_scale(r, 0.01f)); break;
        case NPC_TYPE_Q6_K: set_u16(blk + 208, rand_scale(r, 0.01f)); break;
        case NPC_TYPE_Q8_K: { float d = 0.01f * (0.25f + rng_uniform(r)); memcpy(blk, &d, 4); break; }
        default: break;
        }
    }
}
