/*
 * Path selection (CPU features at run time), the type table, and the public entry points that loop over rows and
 * activations and call the active path's kernels.
 */
#include <stdlib.h>

#include "npc_internal.h"

#if defined(NPC_X86_64) && (defined(__GNUC__) || defined(__clang__))
#  include <cpuid.h>
#endif

/* ---- CPU features ---- */

#if defined(NPC_X86_64)
int npc_cpu_has_avx2_fma_f16c(void)
{
#if defined(__GNUC__) || defined(__clang__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, f16c = (c >> 29) & 1;
    if (!(fma && osxsave && avx && f16c)) return 0;
    /* The OS must save the YMM state (XCR0 bits 1 and 2). */
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    if ((xcr0_lo & 6u) != 6u) return 0;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 5) & 1; /* AVX2 */
#else
    return 0;
#endif
}

/* AVX512F, AVX512BW, AVX512VL and AVX512_VNNI, with the OS saving the opmask and ZMM state (XCR0 bits 5-7) too:
   the VNNI kernels use only 256-bit vectors, but EVEX code needs the state enabled. */
int npc_cpu_has_avx512_vnni(void)
{
#if defined(__GNUC__) || defined(__clang__)
    if (!npc_cpu_has_avx2_fma_f16c()) return 0;
    unsigned a, b, c, d;
    __cpuid_count(7, 0, a, b, c, d);
    if (!((b >> 16) & 1) || !((b >> 30) & 1) || !((b >> 31) & 1) || !((c >> 11) & 1)) return 0;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    return (xcr0_lo & 0xE6u) == 0xE6u;
#else
    return 0;
#endif
}

/* NPCSDK_NATIVE_NO_VNNI set (to anything but "" or "0") keeps the plain AVX2 kernels: to compare and test both. */
static int vnni_wanted(void)
{
    const char* s = getenv("NPCSDK_NATIVE_NO_VNNI");
    return !(s && s[0] && strcmp(s, "0") != 0) && npc_cpu_has_avx512_vnni();
}
#endif

int npc_path_supported(int path)
{
    switch (path) {
    case NPC_PATH_SCALAR: return 1;
#if defined(NPC_X86_64)
    case NPC_PATH_AVX2: return npc_cpu_has_avx2_fma_f16c();
#endif
#if defined(NPC_ARM64)
    case NPC_PATH_NEON: return 1;
#endif
    default: return 0;
    }
}

int npc_best_path(void)
{
#if defined(NPC_X86_64)
    if (npc_cpu_has_avx2_fma_f16c()) return NPC_PATH_AVX2;
#endif
#if defined(NPC_ARM64)
    return NPC_PATH_NEON;
#else
    return NPC_PATH_SCALAR;
#endif
}

const char* npc_path_name(int path)
{
    switch (path) {
    case NPC_PATH_SCALAR: return "scalar";
    case NPC_PATH_AVX2: return "avx2";
    case NPC_PATH_NEON: return "neon";
    default: return "unknown";
    }
}

/* ---- Kernel tables: built once, for every path this CPU supports ---- */

float npc_fp16_table[65536];

static npc_kernels g_tables[3];
static int g_init_state; /* 0 = not built, 1 = building, 2 = built */
static const npc_kernels* g_active;

static void build_table(int path, npc_kernels* out)
{
    npc_kernels scalar;
    npc_kernels_scalar(&scalar);
    npc_kernels k = scalar;
#if defined(NPC_X86_64)
    if (path == NPC_PATH_AVX2) npc_kernels_avx2(&k, vnni_wanted());
#endif
#if defined(NPC_ARM64)
    if (path == NPC_PATH_NEON) npc_kernels_neon(&k);
#endif
    k.path = path;
    for (int t = 0; t < 31; t++) {
        if (!k.rows[t]) k.rows[t] = scalar.rows[t];
        if (!k.quant[t]) k.quant[t] = scalar.quant[t];
        /* Paths without ggml's kernel-specific orders run their own vec_dot kernels for those too. */
        if (!k.tinyblas[t]) k.tinyblas[t] = k.rows[t];
        if (!k.gemv[t]) k.gemv[t] = k.rows[t];
        if (!k.gemm[t]) k.gemm[t] = k.rows[t];
    }
    if (!k.q4_0x8) k.q4_0x8 = scalar.q4_0x8;
    if (!k.q8_0_sums) k.q8_0_sums = scalar.q8_0_sums;
    if (!k.q4_Kx8) k.q4_Kx8 = scalar.q4_Kx8;
    if (!k.q8_K_pairs) k.q8_K_pairs = scalar.q8_K_pairs;
    if (!k.q5_0x8) k.q5_0x8 = scalar.q5_0x8;
    if (!k.widen[NPC_TYPE_F16]) k.widen[NPC_TYPE_F16] = scalar.widen[NPC_TYPE_F16];
    if (!k.widen[NPC_TYPE_BF16]) k.widen[NPC_TYPE_BF16] = scalar.widen[NPC_TYPE_BF16];
    *out = k;
}

