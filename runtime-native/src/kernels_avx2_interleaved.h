/*
 * The interleaved Q4_0 and Q5_0 kernels (npc_matmul_q4_0x8, npc_matmul_q5_0x8), included twice by kernels_avx2.c:
 * with AVX2 (vpmaddubsw + vpmaddwd) and with AVX512-VNNI (vpdpbusd). Each inclusion defines
 *   IL_TARGET                        the target attribute
 *   IL_NAME(f)                       the function names (f, f##_vnni)
 *   IL_Q4X8_CHUNK(s, lo, hi, qy, c)  s + a chunk's products (i16 pair sums, or int32 lanes)
 *   IL_Q4X8_WIDEN(s)                 those sums as each row's int32 lane
 * and every int32 lane that reaches a float conversion is the same integer either way (see kernels_avx2.c).
 */

/*
 * One group of the 8-row layouts against `na` activations, each chunk loaded and unpacked once for all of them: Q4_0
 * (npc_matmul_q4_0x8, 144-byte blocks, nibbles less 8) or, with `q5`, Q5_0 (npc_matmul_q5_0x8, 176-byte blocks whose
 * plane adds each quant's fifth bit, less 16). A Q5_0 lane's i16 pair sums can reach 2 x 31 x 128 per chunk, so each
 * half of its block (two chunks) is widened on its own; Q4_0 widens its four chunks at once (8 x 2 x 15 x 128 = 30720).
 */
INLINE IL_TARGET void IL_NAME(x8_group)(const uint8_t* x, int nb, const uint8_t* y, int64_t ys, const float* dy,
                              const int32_t* sy8, int64_t ps, float* out, int64_t os, int accumulate, const int na, const int q5)
{
    const __m256i m4 = _mm256_set1_epi8(0x0F), b4 = _mm256_set1_epi8(0x10);
    const int halves = q5 ? 2 : 1, per_half = 4 / halves;
    __m256 acc[4];
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)
        acc[k] = accumulate ? _mm256_loadu_ps(out + k * os) : _mm256_setzero_ps();
    const uint8_t* qy = y + offsetof(block_q8_0, qs);
    for (int b = 0; b < nb; b++, x += q5 ? NPC_Q5X8_BLOCK : NPC_Q4X8_BLOCK, qy += sizeof(block_q8_0)) {
        const __m256i plane = q5 ? loadu(x + NPC_Q5X8_PLANE) : _mm256_setzero_si256();
        __m256i s[4];
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) s[k] = _mm256_setzero_si256();
        _Pragma("GCC unroll 2") for (int h = 0; h < halves; h++) {
            __m256i p[4];
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) p[k] = _mm256_setzero_si256();
            /* Two chunks per iteration: unrolled fully, GCC schedules every load first and spills with four activations. */
            _Pragma("GCC unroll 2") for (int c = h * per_half; c < (h + 1) * per_half; c++) {
                const __m256i bits = loadu(x + 16 + 32 * c);
                __m256i lo = _mm256_and_si256(bits, m4), hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
                if (q5) {
                    lo = _mm256_or_si256(lo, _mm256_and_si256(q5x8_plane_bit(plane, 4 - c), b4));
                    hi = _mm256_or_si256(hi, _mm256_and_si256(q5x8_plane_bit(plane, -c), b4));
                }
                _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) p[k] = IL_Q4X8_CHUNK(p[k], lo, hi, qy + k * ys, c);
            }
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) s[k] = _mm256_add_epi32(s[k], IL_Q4X8_WIDEN(p[k]));
        }
        const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)x));
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
            const __m256i total = _mm256_sub_epi32(s[k], _mm256_set1_epi32((q5 ? 2 : 1) * sy8[k * ps + b]));
            acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_mul_ps(dx, _mm256_set1_ps(dy[k * ps + b])), acc[k]);
        }
    }
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) _mm256_storeu_ps(out + k * os, acc[k]);
}

#define IL_X8(name, q5)                                                                                               \
    static IL_TARGET void IL_NAME(name)(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys,   \
                                        const float* dy, const int32_t* sy8, int64_t ps, int na, float* out,          \
                                        int64_t os, int accumulate)                                                   \
    {                                                                                                                 \
        switch (na) {                                                                                                 \
        case 1: for (int g = 0; g < ng; g++) IL_NAME(x8_group)(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 1, q5); break; \
        case 2: for (int g = 0; g < ng; g++) IL_NAME(x8_group)(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 2, q5); break; \
        case 3: for (int g = 0; g < ng; g++) IL_NAME(x8_group)(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 3, q5); break; \
        default: for (int g = 0; g < ng; g++) IL_NAME(x8_group)(x + g * gs, nb, y, ys, dy, sy8, ps, out + 8 * g, os, accumulate, 4, q5); break; \
        }                                                                                                             \
    }

IL_X8(q4_0x8, 0)
IL_X8(q5_0x8, 1)

#undef IL_X8
#undef IL_TARGET
#undef IL_NAME
#undef IL_Q4X8_CHUNK
#undef IL_Q4X8_WIDEN
