// overlap: how much of the read bandwidth one thread keeps when each 32 bytes read also costs K dependent
// multiply-adds (vpmaddubsw), in cache and from DRAM. It tells how fast a decode kernel must compute for its reads
// to reach a given fraction of the ceiling: llama.cpp-style kernels run 25-40 GB/s in cache here.
// Build: cc -O3 -march=native overlap.c -o overlap      Usage: overlap [hugepages 0|1]
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

#define DEFINE_PASS(K)                                                                                  \
    static double pass_##K(const uint8_t *p, size_t n, int reps) {                                      \
        const __m256i ones = _mm256_set1_epi8(1);                                                       \
        __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;                                 \
        double best = 1e9;                                                                              \
        for (int r = 0; r < reps; r++) {                                                                \
            double t0 = now();                                                                          \
            for (size_t i = 0; i + 128 <= n; i += 128) {                                                \
                __m256i v0 = _mm256_load_si256((const __m256i *)(p + i));                               \
                __m256i v1 = _mm256_load_si256((const __m256i *)(p + i + 32));                          \
                __m256i v2 = _mm256_load_si256((const __m256i *)(p + i + 64));                          \
                __m256i v3 = _mm256_load_si256((const __m256i *)(p + i + 96));                          \
                for (int k = 0; k < K; k++) {                                                           \
                    v0 = _mm256_maddubs_epi16(v0, ones); v1 = _mm256_maddubs_epi16(v1, ones);           \
                    v2 = _mm256_maddubs_epi16(v2, ones); v3 = _mm256_maddubs_epi16(v3, ones);           \
                }                                                                                       \
                a0 = _mm256_add_epi16(a0, v0); a1 = _mm256_add_epi16(a1, v1);                           \
                a2 = _mm256_add_epi16(a2, v2); a3 = _mm256_add_epi16(a3, v3);                           \
            }                                                                                           \
            double t = now() - t0;                                                                      \
            if (t < best) best = t;                                                                     \
        }                                                                                               \
        a0 = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));                      \
        if (_mm256_extract_epi64(a0, 0) == 42) puts("");                                                \
        return n / best / 1e9;                                                                          \
    }
DEFINE_PASS(0) DEFINE_PASS(1) DEFINE_PASS(2) DEFINE_PASS(3) DEFINE_PASS(4) DEFINE_PASS(6) DEFINE_PASS(8)

int main(int argc, char **argv) {
    int huge = argc > 1 ? atoi(argv[1]) : 1;
    size_t n = 512ul << 20, align = 2ul << 20;
    uint8_t *raw = mmap(NULL, n + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) { perror("mmap"); return 1; }
    uint8_t *buf = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    if (huge) madvise(buf, n, MADV_HUGEPAGE);
    memset(buf, 1, n);
    struct { int k; double (*pass)(const uint8_t *, size_t, int); } passes[] = {
        {0, pass_0}, {1, pass_1}, {2, pass_2}, {3, pass_3}, {4, pass_4}, {6, pass_6}, {8, pass_8}};
    printf("%s pages\n", huge ? "2 MiB" : "4 KiB");
    for (size_t i = 0; i < sizeof passes / sizeof passes[0]; i++) {
        double cache = passes[i].pass(buf, 256 << 10, 2000), dram = passes[i].pass(buf, n, 5);
        printf("K=%d  in cache %6.1f GB/s  from DRAM %5.1f GB/s\n", passes[i].k, cache, dram);
    }
    return 0;
}
