using System;
using NpcSdk.Compute;
using NpcSdk.Tensors;

namespace NpcSdk.Embeddings
{
    /// <summary>
    /// Encoder self-attention for (token, head) items, computed as ggml-cpu's flash-attention kernels compute it, which is
    /// what <c>llama-embedding</c> runs (flash attention "auto" is on for CPU): softmax(q·Kᵀ/√d)·V over the tokens of the
    /// token's own sequence, with keys and values rounded to half precision (llama.cpp casts them before the kernel).
    /// </summary>
    /// <remarks>
    /// Several sequences can share a batch, as in <c>llama-embedding</c>; a token attends only to its own sequence. The
    /// kernel, and so the rounding, depends on the batch (ggml's <c>ggml_compute_forward_flash_attn_ext_f16</c>):
    /// <list type="bullet">
    /// <item>fewer than 64 tokens in the batch: the one-row kernel: q rounded to half, an online softmax one key at a time
    /// with <c>expf</c>, the weighted values accumulated in half precision;</item>
    /// <item>64 or more (and a head width that is a multiple of 8): the tiled kernel: keys in tiles of 64 (counted from the start of the batch), scores by FMA chains
    /// in float, each tile's softmax with ggml's vectorised <c>ggml_v_expf</c> summed in groups of 8, values accumulated
    /// in float.</item>
    /// </list>
    /// The model's Q8_0 activations round so coarsely that a last-bit difference here moves the embedding by ~1e-4 in
    /// cosine, hence the bit-level care.
    /// </remarks>
    internal sealed class FlashAttention : IRangeWork
    {
        /// <summary>ggml's GGML_FA_TILE_Q: batches with at least this many tokens use the tiled kernel.</summary>
        internal const int QueryTile = 64;

        /// <summary>ggml's GGML_FA_TILE_KV: keys per tile of the tiled kernel.</summary>
        internal const int KeyTile = 64;

        [ThreadStatic] private static float[]? t_scratch;

        private readonly int _dim, _heads, _headDim;
        private readonly float _scale;
        private float[] _q = null!, _k = null!, _v = null!, _out = null!;
        private int[] _sequenceStart = null!, _sequenceLength = null!;
        private int _tokens;

        public FlashAttention(BertConfig c)
        {
            _dim = c.Dim;
            _heads = c.HeadCount;
            _headDim = c.HeadDim;
            _scale = 1.0f / MathF.Sqrt(_headDim);
        }

        /// <summary>Items to run: one per (token, head).</summary>
        public int ItemCount => _tokens * _heads;

        /// <summary>
        /// Sets the inputs: rows of width Dim with the heads side by side; <paramref name="k"/> and <paramref name="v"/> are
        /// rounded to half precision in place. Token t belongs to the sequence of tokens
        /// [<paramref name="sequenceStart"/>[t], <paramref name="sequenceStart"/>[t] + <paramref name="sequenceLength"/>[t]).
        /// </summary>
        public void Set(float[] q, float[] k, float[] v, float[] output, int tokens, int[] sequenceStart, int[] sequenceLength)
        {
            _q = q; _k = k; _v = v; _out = output; _tokens = tokens;
            _sequenceStart = sequenceStart;
            _sequenceLength = sequenceLength;
            RoundToHalf(k, tokens * _dim);
            RoundToHalf(v, tokens * _dim);
        }

        public void Execute(int start, int end)
        {
            int hd = _headDim;
            float[] scratch = t_scratch != null && t_scratch.Length >= 4 * hd + KeyTile ? t_scratch : (t_scratch = new float[4 * hd + KeyTile]);
            for (int item = start; item < end; item++)
            {
                int t = item / _heads, h = item % _heads;
                var output = _out.AsSpan(t * _dim + h * hd, hd);
                if (_tokens >= QueryTile && hd % 8 == 0) Tiled(t, h, output, scratch);
                else OneRow(t, h, output, scratch);
            }
        }