static int path_from_env(void)
{
    const char* s = getenv("NPCSDK_NATIVE_PATH");
    if (!s) return -1;
    for (int p = 0; p < 3; p++)
        if (strcmp(s, npc_path_name(p)) == 0 && npc_path_supported(p)) return p;
    return -1;
}

static void init_tables(void)
{
    int expected = 0;
    if (__atomic_compare_exchange_n(&g_init_state, &expected, 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        for (uint32_t h = 0; h < 65536; h++) npc_fp16_table[h] = npc_fp16_to_fp32((uint16_t)h);
        for (int p = 0; p < 3; p++)
            if (npc_path_supported(p)) build_table(p, &g_tables[p]);
        int path = path_from_env();
        if (path < 0) path = npc_best_path();
        __atomic_store_n(&g_active, &g_tables[path], __ATOMIC_RELEASE);
        __atomic_store_n(&g_init_state, 2, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&g_init_state, __ATOMIC_ACQUIRE) != 2) {
        /* Another thread is building the tables (microseconds). */
    }
}

const npc_kernels* npc_active(void)
{
    const npc_kernels* k = __atomic_load_n(&g_active, __ATOMIC_ACQUIRE);
    if (k) return k;
    init_tables();
    return __atomic_load_n(&g_active, __ATOMIC_ACQUIRE);
}

int npc_get_path(void) { return npc_active()->path; }

int npc_set_path(int path)
{
    if (path < 0 || path > 2 || !npc_path_supported(path)) return NPC_ERR_UNSUPPORTED;
    init_tables();
    __atomic_store_n(&g_active, &g_tables[path], __ATOMIC_RELEASE);
    return NPC_OK;
}

int npc_abi_version(void) { return NPC_ABI_VERSION; }

/* ---- Types ---- */

int npc_type_block_size(int type)
{
    switch (type) {
    case NPC_TYPE_F32: case NPC_TYPE_F16: case NPC_TYPE_BF16: return 1;
    case NPC_TYPE_Q4_0: case NPC_TYPE_Q4_1: case NPC_TYPE_Q5_0: case NPC_TYPE_Q5_1: case NPC_TYPE_Q8_0: case NPC_TYPE_Q8_1:
        return NPC_QK;
    case NPC_TYPE_Q2_K: case NPC_TYPE_Q3_K: case NPC_TYPE_Q4_K: case NPC_TYPE_Q5_K: case NPC_TYPE_Q6_K: case NPC_TYPE_Q8_K:
        return NPC_QK_K;
    default: return 0;
    }
}

int npc_type_block_bytes(int type)
{
    switch (type) {
    case NPC_TYPE_F32: return 4;
    case NPC_TYPE_F16: return 2;
    case NPC_TYPE_BF16: return 2;
    case NPC_TYPE_Q4_0: return (int)sizeof(block_q4_0);
    case NPC_TYPE_Q4_1: return (int)sizeof(block_q4_1);
    case NPC_TYPE_Q5_0: return (int)sizeof(block_q5_0);
    case NPC_TYPE_Q5_1: return (int)sizeof(block_q5_1);
    case NPC_TYPE_Q8_0: return (int)sizeof(block_q8_0);
    case NPC_TYPE_Q8_1: return (int)sizeof(block_q8_1);
    case NPC_TYPE_Q2_K: return (int)sizeof(block_q2_K);
    case NPC_TYPE_Q3_K: return (int)sizeof(block_q3_K);
    case NPC_TYPE_Q4_K: return (int)sizeof(block_q4_K);
    case NPC_TYPE_Q5_K: return (int)sizeof(block_q5_K);
    case NPC_TYPE_Q6_K: return (int)sizeof(block_q6_K);
    case NPC_TYPE_Q8_K: return (int)sizeof(block_q8_K);
    default: return 0;
    }
}

int npc_block_size(int type) { return npc_type_block_size(type); }
int npc_block_bytes(int type) { return npc_type_block_bytes(type); }

int64_t npc_row_bytes(int type, int64_t n)
{
    int bs = npc_type_block_size(type);
    if (bs == 0) return NPC_ERR_TYPE;
    if (n < 0 || n % bs != 0) return NPC_ERR_ARGUMENT;
    return n / bs * npc_type_block_bytes(type);
}

int npc_vec_dot_type(int type)
{
    switch (type) {
    case NPC_TYPE_F32: case NPC_TYPE_F16: case NPC_TYPE_BF16: return type;
    case NPC_TYPE_Q4_0: case NPC_TYPE_Q5_0: case NPC_TYPE_Q8_0: return NPC_TYPE_Q8_0;
    case NPC_TYPE_Q4_1: case NPC_TYPE_Q5_1: case NPC_TYPE_Q8_1: return NPC_TYPE_Q8_1;
    case NPC_TYPE_Q2_K: case NPC_TYPE_Q3_K: case NPC_TYPE_Q4_K: case NPC_TYPE_Q5_K: case NPC_TYPE_Q6_K: case NPC_TYPE_Q8_K:
        return NPC_TYPE_Q8_K;
    default: return NPC_ERR_TYPE;
    }
}

/* ---- Matrix products ---- */

/* Weight rows per tile: a tile of rows stays in L2 while every group of 4 activation rows (in L1) passes over it. */
#define NPC_ROW_TILE 16

int npc_matmul(int weight_type, const void* w, int64_t row_stride_bytes, int rows, int cols,
               const void* act, int64_t act_stride_bytes, int n_act,
               float* out, int64_t out_stride, int row_begin, int row_end)
{
    return npc_matmul_kernel(NPC_KERNEL_VEC_DOT, 0, weight_type, w, row_stride_bytes, rows, cols, act, act_stride_bytes,
                             n_act, out, out_stride, row_begin, row_end);
}

/* Runs `fn` over rows [row_begin, row_end) for activations [a0, a1), at most 4 activations per call. */
static void run_rows(npc_rows_fn fn, int cols, const uint8_t* wb, int64_t row_stride_bytes, int row_begin, int row_end,
                     const uint8_t* a, int64_t a_stride, int a0, int a1, float* out, int64_t out_stride)
{
    /* Up to 4 activation rows: one pass over all weight rows. More: tiles of rows, every activation group per tile. */
    const int tile = a1 - a0 <= 4 ? row_end - row_begin : NPC_ROW_TILE;
    for (int r0 = row_begin; r0 < row_end; r0 += tile) {
        int r1 = r0 + tile < row_end ? r0 + tile : row_end;
        for (int i = a0; i < a1; i += 4) {
            int na = a1 - i < 4 ? a1 - i : 4;
            fn(cols, wb + r0 * row_stride_bytes, row_stride_bytes, r1 - r0, a + i * a_stride, a_stride, na,
               out + i * out_stride + (r0 - row_begin), out_stride);
        }
    }
}

int npc_matmul_kernel(int kernel, int n_gemm, int weight_type, const void* w, int64_t row_stride_bytes, int rows,
                      int cols, const void* act, int64_t act_stride_bytes, int n_act,
                      float* out, int64_t out_stride, int row_begin, int row_end)
{
    int bs = npc_type_block_size(weight_type);
    if (bs == 0) return NPC_ERR_TYPE;
    int is_float = weight_type == NPC_TYPE_F32 || weight_type == NPC_TYPE_F16 || weight_type == NPC_TYPE_BF16;
    if ((kernel == NPC_KERNEL_TINYBLAS && !is_float) ||
        (kernel == NPC_KERNEL_REPACKED && weight_type != NPC_TYPE_Q4_0 && weight_type != NPC_TYPE_Q4_K) ||
        kernel < NPC_KERNEL_VEC_DOT || kernel > NPC_KERNEL_REPACKED)
        return NPC_ERR_TYPE;
    if (!w || !act || !out || cols < 0 || cols % bs != 0 || n_act < 0 || rows < 0 ||
        row_begin < 0 || row_end < row_begin || row_end > rows || (kernel == NPC_KERNEL_TINYBLAS && cols % 8 != 0) ||
        (kernel == NPC_KERNEL_REPACKED && (n_gemm < 0 || n_gemm > n_act)))
        return NPC_ERR_ARGUMENT;
    int64_t row_bytes = npc_row_bytes(weight_type, cols);
    int64_t act_bytes = npc_row_bytes(npc_vec_dot_type(weight_type), cols);
    if (row_stride_bytes < row_bytes || (n_act > 1 && (act_stride_bytes < act_bytes || out_stride < row_end - row_begin)))
        return NPC_ERR_ARGUMENT;
    if (n_act == 0 || row_end == row_begin) return NPC_OK;

    const npc_kernels* k = npc_active();
    const uint8_t* a = (const uint8_t*)act;
    int64_t a_stride = act_stride_bytes;
    void* scratch = NULL;

    if (weight_type == NPC_TYPE_F16 || weight_type == NPC_TYPE_BF16) {
        /* Widen the 16-bit activations to float once (exact), not once per weight row; 64-byte aligned, so the
         * kernels' 32-byte loads never straddle a cache line (malloc's 16 bytes cost up to a quarter of the speed). */
        scratch = malloc((size_t)cols * (size_t)n_act * sizeof(float) + 63);
        if (!scratch) return NPC_ERR_MEMORY;
        float* widened = (float*)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
        for (int i = 0; i < n_act; i++) k->widen[weight_type](a + i * act_stride_bytes, widened + (int64_t)i * cols, cols);
        a = (const uint8_t*)widened;
        a_stride = (int64_t)cols * (int64_t)sizeof(float);
    }

    const uint8_t* wb = (const uint8_t*)w;
    switch (kernel) {
    case NPC_KERNEL_TINYBLAS:
        run_rows(k->tinyblas[weight_type], cols, wb, row_stride_bytes, row_begin, row_end, a, a_stride, 0, n_act, out, out_stride);
        break;
    case NPC_KERNEL_REPACKED:
        run_rows(k->gemm[weight_type], cols, wb, row_stride_bytes, row_begin, row_end, a, a_stride, 0, n_gemm, out, out_stride);
        run_rows(k->gemv[weight_type], cols, wb, row_stride_bytes, row_begin, row_end, a, a_stride, n_gemm, n_act, out, out_stride);
        break;
    default:
        run_rows(k->rows[weight_type], cols, wb, row_stride_bytes, row_begin, row_end, a, a_stride, 0, n_act, out, out_stride);
        break;
    }
    free(scratch);
    return NPC_OK;
}

int npc_matvec(int weight_type, const void* w, int rows, int cols, const void* act,
               float* out, int row_begin, int row_end)
{
    int64_t row_bytes = npc_row_bytes(weight_type, cols);
    if (row_bytes < 0) return (int)row_bytes;
    return npc_matmul(weight_type, w, row_bytes, rows, cols, act, 0, 1, out, 0, row_begin, row_end);
}

int npc_vec_dot(int weight_type, int n, const void* w, const void* act, float* out)
{
    return npc_matvec(weight_type, w, 1, n, act, out, 0, 1);
}

/* ---- Interleaved Q4_0 ---- */

/* Per-block activation values on the stack (32 KiB): 4 tokens of 32768 columns, 32 tokens of 4096. */
#define NPC_Q4X8_STACK 4096
/* Tokens per window when a batch's values do not fit: the weights are read once per window of this many tokens,
   about 0.5 byte per cycle on one core, which memory keeps up with. */
#define NPC_Q4X8_TOKENS 32
/* Bytes of weights a tile of groups aims for: it stays in L1/L2 while every activation of a window passes over it. */
#define NPC_Q4X8_TILE 16384

/* npc_matmul_q4_0x8 and npc_matmul_q5_0x8: 8-row groups of `block`-byte blocks through `kernel`. */
static void matmul_x8(npc_q4x8_fn kernel, int block, const uint8_t* packed, int cols, int groups, const uint8_t* act,
                      int64_t act_stride, int tokens, float* out, int64_t out_stride)
{
    if (!packed || !act || !out || cols <= 0 || cols % NPC_QK != 0 || groups <= 0 || tokens <= 0) return;
    const npc_kernels* k = npc_active();
    const int blocks = cols / NPC_QK;
    const int64_t gs = (int64_t)blocks * block;

    /* Each activation block's d_y and 8 * sum(q_y), once per call instead of once per group. When the batch's do not
       fit, the call goes in windows of tokens x blocks; a later window of blocks continues the chains from the
       outputs (stored and reloaded exactly), so the bits do not depend on the windows. */
    float dy[NPC_Q4X8_STACK];
    int32_t sy8[NPC_Q4X8_STACK];
    int tw = tokens, bw = blocks;
    if ((int64_t)tokens * blocks > NPC_Q4X8_STACK) {
        tw = tokens < NPC_Q4X8_TOKENS ? tokens : NPC_Q4X8_TOKENS;
        bw = NPC_Q4X8_STACK / tw;
        if (bw >= blocks) {
            bw = blocks;
            tw = NPC_Q4X8_STACK / blocks;
        }
    }

    for (int t0 = 0; t0 < tokens; t0 += tw) {
        const int nt = tokens - t0 < tw ? tokens - t0 : tw;
        for (int b0 = 0; b0 < blocks; b0 += bw) {
            const int nb = blocks - b0 < bw ? blocks - b0 : bw;
            const uint8_t* x = packed + (int64_t)b0 * block;
            const uint8_t* y = act + t0 * act_stride + (int64_t)b0 * sizeof(block_q8_0);
            float* o = out + t0 * out_stride;
            for (int t = 0; t < nt; t++) k->q8_0_sums(y + t * act_stride, nb, dy + t * nb, sy8 + t * nb);
            if (nt <= 4) {
                /* One pass: each weight chunk unpacked once for every activation. */
                kernel(x, gs, groups, nb, y, act_stride, dy, sy8, nb, nt, o, out_stride, b0 > 0);
                continue;
            }
            /* Tiles of groups, 4 activations at a time per tile: the tile's weights come from cache after the first. */
            int gt = (int)(NPC_Q4X8_TILE / ((int64_t)nb * block));
            if (gt < 2) gt = 2;
            for (int g0 = 0; g0 < groups; g0 += gt) {
                const int ng = groups - g0 < gt ? groups - g0 : gt;
                for (int t = 0; t < nt; t += 4)
                    kernel(x + g0 * gs, gs, ng, nb, y + t * act_stride, act_stride, dy + t * nb, sy8 + t * nb, nb,
                              nt - t < 4 ? nt - t : 4, o + t * out_stride + 8 * (int64_t)g0, out_stride, b0 > 0);
            }
        }
    }
}

void npc_matmul_q4_0x8(const uint8_t* packed, int cols, int groups, const uint8_t* act, int64_t act_stride,
                       int tokens, float* out, int64_t out_stride)
{
    matmul_x8(npc_active()->q4_0x8, NPC_Q4X8_BLOCK, packed, cols, groups, act, act_stride, tokens, out, out_stride);
}

void npc_matmul_q5_0x8(const uint8_t* packed, int cols, int groups, const uint8_t* act, int64_t act_stride,
                       int tokens, float* out, int64_t out_stride)
{
    matmul_x8(npc_active()->q5_0x8, NPC_Q5X8_BLOCK, packed, cols, groups, act, act_stride, tokens, out, out_stride);
}

/* ---- Interleaved Q4_K ---- */

/* Activation pair sums on the stack (32 KiB): 4 tokens of 131072 columns, 32 tokens of 16384. */
#define NPC_Q4KX8_STACK 2048
/* Groups per tile when one token's pair sums do not fit: their chains wait in a 4 KiB buffer between windows. */
#define NPC_Q4KX8_PART 64

/* Activations [0, nt) over the groups of one call: the gemm ones ([0, split)), then the others, up to 4 at a time. */
static void q4_Kx8_pass(const npc_kernels* k, const uint8_t* x, int64_t gs, int ng, int nb, const uint8_t* y,
                        int64_t ys, const int32_t* pairs, int64_t ps, int nt, int split, float* out, int64_t os)
{
    for (int t = 0; t < nt;) {
        const int end = t < split ? split : nt;
        const int na = end - t < 4 ? end - t : 4;
        k->q4_Kx8(x, gs, ng, nb, y + t * ys, ys, pairs + t * ps, ps, na, t < split, out + t * os, os, NULL, 0);
        t += na;
    }
}

void npc_matmul_q4_Kx8(const uint8_t* packed, int cols, int groups, const uint8_t* act, int64_t act_stride,
                       int tokens, int first_row, int gemm_rows, float* out, int64_t out_stride)
{
    if (!packed || !act || !out || cols <= 0 || cols % NPC_QK_K != 0 || groups <= 0 || tokens <= 0) return;
    const npc_kernels* k = npc_active();
    const int blocks = cols / NPC_QK_K;
    const int64_t gs = (int64_t)blocks * NPC_Q4KX8_BLOCK;
    /* Activations before `split` take the gemm's arithmetic. */
    const int64_t in_gemm = (int64_t)gemm_rows - first_row;
    const int split = in_gemm <= 0 ? 0 : in_gemm >= tokens ? tokens : (int)in_gemm;

    /* Each activation block's pair sums, once per call instead of once per group. */
    int32_t pairs[4 * NPC_Q4KX8_STACK];
    if (blocks > NPC_Q4KX8_STACK) {
        /* Rows longer than the buffer (over 512K columns): one token at a time in windows of blocks, the two chains
           of a tile of groups kept in `part` between windows (exactly), so the bits do not depend on the windows. */
        float part[16 * NPC_Q4KX8_PART];
        for (int t = 0; t < tokens; t++)
            for (int g0 = 0; g0 < groups; g0 += NPC_Q4KX8_PART) {
                const int ng = groups - g0 < NPC_Q4KX8_PART ? groups - g0 : NPC_Q4KX8_PART;
                for (int b0 = 0; b0 < blocks; b0 += NPC_Q4KX8_STACK) {
                    const int nb = blocks - b0 < NPC_Q4KX8_STACK ? blocks - b0 : NPC_Q4KX8_STACK;
                    const uint8_t* y = act + t * act_stride + (int64_t)b0 * sizeof(block_q8_K);
                    k->q8_K_pairs(y, nb, pairs);
                    k->q4_Kx8(packed + g0 * gs + (int64_t)b0 * NPC_Q4KX8_BLOCK, gs, ng, nb, y, act_stride, pairs, 4 * nb,
                              1, t < split, out + t * out_stride + 8 * (int64_t)g0, out_stride, part,
                              (b0 > 0 ? NPC_WINDOW_CONTINUE : 0) | (b0 + nb < blocks ? NPC_WINDOW_KEEP : 0));
                }
            }
        return;
    }

    /* Windows of tokens when the batch's pair sums do not fit. */
    const int tw = tokens <= NPC_Q4KX8_STACK / blocks ? tokens : NPC_Q4KX8_STACK / blocks;
    const int64_t ps = 4 * (int64_t)blocks;
    for (int t0 = 0; t0 < tokens; t0 += tw) {
        const int nt = tokens - t0 < tw ? tokens - t0 : tw;
        const int st = split - t0 <= 0 ? 0 : split - t0 >= nt ? nt : split - t0;
        const uint8_t* y = act + t0 * act_stride;
        float* o = out + t0 * out_stride;
        for (int t = 0; t < nt; t++) k->q8_K_pairs(y + t * act_stride, blocks, pairs + t * ps);
        if (nt <= 4) {
            /* One pass (two when the gemm rows end inside): each weight chunk unpacked once for every activation. */
            q4_Kx8_pass(k, packed, gs, groups, blocks, y, act_stride, pairs, ps, nt, st, o, out_stride);
            continue;
        }
        /* Tiles of groups, 4 activations at a time per tile: the tile's weights come from cache after the first. */
        int gt = (int)(NPC_Q4X8_TILE / gs);
        if (gt < 2) gt = 2;
        for (int g0 = 0; g0 < groups; g0 += gt)
            q4_Kx8_pass(k, packed + g0 * gs, gs, groups - g0 < gt ? groups - g0 : gt, blocks, y, act_stride, pairs, ps,
                        nt, st, o + 8 * (int64_t)g0, out_stride);
    }
}

/* ---- Quantizers ---- */

static int is_activation_type(int type)
{
    return type == NPC_TYPE_F32 || type == NPC_TYPE_F16 || type == NPC_TYPE_BF16 || type == NPC_TYPE_Q8_0 ||
           type == NPC_TYPE_Q8_1 || type == NPC_TYPE_Q8_K;
}

int npc_quantize_row(int type, const float* src, void* dst, int64_t n)
{
    return npc_quantize_rows(type, src, n, dst, 0, n, 1);
}

int npc_quantize_rows(int type, const float* src, int64_t src_stride, void* dst, int64_t dst_stride_bytes,
                      int64_t n, int count)
{
    if (!is_activation_type(type)) return NPC_ERR_TYPE;
    int64_t row_bytes = npc_row_bytes(type, n);
    if (row_bytes < 0 || !src || !dst || count < 0 || (count > 1 && (src_stride < n || dst_stride_bytes < row_bytes)))
        return NPC_ERR_ARGUMENT;
    npc_quant_fn fn = npc_active()->quant[type];
    for (int i = 0; i < count; i++)
        fn(src + i * src_stride, (uint8_t*)dst + i * dst_stride_bytes, n);
    return NPC_OK;
}
