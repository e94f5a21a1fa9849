/*
 * The interleaved Q4_0 and Q5_0 kernels (npc_matmul_q4_0x8, npc_matmul_q5_0x4), included twice by kernels_avx2.c:
 * with AVX2 (vpmaddubsw + vpmaddwd) and with AVX512-VNNI (vpdpbusd). Each inclusion defines
 *   IL_TARGET                        the target attribute
 *   IL_NAME(f)                       the function names (f, f##_vnni)
 *   IL_MUL_SUM(ax, sy)               int32 lanes, each the sum of its 4 adjacent u8 x s8 products
 *   IL_Q4X8_CHUNK(s, lo, hi, qy, c)  s + a Q4_0x8 chunk's products (i16 pair sums, or int32 lanes)
 *   IL_Q4X8_WIDEN(s)                 those sums as each row's int32 lane
 *   IL_Q5X4_YSUMS(b4, y)             what q5_0x4_decode takes off for the unsigned quants (16 x the activation's pair
 *                                    sums in i16, or -16 x its 4-element sums in int32)
 *   IL_Q5X4_LANES(x, y, ys)          ggml's int32 lanes of (x - 16) . y from the unsigned quants and those sums
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

/** acc += ggml's step for block `xb` of a row in Q5_0 (the rows' last nb % 8 blocks), scaled by d_x * dy. */
INLINE IL_TARGET __m256 IL_NAME(q5x4_plain)(const block_q5_0* xb, const uint8_t* y, float dy, __m256 acc)
{
    const __m256i qx = q5_0_quants(xb);
    const __m256i s = IL_MUL_SUM(_mm256_sign_epi8(qx, qx), _mm256_sign_epi8(loadu(((const block_q8_0*)y)->qs), qx));
    return _mm256_fmadd_ps(_mm256_set1_ps(h16(xb->d) * dy), _mm256_cvtepi32_ps(s), acc);
}

/*
 * One activation (decode): the 4 rows side by side, one stream of weights, the activation's vectors, 16 x its pair
 * sums (vpmaddubsw of the unsigned quants less these, each at most 31 x 2 x 128 + 16 x 2 x 128 in magnitude, exact in
 * 16 bits) and scales shared by the 4 rows.
 */
static IL_TARGET void IL_NAME(q5_0x4_decode)(const uint8_t* x, int nb, const uint8_t* y, float* out)
{
    const __m256i b4 = _mm256_set1_epi8(0x10);
    _Alignas(32) float scales[32];
    __m256 acc[4];
    _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) acc[r] = _mm256_setzero_ps();
    const int chunks = nb / 8, tail = nb % 8;
    const block_q8_0* yb = (const block_q8_0*)y;
    for (int c = 0; c < chunks; c++, x += 4 * NPC_Q5X4_CHUNK, yb += 8) {
        float* sc = scales;
        Q5X4_OPAQUE(sc);
        const __m256 dy = _mm256_cvtph_ps(_mm_setr_epi16((short)yb[0].d, (short)yb[1].d, (short)yb[2].d, (short)yb[3].d,
                                                         (short)yb[4].d, (short)yb[5].d, (short)yb[6].d, (short)yb[7].d));
        _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++)
            _mm256_store_ps(sc + 8 * r, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)(x + r * NPC_Q5X4_CHUNK))), dy));
        _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) {
            const __m256i qa = loadu(yb[2 * j].qs), qb = loadu(yb[2 * j + 1].qs);
            const __m256i sa = IL_Q5X4_YSUMS(b4, qa), sb = IL_Q5X4_YSUMS(b4, qb);
            _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) {
                __m256i xa, xb;
                q5x4_unpack(x + r * NPC_Q5X4_CHUNK, j, &xa, &xb);
                acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(sc + 8 * r + 2 * j), _mm256_cvtepi32_ps(IL_Q5X4_LANES(xa, qa, sa)), acc[r]);
                acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(sc + 8 * r + 2 * j + 1), _mm256_cvtepi32_ps(IL_Q5X4_LANES(xb, qb, sb)), acc[r]);
            }
        }
    }
    const block_q5_0* xt = (const block_q5_0*)x;
    for (int b = 0; b < tail; b++, yb++)
        _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) acc[r] = IL_NAME(q5x4_plain)(xt + r * tail + b, (const uint8_t*)yb, h16(yb->d), acc[r]);
    _Pragma("GCC unroll 4") for (int r = 0; r < 4; r++) out[r] = hsum_ps(acc[r]);
}