        /// <summary><c>ggml_compute_forward_flash_attn_ext_tiled</c> for one query row.</summary>
        private void Tiled(int t, int h, Span<float> output, float[] scratch)
        {
            int hd = _headDim;
            int first = _sequenceStart[t], end = first + _sequenceLength[t];
            var q = new ReadOnlySpan<float>(_q, t * _dim + h * hd, hd);
            var acc = scratch.AsSpan(0, hd);
            var p = scratch.AsSpan(hd, KeyTile); // the tile's scores, then its softmax numerators
            acc.Clear();
            float max = float.NegativeInfinity, sum = 0f;
            Span<float> e = stackalloc float[8];

            // Tiles that hold none of this sequence's keys are all masked for this row and change nothing.
            for (int tile = first / KeyTile * KeyTile; tile < end; tile += KeyTile)
            {
                int from = Math.Max(tile, first), to = Math.Min(tile + KeyTile, end);
                float tileMax = float.NegativeInfinity;
                for (int j = from; j < to; j++)
                {
                    var key = new ReadOnlySpan<float>(_k, j * _dim + h * hd, hd);
                    float s = 0f;
                    for (int d = 0; d < hd; d++) s = Fma(q[d], key[d], s);
                    s *= _scale;
                    p[j - tile] = s;
                    if (s > tileMax) tileMax = s;
                }

                float newMax = Math.Max(max, tileMax);
                if (newMax > max)
                {
                    float ms = MathF.Exp(max - newMax);
                    for (int d = 0; d < hd; d++) acc[d] *= ms;
                    sum *= ms;
                }
                max = newMax;

                // ggml_vec_soft_max_f32 over the tile: masked keys give exactly 0; each group of 8 is summed in float
                // (lanes folded 8 → 4 → 2 → 1), the groups in double.
                double tileSum = 0;
                for (int g = tile; g < tile + KeyTile; g += 8)
                {
                    if (g + 8 <= from || g >= to) continue;
                    for (int l = 0; l < 8; l++)
                    {
                        int j = g + l;
                        e[l] = j >= from && j < to ? VectorExp(p[j - tile] - max) : 0f;
                        if (j >= from && j < to) p[j - tile] = e[l];
                    }
                    float w0 = e[4] + e[0], w1 = e[5] + e[1], w2 = e[6] + e[2], w3 = e[7] + e[3];
                    tileSum += (w0 + w2) + (w1 + w3);
                }
                sum = (float)(sum + tileSum);

                // simd_gemm: each output lane is one FMA chain over the tile's keys in order.
                for (int j = from; j < to; j++)
                {
                    var value = new ReadOnlySpan<float>(_v, j * _dim + h * hd, hd);
                    float pj = p[j - tile];
                    for (int d = 0; d < hd; d++) acc[d] = Fma(value[d], pj, acc[d]);
                }
            }

            float inverse = sum == 0f ? 0f : 1.0f / sum;
            for (int d = 0; d < hd; d++) output[d] = acc[d] * inverse;
        }

        /// <summary><c>ggml_compute_forward_flash_attn_ext_f16_one_chunk</c> for one query row (keys and values in half precision).</summary>
        private void OneRow(int t, int h, Span<float> output, float[] scratch)
        {
            int hd = _headDim;
            int first = _sequenceStart[t], end = first + _sequenceLength[t];
            var q = scratch.AsSpan(0, hd);
            var acc = scratch.AsSpan(hd, hd); // values of half precision, kept widened
            for (int d = 0; d < hd; d++) q[d] = RoundHalf(_q[t * _dim + h * hd + d]);
            acc.Clear();
            float max = float.NegativeInfinity, sum = 0f;

            for (int j = first; j < end; j++)
            {
                float s = HalfDot(q, new ReadOnlySpan<float>(_k, j * _dim + h * hd, hd)) * _scale;
                float ms = 1f, vs = 1f;
                if (s > max)
                {
                    float old = max;
                    max = s;
                    ms = MathF.Exp(old - max);
                    for (int d = 0; d < hd; d++) acc[d] = RoundHalf(acc[d] * ms); // ggml_vec_scale_f16
                }
                else
                {
                    vs = MathF.Exp(s - max);
                }
                var value = new ReadOnlySpan<float>(_v, j * _dim + h * hd, hd);
                for (int d = 0; d < hd; d++) acc[d] = RoundHalf(Fma(value[d], vs, acc[d])); // ggml_vec_mad_f16
                sum = sum * ms + vs;
            }

            float inverse = sum == 0f ? 0f : 1.0f / sum;
            for (int d = 0; d < hd; d++) output[d] = acc[d] * inverse;
        }

