/* Small test helpers for the C kernel tests: counters, a seeded RNG, random rows of every format. */
#ifndef NPC_TEST_UTIL_H
#define NPC_TEST_UTIL_H

#include <stdint.h>
#include <stdio.h>

#include "npcsdk_native.h"

extern int g_passed, g_failed;

/** Records one check; prints the message when it fails. */
void check(int ok, const char* fmt, ...);

/** Prints "N passed, N failed" and returns the process exit code. */
int finish(const char* suite);

typedef struct { uint64_t s; } rng_t;
uint32_t rng_u32(rng_t* r);
float rng_uniform(rng_t* r);           /* [0, 1) */
float rng_gauss(rng_t* r, float sigma); /* approximately N(0, sigma) */

/** Fills `rows` random weight rows of `cols` elements of `type` (random quants, sane finite scales). */
void random_weights(rng_t* r, int type, void* dst, int rows, int cols);

/** Bitwise float equality (NaNs and signed zeros included). */
int same_bits(float a, float b);

/** The value an interleaved product's checks expect where it must not write. */
#define NPC_TEST_CANARY 12345.0f

/** Fills `n` floats with NPC_TEST_CANARY. */
void fill_canary(float* out, int64_t n);

/**
 * Checks the output of an interleaved product run over the groups from row `first_row` on: `tokens` rows of `os`
 * floats, element (t, c) bit-equal to expected[t][first_row + c] for c < rows - first_row, the canary beyond. `what`
 * names the run in the failure message.
 */
void check_interleaved_output(const char* what, const float* out, int64_t os, int tokens, int rows, int first_row,
                              const float* const* expected);

/** All weight types, in ggml id order. */
extern const int k_weight_types[];
extern const int k_weight_type_count;
const char* type_name(int type);

#endif