/*
 * Row r of a group against `na` (2..4) activations: each block unpacked once for all of them, one chain each (so
 * nothing spills), the quants made signed for ggml's vpsignb form (no per-activation correction to hold). The group's
 * other rows follow from L1.
 */
INLINE IL_TARGET void IL_NAME(q5_0x4_row)(const uint8_t* x, int r, int nb, const uint8_t* y, int64_t ys, const float* dy, int64_t ps,
                            float* out, int64_t os, const int na)
{
    const __m256i b4 = _mm256_set1_epi8(0x10);
    _Alignas(32) float scales[32];
    __m256 acc[4];
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) acc[k] = _mm256_setzero_ps();
    const int chunks = nb / 8, tail = nb % 8;
    const uint8_t* ch = x + r * NPC_Q5X4_CHUNK;
    for (int c = 0; c < chunks; c++, ch += 4 * NPC_Q5X4_CHUNK) {
        float* sc = scales;
        Q5X4_OPAQUE(sc);
        const __m256 dx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i*)ch));
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)
            _mm256_store_ps(sc + 8 * k, _mm256_mul_ps(dx, _mm256_loadu_ps(dy + k * ps + 8 * c)));
        _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++) {
            __m256i xa, xb;
            q5x4_unpack(ch, j, &xa, &xb);
            xa = _mm256_sub_epi8(xa, b4);
            xb = _mm256_sub_epi8(xb, b4);
            const __m256i aa = _mm256_abs_epi8(xa), ab = _mm256_abs_epi8(xb);
            _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) {
                const block_q8_0* yk = (const block_q8_0*)(y + k * ys) + 8 * c + 2 * j;
                const __m256i la = IL_MUL_SUM(aa, _mm256_sign_epi8(loadu(yk[0].qs), xa));
                const __m256i lb = IL_MUL_SUM(ab, _mm256_sign_epi8(loadu(yk[1].qs), xb));
                acc[k] = _mm256_fmadd_ps(_mm256_broadcast_ss(sc + 8 * k + 2 * j), _mm256_cvtepi32_ps(la), acc[k]);
                acc[k] = _mm256_fmadd_ps(_mm256_broadcast_ss(sc + 8 * k + 2 * j + 1), _mm256_cvtepi32_ps(lb), acc[k]);
            }
        }
    }
    const block_q5_0* xr = (const block_q5_0*)(x + (int64_t)chunks * 4 * NPC_Q5X4_CHUNK) + r * tail;
    for (int b = 0; b < tail; b++)
        _Pragma("GCC unroll 4") for (int k = 0; k < na; k++)
            acc[k] = IL_NAME(q5x4_plain)(xr + b, y + k * ys + (8 * chunks + b) * sizeof(block_q8_0), dy[k * ps + 8 * chunks + b], acc[k]);
    _Pragma("GCC unroll 4") for (int k = 0; k < na; k++) out[k * os] = hsum_ps(acc[k]);
}

static IL_TARGET void IL_NAME(q5_0x4)(const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y, int64_t ys, const float* dy,
                        int64_t ps, int na, float* out, int64_t os)
{
    for (int g = 0; g < ng; g++, x += gs, out += 4) {
        switch (na) {
        case 1: IL_NAME(q5_0x4_decode)(x, nb, y, out); break;
        case 2: for (int r = 0; r < 4; r++) IL_NAME(q5_0x4_row)(x, r, nb, y, ys, dy, ps, out + r, os, 2); break;
        case 3: for (int r = 0; r < 4; r++) IL_NAME(q5_0x4_row)(x, r, nb, y, ys, dy, ps, out + r, os, 3); break;
        default: for (int r = 0; r < 4; r++) IL_NAME(q5_0x4_row)(x, r, nb, y, ys, dy, ps, out + r, os, 4); break;
        }
    }
}

#undef IL_TARGET
#undef IL_NAME
#undef IL_MUL_SUM
#undef IL_Q4X8_CHUNK
#undef IL_Q4X8_WIDEN
#undef IL_Q5X4_YSUMS
#undef IL_Q5X4_LANES