        /// <summary>
        /// <c>ggml_vec_dot_f16</c> (AVX2/F16C): products of each 32 elements in 4 × 8 lanes, the 4 vectors added pairwise
        /// (0+2, 1+3, then together), the 8 lanes folded (low + high half, then two horizontal adds); a tail of fewer
        /// than 32 added in double.
        /// </summary>
        private static float HalfDot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
        {
            int n = x.Length, simd = n & ~31;
            double sum = 0;
            if (simd > 0)
            {
                Span<float> lanes = stackalloc float[32];
                lanes.Clear();
                for (int i = 0; i < simd; i += 32)
                    for (int l = 0; l < 32; l++) lanes[l] = Fma(x[i + l], y[i + l], lanes[l]);
                Span<float> v = stackalloc float[8];
                for (int l = 0; l < 8; l++) v[l] = (lanes[l] + lanes[16 + l]) + (lanes[8 + l] + lanes[24 + l]);
                float t0 = v[0] + v[4], t1 = v[1] + v[5], t2 = v[2] + v[6], t3 = v[3] + v[7];
                sum = (t0 + t1) + (t2 + t3);
            }
            for (int i = simd; i < n; i++) sum += x[i] * y[i];
            return (float)sum;
        }

        /// <summary>
        /// ggml's <c>ggml_v_expf</c> (AVX2 + FMA) for one lane: Arm's optimized-routines exp, up to 1.5 ulp from e^x,
        /// 0 below −103.97 (and for −∞), +∞ above 88.38.
        /// </summary>
        internal static float VectorExp(float x)
        {
            // The constants are ggml's hex-float literals, written as the decimal that parses to the same float.
            const float shift = 12582912f;             // 0x1.8p23
            const float invLn2 = 1.44269502f;          // 0x1.715476p+0
            const float ln2Hi = 0.693145752f;          // 0x1.62e4p-1
            const float ln2Lo = 1.42860677e-06f;       // 0x1.7f7d1cp-20
            const float c0 = 0.999999404f;             // 0x1.ffffecp-1
            const float c1 = 0.499991268f;             // 0x1.fffdb6p-2
            const float c2 = 0.166683957f;             // 0x1.555e66p-3
            const float c3 = 0.0418997668f;            // 0x1.573e2ep-5
            const float c4 = 0.00824739039f;           // 0x1.0e4020p-7

            float z = Fma(x, invLn2, shift);
            float n = z - shift;
            float b = Fma(-n, ln2Lo, Fma(-n, ln2Hi, x));
            uint e = (uint)BitConverter.SingleToInt32Bits(z) << 23;
            float k = BitConverter.Int32BitsToSingle((int)(e + 0x3F800000u));
            float u = b * b;
            float j = Fma(Fma(Fma(c4, b, c3), u, Fma(c2, b, c1)), u, c0 * b);
            if (!(Math.Abs(n) > 126)) return Fma(j, k, k);
            uint g = n <= 0 ? 0x82000000u : 0u;
            float s1 = BitConverter.Int32BitsToSingle((int)(g + 0x7F000000u));
            float s2 = BitConverter.Int32BitsToSingle((int)(e - g));
            if (Math.Abs(n) > 192) return s1 * s1;
            return Fma(s2, j, s2) * s1;
        }

        private static float Fma(float a, float b, float c) => ScalarFma.Compute(a, b, c);

        private static float RoundHalf(float x) => Half16.ToFloat(Half16.FromFloat(x));

        private static void RoundToHalf(float[] x, int count)
        {
            for (int i = 0; i < count; i++) x[i] = RoundHalf(x[i]);
        }
    }
}
