/*
 * The interleaved Q4_0 kernels (npc_matmul_q4_0x8), included twice by kernels_avx2.c:
 * with AVX2 (vpmaddubsw + vpmaddwd) and with AVX512-VNNI (vpdpbusd). Each inclusion defines
 *   IL_TARGET                        the target attribute
 *   IL_NAME(f)                       the function names (f, f##_vnni)
 *   IL_Q4X8_CHUNK(s, lo, hi, qy, c)  s + a Q4_0x8 chunk's products (i16 pair sums, or int32 lanes)
 *   IL_Q4X8_WIDEN(s)                 those sums as each row's int32 lane
 * and every int32 lane that reaches a float conversion is the same integer either way (see kernels_avx2.c).
 */

/* One group against `na` activations: each chunk loaded and unpacked once for all of them. */
INLINE IL_TARGET void IL_NAME(q4_0x8_group)(const uint8_t* x, int nb, const uint8_t* y, int64_t ys, const float* dy,
                              const int32_t* sy8, int64_t ps, float* out, int64_t os, int accumulate, const int na)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256 acc[4];
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)
        acc[k] = accumulate ? _mm256_loadu_ps(out + k * os) : _mm256_setzero_ps();
    const uint8_t* qy = y + offsetof(block_q8_0, qs);
    for (int b = 0; b < nb; b++, x += NPC_Q4X8_BLOCK, qy += sizeof(block_q8_0)) {
        __m256i s[4];
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) s[k] = _mm256_setzero_si256();
        /* Two chunks per iteration: unrolled fully, GCC schedules every load first and spills with four activations. */
        _Pragma("GCC unroll 2") for (int c = 0; c < 4; c++) {
            const __m256i bits = loadu(x + 16 + 32 * c);
            const __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) s[k] = IL_Q4X8_CHUNK(s[k], lo, hi, qy + k * ys, c);
        }
        const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)x));
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
            const __m256i total = _mm256_sub_epi32(IL_Q4X8_WIDEN(s[k]), _mm256_set1_epi32(sy8[k * ps + b]));
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_mul_ps(dx, _mm256_set1_ps(dy[k * ps + b])), acc[k]);
        }
    }
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) _mm256_storeu_ps(out + k * os, acc[k]);
}

static IL_TARGET void IL_NAME(q4_0x8)(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys, const float* dy,
                        const int32_t* sy8, int64_t ps, int na, float* out, int64_t os, int accumulate)
{
    switch (na) {
    case 1: for (int g = 0; g < ng; g++) IL_NAME(q4_0x8_group)(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 1); break;
    case 2: for (int g = 0; g < ng; g++) IL_NAME(q4_0x8_group)(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 2); break;
    case 3: for (int g = 0; g < ng; g++) IL_NAME(q4_0x8_group)(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 3); break;
    default: for (int g = 0; g < ng; g++) IL_NAME(q4_0x8_group)(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 4); break;
    }
}

#undef IL_TARGET
#undef IL_NAME
#undef IL_Q4X8_CHUNK
#undef IL_Q4X8_WIDEN
