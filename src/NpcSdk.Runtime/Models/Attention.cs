using System;
using System.Runtime.InteropServices;
using NpcSdk.Compute;
using NpcSdk.Tensors;
#if NET
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace NpcSdk.Models
{
    /// <summary>Causal attention for (token, head) items: softmax(q·K/√d) · V over positions 0..pos of the KV cache.</summary>
    /// <remarks>
    /// Computed as llama.cpp's CPU graph does without flash attention, so the values match bit for bit:
    /// <list type="bullet">
    /// <item>K·q is a ggml mul_mat of the cache rows with the query: <c>ggml_vec_dot</c> of the cache type (the permuted
    /// query is not contiguous, so llamafile's sgemm is skipped), except that an F16 cache in a batch goes through
    /// tinyBLAS once the query is converted to F16.</item>
    /// <item>The softmax row spans the padded KV length n_kv (llama.cpp pads it, and the context, to a multiple of 256),
    /// masked entries are -inf; see <see cref="VectorOps.Softmax"/>.</item>
    /// <item>P·V multiplies the transposed V cache (rows over positions) with the probabilities: tinyBLAS for a batch of
    /// at least two tokens (one 8-lane accumulator per output, lane = position mod 8, then <c>hsum</c>), ggml_vec_dot
    /// for a single token (four 8-lane accumulators, lane = position mod 32, then <c>GGML_F32x8_REDUCE</c>). Both are
    /// reproduced by accumulating whole value rows into 8 or 32 partial sums chosen by the position.</item>
    /// <item>A Q8_0 cache (which llama.cpp only allows with flash attention) takes the same path with the query
    /// quantized to Q8_0 and the values dequantized.</item>
    /// </list>
    /// Every output element is computed by one item with a fixed sequence of operations, so results do not depend on
    /// how items are spread over threads.
    /// <para>
    /// On the netstandard builds (Mono, IL2CPP), whose loops here are scalar, the native backend's F32 and F16 caches go
    /// to the plugin's <c>npc_attention</c> instead: not bit-exact with llama.cpp, like the native matrix products.
    /// </para>
    /// </remarks>
    internal sealed class Attention : IRangeWork
    {
        [ThreadStatic] private static float[]? t_scores;
        [ThreadStatic] private static float[]? t_partials;
        [ThreadStatic] private static float[]? t_row;
        [ThreadStatic] private static float[]? t_queryWide;
        [ThreadStatic] private static byte[]? t_query;
#if !NET
        [ThreadStatic] private static byte[]? t_keys;
        [ThreadStatic] private static byte[]? t_values;
#endif

        private readonly ModelConfig _c;
        private readonly float _scale;
        private KvCache _cache = null!;
        private int _layer, _startPos, _batch;
        private bool _batched, _native;
        private float[] _q = null!, _out = null!;

        public Attention(ModelConfig c)
        {
            _c = c;
            _scale = 1.0f / MathF.Sqrt(c.HeadDim);
        }

        /// <summary>
        /// Prepares a run over the <paramref name="batch"/> tokens starting at <paramref name="startPos"/>, already stored
        /// in the cache; <paramref name="batched"/>: with the arithmetic of a ubatch of two or more tokens;
        /// <paramref name="native"/>: the model runs the native kernels.
        /// </summary>
        public void Set(KvCache cache, int layer, float[] q, float[] output, int startPos, int batch, bool batched, bool native)
        {
            _cache = cache; _layer = layer; _q = q; _out = output; _startPos = startPos; _batch = batch; _batched = batched; _native = native;
        }

        public void Execute(int start, int end)
        {
#if !NET
            if (_native && (_cache.ElementType == TensorType.F32 || _cache.ElementType == TensorType.F16))
            {
                ExecuteNative(start, end);
                return;
            }
#endif
            int hd = _c.HeadDim;
            int group = _c.HeadCount / _c.KvHeadCount;
            TensorType kvType = _cache.ElementType;
            TensorType queryType = TensorTypeInfo.VecDotType(kvType);
            bool batched = _batched;
            bool float16 = kvType == TensorType.F16;
            // llamafile's tinyBLAS takes over a batched mul_mat when the reduction length is a multiple of 8 and the
            // row count a multiple of 4 (F32 and F16 only); n_kv, a multiple of 256, always qualifies.
            bool gemmQk = batched && float16 && hd % 8 == 0;
            bool gemmPv = batched && (float16 || kvType == TensorType.F32) && hd % 4 == 0;
            int classes = gemmPv ? 8 : 32;

            var partials = Scratch(ref t_partials, 32 * hd);
            var row = Scratch(ref t_row, hd);
            var queryWide = Scratch(ref t_queryWide, hd);
            var queryBytes = ScratchBytes(ref t_query, (int)TensorTypeInfo.RowBytes(queryType, hd));
            for (int item = start; item < end; item++)
            {
                int t = item / _c.HeadCount, h = item % _c.HeadCount;
                int len = _startPos + t + 1;
                int kvOffset = h / group * hd;
                var q = _q.AsSpan(t * _c.QueryDim + h * hd, hd);
                ReadOnlySpan<byte> qBytes;
                if (queryType == TensorType.F32)
                {
                    qBytes = MemoryMarshal.AsBytes(q);
                }
                else
                {
                    Quantizer.QuantizeRow(queryType, q, queryBytes);
                    qBytes = queryBytes;
                    // tinyBLAS multiplies F16 with F16; widening the rounded query back to float is exact.
                    if (gemmQk) Dequantizer.DequantizeRow(TensorType.F16, qBytes, queryWide.AsSpan(0, hd));
                }

                // Scores: the softmax row is n_kv long; entries past this token are -inf and only matter up to the
                // 8-wide group they share with visible ones (whole masked groups add exact zeros).
                int rowLength = RoundUp(len, 8);
                var scores = Scratch(ref t_scores, rowLength).AsSpan(0, rowLength);
                for (int j = 0; j < len; j++)
                {
                    var key = _cache.KeyBytes(_layer, j, kvOffset, hd);
                    float dot = gemmQk ? FloatGemm.Dot(TensorType.F16, key, queryWide, hd) : VecDot.Dot(kvType, key, qBytes, hd);
                    scores[j] = dot * _scale;
                }

                scores.Slice(len).Fill(float.NegativeInfinity);
                VectorOps.Softmax(scores);

                // P·V: value row j goes into partial sum (j mod classes). n_kv is a multiple of 32, so ggml_vec_dot has
                // no scalar leftovers; masked positions only add zeros.
                partials.AsSpan(0, classes * hd).Clear();
                for (int j = 0; j < len; j++)
                {
                    float p = float16 ? Half16.ToFloat(Half16.FromFloat(scores[j])) : scores[j];
                    MultiplyAddRow(partials.AsSpan((j % classes) * hd, hd), ValueRow(j, kvOffset, hd, kvType, row), p);
                }

                var o = _out.AsSpan(t * _c.QueryDim + h * hd, hd);
                if (gemmPv) ReduceEightClasses(partials, hd, o);
                else ReduceThirtyTwoClasses(partials, hd, o);
            }
        }

#if !NET
        /// <summary>The items through the plugin: each KV head's rows are gathered from the cache blocks into one strided run.</summary>
        private void ExecuteNative(int start, int end)
        {
            int hd = _c.HeadDim;
            int group = _c.HeadCount / _c.KvHeadCount;
            int rowBytes = (int)TensorTypeInfo.RowBytes(_cache.ElementType, hd);
            int maxLength = _startPos + _batch;
            var keys = ScratchBytes(ref t_keys, maxLength * rowBytes);
            var values = ScratchBytes(ref t_values, maxLength * rowBytes);
            var scores = Scratch(ref t_scores, maxLength);
            int gatheredOffset = -1, gathered = 0;
            for (int item = start; item < end; item++)
            {
                int t = item / _c.HeadCount, h = item % _c.HeadCount;
                int len = _startPos + t + 1;
                int kvOffset = h / group * hd;
                if (kvOffset != gatheredOffset) gathered = 0;
                for (; gathered < len; gathered++)
                {
                    _cache.KeyBytes(_layer, gathered, kvOffset, hd).CopyTo(keys.AsSpan(gathered * rowBytes, rowBytes));
                    _cache.ValueBytes(_layer, gathered, kvOffset, hd).CopyTo(values.AsSpan(gathered * rowBytes, rowBytes));
                }

                gatheredOffset = kvOffset;
                NpcSdk.Native.NativeKernels.Attention(_q.AsSpan(t * _c.QueryDim + h * hd, hd), _cache.ElementType, keys, values, rowBytes,
                    len, _scale, scores, _out.AsSpan(t * _c.QueryDim + h * hd, hd));
            }
        }
#endif

        private ReadOnlySpan<float> ValueRow(int pos, int offset, int hd, TensorType type, float[] scratch)
        {
            var bytes = _cache.ValueBytes(_layer, pos, offset, hd);
            if (type == TensorType.F32) return MemoryMarshal.Cast<byte, float>(bytes);
            Dequantizer.DequantizeRow(type, bytes, scratch.AsSpan(0, hd));
            return scratch.AsSpan(0, hd);
        }

        /// <summary>acc = fma(v, p, acc) element-wise (the FMA of ggml's vector loops).</summary>
        private static unsafe void MultiplyAddRow(Span<float> acc, ReadOnlySpan<float> v, float p)
        {
            int n = acc.Length, i = 0;
#if NET
            if (Fma.IsSupported)
            {
                fixed (float* a = acc)
                fixed (float* x = v)
                {
                    Vector256<float> vp = Vector256.Create(p);
                    for (; i + 8 <= n; i += 8) Avx.Store(a + i, Fma.MultiplyAdd(Avx.LoadVector256(x + i), vp, Avx.LoadVector256(a + i)));
                }
            }
#endif
            for (; i < n; i++) acc[i] = GgmlMath.FusedMultiplyAdd(v[i], p, acc[i]);
        }

        /// <summary>tinyBLAS' <c>hsum</c> of the 8 lane partials of each output element.</summary>
        private static void ReduceEightClasses(float[] partials, int hd, Span<float> o)
        {
            for (int d = 0; d < hd; d++)
            {
                o[d] = GgmlMath.Hsum8(partials[d], partials[hd + d], partials[2 * hd + d], partials[3 * hd + d],
                    partials[4 * hd + d], partials[5 * hd + d], partials[6 * hd + d], partials[7 * hd + d]);
            }
        }

        /// <summary><c>GGML_F32x8_REDUCE</c> of the 32 lane partials (accumulator a, lane l = class 8a + l) of each output element.</summary>
        private static void ReduceThirtyTwoClasses(float[] partials, int hd, Span<float> o)
        {
            Span<float> lanes = stackalloc float[32];
            for (int d = 0; d < hd; d++)
            {
                for (int c = 0; c < 32; c++) lanes[c] = partials[c * hd + d];
                o[d] = GgmlMath.Reduce4x8(lanes);
            }
        }

        private static int RoundUp(int x, int m) => (x + m - 1) / m * m;

        private static float[] Scratch(ref float[]? buffer, int n)
        {
            if (buffer == null || buffer.Length < n) buffer = new float[Math.Max(n, 1024)];
            return buffer;
        }

        private static byte[] ScratchBytes(ref byte[]? buffer, int n)
        {
            if (buffer == null || buffer.Length < n) buffer = new byte[Math.Max(n, 1024)];
            return buffer;
        }
    }
}
