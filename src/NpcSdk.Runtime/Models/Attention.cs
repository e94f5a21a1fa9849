using System;
using System.Runtime.InteropServices;
using System.Runtime.CompilerServices;
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
    /// <para>F32 and F16 caches are read a block of positions at a time (<see cref="KvCache.Rows"/>). With AVX2 an F16
    /// cache is widened to float (an F32 one copied) once per position, kv head and run on each thread
    /// (<see cref="Widened"/>) and then read by every query head and token of the run; widening is exact, so the
    /// arithmetic is unchanged. A token's query heads that share a kv head go together
    /// (<c>ExecuteGroup</c>, .NET builds), each key and value read once for all of them.</para>
    /// <para>
    /// On the netstandard builds (Mono, IL2CPP), whose loops here are scalar, the native backend's F32 and F16 caches go
    /// to the plugin's <c>npc_attention</c> instead: not bit-exact with llama.cpp, like the native matrix products.
    /// </para>
    /// </remarks>
    internal sealed unsafe class Attention : IRangeWork
    {
        /// <summary>One thread's float copies of the keys and values of each kv head, valid for one run (<see cref="Set"/>).</summary>
        private sealed class Widened
        {
            public Attention? Owner;
            public long Run;
            public float[][] Keys = Array.Empty<float[]>(), Values = Array.Empty<float[]>();
            public int[] KeysFilled = Array.Empty<int>(), ValuesFilled = Array.Empty<int>();
        }

        [ThreadStatic] private static Widened? t_widened;
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
        private int _layer, _startPos, _batch, _row0;
        private bool _batched, _native;
        private long _run;
        private float[] _q = null!, _out = null!;

        public Attention(ModelConfig c)
        {
            _c = c;
            _scale = 1.0f / MathF.Sqrt(c.HeadDim);
        }

        /// <summary>
        /// Prepares a run over the <paramref name="batch"/> tokens starting at <paramref name="startPos"/>, already stored
        /// in the cache; <paramref name="batched"/>: with the arithmetic of a ubatch of two or more tokens;
        /// <paramref name="native"/>: the model runs the native kernels. The tokens' queries and outputs are rows
        /// <paramref name="firstRow"/>, firstRow + 1, ... of <paramref name="q"/> and <paramref name="output"/>.
        /// </summary>
        public void Set(KvCache cache, int layer, float[] q, float[] output, int startPos, int batch, bool batched, bool native, int firstRow = 0)
        {
            _cache = cache; _layer = layer; _q = q; _out = output; _startPos = startPos; _batch = batch; _batched = batched; _native = native; _row0 = firstRow;
            _run++;
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
#if NET
            // F32 caches are copied the same way, each kv head's rows then contiguous for the same kernels; only for
            // whole 32-element steps, where ggml_vec_dot_f32 and ggml_vec_dot_f16 add alike (their leftovers do not).
            var wide = (float16 || (kvType == TensorType.F32 && hd % 32 == 0)) && VecDotAvx2.IsSupported ? WidenedForThisRun() : null;
            // A Q8_0 cache's values are dequantized once per position and kv head too (its keys are dotted as stored).
            var wideValues = wide ?? (kvType == TensorType.Q8_0 && hd % 8 == 0 && Fma.IsSupported ? WidenedForThisRun() : null);
#else
            Widened? wide = null, wideValues = null;
#endif
            int classes = gemmPv ? 8 : 32;

            var partials = Scratch(ref t_partials, 32 * hd);
            var row = Scratch(ref t_row, hd);
            var queryWide = Scratch(ref t_queryWide, hd);
            var queryBytes = ScratchBytes(ref t_query, (int)TensorTypeInfo.RowBytes(queryType, hd));
#if NET
            // A token's query heads that share a kv head (grouped-query attention) go together, reading each widened
            // key and value once for all of them instead of once per head.
            bool grouped = wideValues != null && group > 1 && hd % 32 == 0;
#endif
            for (int item = start; item < end; item++)
            {
                int t = item / _c.HeadCount, h = item % _c.HeadCount;
#if NET
                if (grouped)
                {
                    int heads = Math.Min(Math.Min(group - h % group, MaxGroupHeads), end - item);
                    if (heads > 1)
                    {
                        ExecuteGroup(wideValues!, t, h, heads, gemmQk, classes);
                        item += heads - 1;
                        continue;
                    }
                }
#endif
                int len = _startPos + t + 1;
                int kvHead = h / group, kvOffset = kvHead * hd;
                var q = _q.AsSpan((_row0 + t) * _c.QueryDim + h * hd, hd);
                ReadOnlySpan<byte> qBytes;
                if (queryType == TensorType.F32)
                {
                    qBytes = MemoryMarshal.AsBytes(q);
                    if (wide != null) q.CopyTo(queryWide);
                }
                else
                {
                    Quantizer.QuantizeRow(queryType, q, queryBytes);
                    qBytes = queryBytes;
                    // tinyBLAS and ggml_vec_dot_f16 multiply F16 with F16; widening the rounded query back is exact, and
                    // done once here instead of at every position.
                    if (float16) Dequantizer.DequantizeRow(TensorType.F16, qBytes, queryWide.AsSpan(0, hd));
                }

                // Scores: the softmax row is n_kv long; entries past this token are -inf and only matter up to the
                // 8-wide group they share with visible ones (whole masked groups add exact zeros).
                int rowLength = RoundUp(len, 8);
                var scores = Scratch(ref t_scores, rowLength).AsSpan(0, rowLength);
                int offsetBytes = (int)TensorTypeInfo.RowBytes(kvType, kvOffset);
                if (wide != null)
                {
                    fixed (float* keys = Fill(wide.Keys, wide.KeysFilled, kvHead, len, keys: true))
                    fixed (float* qw = queryWide)
                    fixed (float* sc = scores)
                    {
                        // tinyBLAS or ggml_vec_dot_f16 on the widened keys (the values they widen them to), several
                        // positions at once so their independent FMA chains overlap.
                        if (gemmQk) WidenedTinyBlasDots(keys, qw, hd, len, _scale, sc);
                        else WidenedF16Dots(keys, qw, hd, len, _scale, sc);
                    }
                }
                else
                {
                    fixed (byte* qb = qBytes)
                    fixed (float* qw = queryWide)
                    fixed (float* sc = scores)
                        CachedKeyScores(qb, qw, gemmQk, offsetBytes, len, sc);
                }

                scores.Slice(len).Fill(float.NegativeInfinity);
                VectorOps.Softmax(scores);

                // P·V: value row j goes into partial sum (j mod classes). n_kv is a multiple of 32, so ggml_vec_dot has
                // no scalar leftovers; masked positions only add zeros.
                if (wideValues == null || hd % 8 != 0) partials.AsSpan(0, classes * hd).Clear();
                if (wideValues != null)
                {
                    fixed (float* acc = partials)
                    fixed (float* p = scores)
                    fixed (float* values = Fill(wideValues.Values, wideValues.ValuesFilled, kvHead, len, keys: false))
                    {
                        // ggml multiplies F16 values with probabilities rounded to F16: round the row once, vectorised.
#if NET
                        if (float16) RoundToHalf(p, len);
                        if (hd % 8 == 0)
                        {
                            AccumulateValues(acc, values, p, len, hd, classes);
                        }
                        else
#endif
                        {
                            for (int j = 0; j < len; j++)
                                MultiplyAddRow(acc + j % classes * hd, (byte*)(values + j * hd), false, p[j], hd);
                        }
                    }
                }
                else if (float16 || kvType == TensorType.F32)
                {
                    fixed (float* acc = partials)
                    {
                        for (int j = 0; j < len;)
                        {
                            var rows = _cache.Rows(_layer, j, keys: false, out int count);
                            count = Math.Min(count, len - j);
                            fixed (byte* first = rows)
                            {
                                byte* v = first + offsetBytes;
                                for (int c = 0; c < count; c++, v += _cache.RowBytes)
                                {
                                    int pos = j + c;
                                    float p = float16 ? Half16.ToFloat(Half16.FromFloat(scores[pos])) : scores[pos];
                                    MultiplyAddRow(acc + pos % classes * hd, v, float16, p, hd);
                                }
                            }
                            j += count;
                        }
                    }
                }
                else
                {
                    for (int j = 0; j < len; j++)
                        MultiplyAddRow(partials.AsSpan((j % classes) * hd, hd), ValueRow(j, kvOffset, hd, kvType, row), scores[j]);
                }

                var o = _out.AsSpan((_row0 + t) * _c.QueryDim + h * hd, hd);
#if NET
                if (hd % 8 == 0 && Avx.IsSupported)
                {
                    fixed (float* acc = partials)
                    fixed (float* dst = o)
                    {
                        if (gemmPv) ReduceEightClasses(acc, hd, dst);
                        else ReduceThirtyTwoClasses(acc, hd, dst);
                    }
                    continue;
                }
#endif
                if (gemmPv) ReduceEightClasses(partials, hd, o);
                else ReduceThirtyTwoClasses(partials, hd, o);
            }
        }

        /// <summary>
        /// scores[j] = scale · (key j · query) for positions [0, <paramref name="len"/>), read from the cache as stored:
        /// ggml_vec_dot of the cache type with the quantized query <paramref name="qb"/> (a Q8_0 cache four keys at a
        /// time), or tinyBLAS' dot with the widened F16 query <paramref name="qw"/> when <paramref name="gemmQk"/>.
        /// </summary>
        private void CachedKeyScores(byte* qb, float* qw, bool gemmQk, int offsetBytes, int len, float* sc)
        {
            int hd = _c.HeadDim;
            TensorType kvType = _cache.ElementType;
            for (int j = 0; j < len;)
            {
                var rows = _cache.Rows(_layer, j, keys: true, out int count);
                count = Math.Min(count, len - j);
                fixed (byte* first = rows)
                {
                    byte* k = first + offsetBytes;
                    int c = 0;
#if NET
                    if (kvType == TensorType.Q8_0 && VecDotAvx2.IsSupported)
                    {
                        // Four cached keys at a time against the quantized query: ggml_vec_dot_q8_0_q8_0 for each.
                        for (; c + 4 <= count; c += 4, k += 4 * _cache.RowBytes)
                        {
                            VecDotAvx2.Q8_0x4(k, _cache.RowBytes, qb, hd / 32, sc + j + c);
                            for (int i = 0; i < 4; i++) sc[j + c + i] *= _scale;
                        }
                    }
#endif
                    for (; c < count; c++, k += _cache.RowBytes)
                    {
                        float dot = gemmQk ? FloatGemm.Dot(TensorType.F16, k, qw, hd) : VecDot.Dot(MatMulKernel.VecDot, kvType, k, qb, hd);
                        sc[j + c] = dot * _scale;
                    }
                }
                j += count;
            }
        }

#if NET
        /// <summary>Query heads <see cref="ExecuteGroup"/> takes at once: three keep their accumulators in 16 registers.</summary>
        private const int MaxGroupHeads = 3;

        [ThreadStatic] private static float[]? t_groupScores;
        [ThreadStatic] private static nint[]? t_keyRows, t_valueRows;
        [ThreadStatic] private static float[]? t_tailKeys;

        /// <summary>
        /// The address of kv head <paramref name="kvHead"/>'s key (or value) at every position [0, <paramref name="len"/>)
        /// of this layer, as stored (F16 or Q8_0). Cache blocks are pinned (see KvBlockPool.Allocate), so the addresses
        /// stay valid for the step.
        /// </summary>
        private nint[] RowTable(ref nint[]? buffer, int kvHead, int len, bool keys)
        {
            if (buffer == null || buffer.Length < len) buffer = new nint[Math.Max(len, Math.Min(_c.ContextLength, Math.Max(2 * len, 64)))];
            int offset = (int)TensorTypeInfo.RowBytes(_cache.ElementType, kvHead * _c.HeadDim);
            for (int j = 0; j < len;)
            {
                var rows = _cache.Rows(_layer, j, keys, out int count);
                count = Math.Min(count, len - j);
                fixed (byte* first = rows)
                    for (int c = 0; c < count; c++) buffer[j + c] = (nint)(first + c * _cache.RowBytes + offset);
                j += count;
            }
            return buffer;
        }

        /// <summary>Where a group kernel reads element <c>i</c> of cached position <c>j</c> (of one kv head), eight at a time.</summary>
        private interface IHeadRows
        {
            Vector256<float> Load(int j, int i);
        }

        /// <summary>Widened rows, <c>n</c> floats apart.</summary>
        private readonly struct FloatRows : IHeadRows
        {
            private readonly float* _rows;
            private readonly int _n;

            public FloatRows(float* rows, int n)
            {
                _rows = rows;
                _n = n;
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public Vector256<float> Load(int j, int i) => Avx.LoadVector256(_rows + (long)j * _n + i);
        }

        /// <summary>F16 rows of a cache known to hold only finite values, widened as they are read (the same floats).</summary>
        private readonly struct HalfRows : IHeadRows
        {
            private readonly ushort** _rows;

            public HalfRows(ushort** rows) => _rows = rows;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public Vector256<float> Load(int j, int i) => VecDotAvx2.HalfToSingleFinite(Sse2.LoadVector128(_rows[j] + i));
        }

        /// <summary>Q8_0 rows (34-byte blocks of 32), dequantized as they are read: q · d, as <see cref="Dequantizer"/> computes it.</summary>
        private readonly struct Q8Rows : IHeadRows
        {
            private readonly byte** _rows;

            public Q8Rows(byte** rows) => _rows = rows;

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public Vector256<float> Load(int j, int i)
            {
                byte* block = _rows[j] + i / 32 * 34;
                Vector256<int> q = Avx2.ConvertToVector256Int32((sbyte*)block + 2 + i % 32);
                return Avx.ConvertToVector256Single(q) * Vector256.Create(Half16.TablePointer[*(ushort*)block]);
            }
        }

        /// <summary>
        /// The <paramref name="heads"/> query heads from <paramref name="h0"/> of token <paramref name="t"/> (one kv head):
        /// per head the same operations as the item loop of <see cref="Execute"/> (scores as ggml_vec_dot or, with
        /// <paramref name="gemmQk"/>, tinyBLAS; softmax; F16 probabilities for an F16 cache; P·V in
        /// <paramref name="classes"/> classes), with the widened keys (F16, F32) and values (any of the three cache
        /// types) read once for the group. A Q8_0 cache's keys are dotted per head as stored.
        /// </summary>
        private void ExecuteGroup(Widened wide, int t, int h0, int heads, bool gemmQk, int classes)
        {
            int hd = _c.HeadDim;
            int kvHead = h0 / (_c.HeadCount / _c.KvHeadCount);
            int len = _startPos + t + 1;
            int rowLength = RoundUp(len, 8);
            TensorType kvType = _cache.ElementType;
            bool float16 = kvType == TensorType.F16;
            // One token's group widens each F16 key and value in registers as the kernels read it: nothing else would
            // read the widened copy (a batch's tokens share it, so a batch fills it). Finite caches only.
            bool fused = float16 && !gemmQk && _cache.FiniteHalves;
            // A Q8_0 cache's values likewise, dequantized in registers, when a single token reads them.
            bool fusedValues = fused || (kvType == TensorType.Q8_0 && _batch == 1);
            var scores = Scratch(ref t_groupScores, heads * rowLength);
            var partials = Scratch(ref t_partials, heads * classes * hd);
            var queries = Scratch(ref t_queryWide, heads * hd);
            var queryBytes = ScratchBytes(ref t_query, (int)TensorTypeInfo.RowBytes(TensorTypeInfo.VecDotType(kvType), hd));
            fixed (float* qw = queries)
            fixed (float* sc = scores)
            {
                if (kvType == TensorType.Q8_0)
                {
                    // The keys are dotted as stored, against each head's query quantized to Q8_0.
                    int offsetBytes = (int)TensorTypeInfo.RowBytes(kvType, kvHead * hd);
                    for (int g = 0; g < heads; g++)
                    {
                        Quantizer.QuantizeRow(TensorType.Q8_0, _q.AsSpan((_row0 + t) * _c.QueryDim + (h0 + g) * hd, hd), queryBytes);
                        fixed (byte* qb = queryBytes) CachedKeyScores(qb, null, false, offsetBytes, len, sc + g * rowLength);
                    }
                }
                else
                {
                    for (int g = 0; g < heads; g++)
                    {
                        var q = _q.AsSpan((_row0 + t) * _c.QueryDim + (h0 + g) * hd, hd);
                        if (!float16)
                        {
                            q.CopyTo(queries.AsSpan(g * hd, hd));
                            continue;
                        }
                        Quantizer.QuantizeRow(TensorType.F16, q, queryBytes);
                        Dequantizer.DequantizeRow(TensorType.F16, queryBytes.AsSpan(0, 2 * hd), queries.AsSpan(g * hd, hd));
                    }
                    if (fused)
                    {
                        fixed (nint* keyRows = RowTable(ref t_keyRows, kvHead, len, keys: true))
                        {
                            int j = WidenedF16DotsGroup(new HalfRows((ushort**)keyRows), qw, heads, hd, len, _scale, sc, rowLength);
                            // Each head's last keys (fewer than eight), widened here as Fill would, one head at a time.
                            fixed (float* tail = Scratch(ref t_tailKeys, 8 * hd))
                            {
                                for (int r = j; r < len; r++) WidenRows((ushort*)keyRows[r], 0, tail + (r - j) * hd, 1, hd, finite: true);
                                for (int g = 0; g < heads; g++) WidenedF16Dots(tail, qw + g * hd, hd, len - j, _scale, sc + g * rowLength + j);
                            }
                        }
                    }
                    else fixed (float* keys = Fill(wide.Keys, wide.KeysFilled, kvHead, len, keys: true))
                    {
                        if (gemmQk)
                        {
                            // tinyBLAS over the widened keys as weight rows and the queries as activations (tiles of four
                            // keys by three heads), then scaled.
                            FloatGemm.Compute(TensorType.F32, new ReadOnlySpan<byte>(keys, len * hd * sizeof(float)), len, hd,
                                new ReadOnlySpan<float>(qw, heads * hd), hd, heads, new Span<float>(sc, heads * rowLength), rowLength);
                            for (int g = 0; g < heads; g++)
                            {
                                var row = new Span<float>(sc + g * rowLength, len);
                                System.Numerics.Tensors.TensorPrimitives.Multiply(row, _scale, row);
                            }
                        }
                        else
                        {
                            // Whole eight-key steps for the group; each head's last keys (fewer than eight) one head at a time.
                            int j = WidenedF16DotsGroup(new FloatRows(keys, hd), qw, heads, hd, len, _scale, sc, rowLength);
                            for (int g = 0; g < heads; g++) WidenedF16Dots(keys + j * hd, qw + g * hd, hd, len - j, _scale, sc + g * rowLength + j);
                        }
                    }
                }
                for (int g = 0; g < heads; g++)
                {
                    float* row = sc + g * rowLength;
                    var span = new Span<float>(row, rowLength);
                    span.Slice(len).Fill(float.NegativeInfinity);
                    VectorOps.Softmax(span);
                    if (float16) RoundToHalf(row, len);
                }
            }
            fixed (float* acc = partials)
            fixed (float* p = scores)
            fixed (float* values = fusedValues ? null : Fill(wide.Values, wide.ValuesFilled, kvHead, len, keys: false))
            fixed (nint* valueRows = fusedValues ? RowTable(ref t_valueRows, kvHead, len, keys: false) : null)
            {
                if (fused) AccumulateValuesGroup(acc, new HalfRows((ushort**)valueRows), p, rowLength, heads, len, hd, classes);
                else if (fusedValues) AccumulateValuesGroup(acc, new Q8Rows((byte**)valueRows), p, rowLength, heads, len, hd, classes);
                else AccumulateValuesGroup(acc, new FloatRows(values, hd), p, rowLength, heads, len, hd, classes);
                for (int g = 0; g < heads; g++)
                {
                    fixed (float* dst = &_out[(_row0 + t) * _c.QueryDim + (h0 + g) * hd])
                    {
                        if (classes == 8) ReduceEightClasses(acc + g * classes * hd, hd, dst);
                        else ReduceThirtyTwoClasses(acc + g * classes * hd, hd, dst);
                    }
                }
            }
        }

        /// <summary>
        /// scores[g·stride + j] = scale · ggml_vec_dot_f16(key j, query g) for 2 or 3 queries (<paramref name="n"/> apart)
        /// and the widened keys, eight keys at a time with <see cref="GgmlMath.ReduceLanes8"/> (as
        /// <see cref="WidenedF16Dots"/> per query): each key's four accumulators per query, added as ggml adds them.
        /// Returns the keys done (a multiple of 8); the rest are left to the caller.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static int WidenedF16DotsGroup<TRows>(TRows keys, float* queries, int heads, int n, int count, float scale, float* scores, int stride)
            where TRows : struct, IHeadRows
        {
            Vector256<float>* sums = stackalloc Vector256<float>[MaxGroupHeads * 8];
            Vector256<float> vs = Vector256.Create(scale);
            float* q0 = queries, q1 = queries + n, q2 = heads > 2 ? queries + 2 * n : q1;
            int j = 0;
            for (; j + 8 <= count; j += 8)
            {
                for (int k = 0; k < 8; k++)
                {
                    int key = j + k;
                    Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
                    for (int i = 0; i < n; i += 32)
                    {
                        Vector256<float> x0 = keys.Load(key, i), x1 = keys.Load(key, i + 8);
                        Vector256<float> x2 = keys.Load(key, i + 16), x3 = keys.Load(key, i + 24);
                        a0 = Fma.MultiplyAdd(x0, Avx.LoadVector256(q0 + i), a0); a1 = Fma.MultiplyAdd(x1, Avx.LoadVector256(q0 + i + 8), a1);
                        a2 = Fma.MultiplyAdd(x2, Avx.LoadVector256(q0 + i + 16), a2); a3 = Fma.MultiplyAdd(x3, Avx.LoadVector256(q0 + i + 24), a3);
                        b0 = Fma.MultiplyAdd(x0, Avx.LoadVector256(q1 + i), b0); b1 = Fma.MultiplyAdd(x1, Avx.LoadVector256(q1 + i + 8), b1);
                        b2 = Fma.MultiplyAdd(x2, Avx.LoadVector256(q1 + i + 16), b2); b3 = Fma.MultiplyAdd(x3, Avx.LoadVector256(q1 + i + 24), b3);
                        c0 = Fma.MultiplyAdd(x0, Avx.LoadVector256(q2 + i), c0); c1 = Fma.MultiplyAdd(x1, Avx.LoadVector256(q2 + i + 8), c1);
                        c2 = Fma.MultiplyAdd(x2, Avx.LoadVector256(q2 + i + 16), c2); c3 = Fma.MultiplyAdd(x3, Avx.LoadVector256(q2 + i + 24), c3);
                    }
                    sums[k] = (a0 + a2) + (a1 + a3);
                    sums[8 + k] = (b0 + b2) + (b1 + b3);
                    sums[16 + k] = (c0 + c2) + (c1 + c3);
                }
                for (int g = 0; g < heads; g++)
                {
                    Vector256<float>* s = sums + 8 * g;
                    Avx.Store(scores + g * stride + j, GgmlMath.ReduceLanes8(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]) * vs);
                }
            }
            return j;
        }

        /// <summary>
        /// <see cref="AccumulateValues"/> for 2 or 3 heads' probabilities (rows <paramref name="stride"/>
        /// apart) over the same widened values: partials[g·32·hd + c·hd + d], each the same FMA chain as for one head.
        /// Half a 64-element stretch at a time keeps the three heads' sums in twelve registers.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
        private static void AccumulateValuesGroup<TRows>(float* partials, TRows values, float* p, int stride, int heads, int len, int hd, int classes)
            where TRows : struct, IHeadRows
        {
            float* p0 = p, p1 = p + stride, p2 = heads > 2 ? p + 2 * stride : p1;
            float* o0 = partials, o1 = partials + classes * hd, o2 = heads > 2 ? partials + 2 * classes * hd : o1;
            for (int c = 0; c < classes; c++)
            {
                for (int d = 0; d < hd; d += 32)
                {
                    Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0, c0 = a0, c1 = a0, c2 = a0, c3 = a0;
                    for (int j = c; j < len; j += classes)
                    {
                        Vector256<float> x0 = values.Load(j, d), x1 = values.Load(j, d + 8), x2 = values.Load(j, d + 16), x3 = values.Load(j, d + 24);
                        Vector256<float> pa = Vector256.Create(p0[j]), pb = Vector256.Create(p1[j]), pc = Vector256.Create(p2[j]);
                        a0 = Fma.MultiplyAdd(x0, pa, a0); a1 = Fma.MultiplyAdd(x1, pa, a1); a2 = Fma.MultiplyAdd(x2, pa, a2); a3 = Fma.MultiplyAdd(x3, pa, a3);
                        b0 = Fma.MultiplyAdd(x0, pb, b0); b1 = Fma.MultiplyAdd(x1, pb, b1); b2 = Fma.MultiplyAdd(x2, pb, b2); b3 = Fma.MultiplyAdd(x3, pb, b3);
                        c0 = Fma.MultiplyAdd(x0, pc, c0); c1 = Fma.MultiplyAdd(x1, pc, c1); c2 = Fma.MultiplyAdd(x2, pc, c2); c3 = Fma.MultiplyAdd(x3, pc, c3);
                    }
                    long at = (long)c * hd + d;
                    Avx.Store(o0 + at, a0); Avx.Store(o0 + at + 8, a1); Avx.Store(o0 + at + 16, a2); Avx.Store(o0 + at + 24, a3);
                    Avx.Store(o1 + at, b0); Avx.Store(o1 + at + 8, b1); Avx.Store(o1 + at + 16, b2); Avx.Store(o1 + at + 24, b3);
                    // With two heads the third set repeats the second's work into the same place (same values).
                    Avx.Store(o2 + at, c0); Avx.Store(o2 + at + 8, c1); Avx.Store(o2 + at + 16, c2); Avx.Store(o2 + at + 24, c3);
                }
            }
        }
#endif

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
                NpcSdk.Native.NativeKernels.Attention(_q.AsSpan((_row0 + t) * _c.QueryDim + h * hd, hd), _cache.ElementType, keys, values, rowBytes,
                    len, _scale, scores, _out.AsSpan((_row0 + t) * _c.QueryDim + h * hd, hd));
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

        /// <summary>scores[j] = scale * ggml_vec_dot_f16(key j, query) for widened keys (n apart) and query.</summary>
        private static void WidenedF16Dots(float* keys, float* query, int n, int count, float scale, float* scores)
        {
#if NET
            int j = 0;
            if (n % 32 == 0)
            {
                // Eight keys' lane reductions at once, scaled and stored together.
                Vector256<float> vs = Vector256.Create(scale);
                for (; j + 8 <= count; j += 8)
                {
                    float* k = keys + j * n;
                    VecDotAvx2.F16WidenedPairSums(k, k + n, query, n, out var x0, out var x1);
                    VecDotAvx2.F16WidenedPairSums(k + 2 * n, k + 3 * n, query, n, out var x2, out var x3);
                    VecDotAvx2.F16WidenedPairSums(k + 4 * n, k + 5 * n, query, n, out var x4, out var x5);
                    VecDotAvx2.F16WidenedPairSums(k + 6 * n, k + 7 * n, query, n, out var x6, out var x7);
                    Avx.Store(scores + j, GgmlMath.ReduceLanes8(x0, x1, x2, x3, x4, x5, x6, x7) * vs);
                }
            }
            int first = j;
            for (; j + 2 <= count; j += 2) VecDotAvx2.F16WidenedPair(keys + j * n, keys + (j + 1) * n, query, n, out scores[j], out scores[j + 1]);
            for (; j < count; j++) scores[j] = VecDotAvx2.F16Widened(keys + j * n, query, n);
            for (j = first; j < count; j++) scores[j] *= scale;
#else
            throw new PlatformNotSupportedException();
#endif
        }

        /// <summary>scores[j] = scale * tinyBLAS dot (one 8-lane accumulator, then hsum) of key j and the query, four keys at a time.</summary>
        private static void WidenedTinyBlasDots(float* keys, float* query, int n, int count, float scale, float* scores)
        {
            int j = 0;
#if NET
            if (n % 8 == 0)
            {
                Vector256<float> vs = Vector256.Create(scale);
                for (; j + 8 <= count; j += 8)
                {
                    float* k0 = keys + j * n;
                    Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
                    for (int l = 0; l < n; l += 8)
                    {
                        Vector256<float> q = Avx.LoadVector256(query + l);
                        float* k = k0 + l;
                        a0 = Fma.MultiplyAdd(Avx.LoadVector256(k), q, a0);
                        a1 = Fma.MultiplyAdd(Avx.LoadVector256(k + n), q, a1);
                        a2 = Fma.MultiplyAdd(Avx.LoadVector256(k + 2 * n), q, a2);
                        a3 = Fma.MultiplyAdd(Avx.LoadVector256(k + 3 * n), q, a3);
                        a4 = Fma.MultiplyAdd(Avx.LoadVector256(k + 4 * n), q, a4);
                        a5 = Fma.MultiplyAdd(Avx.LoadVector256(k + 5 * n), q, a5);
                        a6 = Fma.MultiplyAdd(Avx.LoadVector256(k + 6 * n), q, a6);
                        a7 = Fma.MultiplyAdd(Avx.LoadVector256(k + 7 * n), q, a7);
                    }
                    Avx.Store(scores + j, GgmlMath.Hsum8(a0, a1, a2, a3, a4, a5, a6, a7) * vs);
                }
                for (; j + 4 <= count; j += 4)
                {
                    float* k0 = keys + j * n, k1 = k0 + n, k2 = k1 + n, k3 = k2 + n;
                    Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                    for (int l = 0; l < n; l += 8)
                    {
                        Vector256<float> q = Avx.LoadVector256(query + l);
                        a0 = Fma.MultiplyAdd(Avx.LoadVector256(k0 + l), q, a0);
                        a1 = Fma.MultiplyAdd(Avx.LoadVector256(k1 + l), q, a1);
                        a2 = Fma.MultiplyAdd(Avx.LoadVector256(k2 + l), q, a2);
                        a3 = Fma.MultiplyAdd(Avx.LoadVector256(k3 + l), q, a3);
                    }
                    scores[j] = GgmlMath.Hsum(a0) * scale;
                    scores[j + 1] = GgmlMath.Hsum(a1) * scale;
                    scores[j + 2] = GgmlMath.Hsum(a2) * scale;
                    scores[j + 3] = GgmlMath.Hsum(a3) * scale;
                }
            }
#endif
            for (; j < count; j++) scores[j] = FloatGemm.Dot(TensorType.F32, (byte*)(keys + j * n), query, n) * scale;
        }

        /// <summary>This thread's widened copies, emptied when they belong to another run or another layer's attention.</summary>
        private Widened WidenedForThisRun()
        {
            var w = t_widened ??= new Widened();
            int heads = _c.KvHeadCount;
            if (w.KeysFilled.Length < heads)
            {
                w.Keys = new float[heads][];
                w.Values = new float[heads][];
                w.KeysFilled = new int[heads];
                w.ValuesFilled = new int[heads];
            }
            if (!ReferenceEquals(w.Owner, this) || w.Run != _run)
            {
                w.Owner = this;
                w.Run = _run;
                Array.Clear(w.KeysFilled, 0, w.KeysFilled.Length);
                Array.Clear(w.ValuesFilled, 0, w.ValuesFilled.Length);
            }
            return w;
        }

        /// <summary>Positions [0, <paramref name="len"/>) of one kv head as floats, widening those not yet widened in this run.</summary>
        private float[] Fill(float[][] store, int[] filled, int kvHead, int len, bool keys)
        {
            int hd = _c.HeadDim;
            var buffer = store[kvHead];
            if (buffer == null || buffer.Length < len * hd)
            {
                var grown = new float[Math.Max(len, Math.Min(_c.ContextLength, Math.Max(2 * len, 64))) * hd];
                if (buffer != null) Array.Copy(buffer, grown, filled[kvHead] * hd);
                store[kvHead] = buffer = grown;
            }
            bool finite = _cache.FiniteHalves;
            fixed (float* dst = buffer)
            {
                for (int j = filled[kvHead]; j < len;)
                {
                    var rows = _cache.Rows(_layer, j, keys, out int count);
                    count = Math.Min(count, len - j);
                    fixed (byte* first = rows)
                    {
                        if (_cache.ElementType == TensorType.Q8_0)
                        {
                            // Whole 32-element blocks: the head size is a multiple of 32 for a Q8_0 cache.
                            int offset = (int)TensorTypeInfo.RowBytes(TensorType.Q8_0, kvHead * hd);
                            for (int c = 0; c < count; c++) Dequantizer.Q8_0Blocks(first + c * _cache.RowBytes + offset, dst + (j + c) * hd, hd / 32);
                        }
                        else if (_cache.ElementType == TensorType.F32)
                        {
                            float* src = (float*)first + kvHead * hd;
                            for (int c = 0; c < count; c++, src += _cache.RowBytes / 4) Buffer.MemoryCopy(src, dst + (j + c) * hd, hd * 4, hd * 4);
                        }
                        else
                        {
                            ushort* src = (ushort*)first + kvHead * hd;
                            WidenRows(src, _cache.RowBytes / 2, dst + j * hd, count, hd, finite);
                        }
                    }
                    j += count;
                }
            }
            if (len > filled[kvHead]) filled[kvHead] = len;
            return buffer;
        }

        /// <summary>
        /// <see cref="Dequantizer.DequantizeRow"/> for <paramref name="rows"/> F16 head rows <paramref name="srcStride"/>
        /// elements apart, inlined and a cache block at a time: a batch widens every cached position of every kv head
        /// per layer, and a call per row (or the span call's overhead) was a large part of its attention time.
        /// </summary>
        private static void WidenRows(ushort* src, int srcStride, float* dst, int rows, int n, bool finite)
        {
#if NET
            if (VecDotAvx2.IsSupported && n % 32 == 0)
            {
                // Known finite (see KvCache.FiniteHalves): the same floats in about half the instructions.
                if (finite)
                {
                    for (int r = 0; r < rows; r++, src += srcStride, dst += n)
                        for (int i = 0; i < n; i += 32)
                        {
                            Avx.Store(dst + i, VecDotAvx2.HalfToSingleFinite(Sse2.LoadVector128(src + i)));
                            Avx.Store(dst + i + 8, VecDotAvx2.HalfToSingleFinite(Sse2.LoadVector128(src + i + 8)));
                            Avx.Store(dst + i + 16, VecDotAvx2.HalfToSingleFinite(Sse2.LoadVector128(src + i + 16)));
                            Avx.Store(dst + i + 24, VecDotAvx2.HalfToSingleFinite(Sse2.LoadVector128(src + i + 24)));
                        }
                    return;
                }
            }
#endif
            for (int r = 0; r < rows; r++, src += srcStride, dst += n) WidenRow(src, dst, n, finite);
        }

        /// <summary>One F16 row of <paramref name="n"/> elements into floats (exact, or finite-only when <paramref name="finite"/>).</summary>
        private static void WidenRow(ushort* src, float* dst, int n, bool finite)
        {
            int i = 0;
#if NET
            if (VecDotAvx2.IsSupported)
            {
                // Known finite (see KvCache.FiniteHalves): the same floats in about half the instructions.
                if (finite) for (; i + 8 <= n; i += 8) Avx.Store(dst + i, VecDotAvx2.HalfToSingleFinite(Sse2.LoadVector128(src + i)));
                else for (; i + 8 <= n; i += 8) Avx.Store(dst + i, VecDotAvx2.HalfToSingle(Sse2.LoadVector128(src + i)));
            }
#endif
            for (; i < n; i++) dst[i] = Half16.ToFloat(src[i]);
        }

        /// <summary>acc = fma(v, p, acc) element-wise over a cache row of F16 (widened as it is loaded) or F32 values.</summary>
        private static void MultiplyAddRow(float* acc, byte* v, bool float16, float p, int n)
        {
            int i = 0;
#if NET
            if (VecDotAvx2.IsSupported)
            {
                Vector256<float> vp = Vector256.Create(p);
                if (float16)
                {
                    for (; i + 8 <= n; i += 8)
                        Avx.Store(acc + i, Fma.MultiplyAdd(VecDotAvx2.HalfToSingle(Sse2.LoadVector128((ushort*)v + i)), vp, Avx.LoadVector256(acc + i)));
                }
                else
                {
                    for (; i + 8 <= n; i += 8) Avx.Store(acc + i, Fma.MultiplyAdd(Avx.LoadVector256((float*)v + i), vp, Avx.LoadVector256(acc + i)));
                }
            }
#endif
            for (; i < n; i++)
            {
                float x = float16 ? Half16.ToFloat(((ushort*)v)[i]) : ((float*)v)[i];
                acc[i] = GgmlMath.FusedMultiplyAdd(x, p, acc[i]);
            }
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

#if NET
        /// <summary>
        /// P·V over widened value rows (<paramref name="hd"/> apart, a multiple of 8): partials[c·hd + d] becomes the FMA
        /// chain, in position order, of value[j][d]·p[j] over the positions j ≡ c (mod <paramref name="classes"/>), which
        /// is what <see cref="MultiplyAddRow(float*, byte*, bool, float, int)"/> computes row by row from zeroed
        /// partials. Here one class at a time keeps a whole 64-element stretch of its partial sums in eight registers
        /// while its positions go by: per position one broadcast and eight FMAs reading the value row, and no load or
        /// store of partial sums (eight chains of FMAs, as many as their latency needs).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
        private static void AccumulateValues(float* partials, float* values, float* p, int len, int hd, int classes)
        {
            long step = (long)classes * hd;
            for (int c = 0; c < classes; c++)
            {
                float* acc = partials + c * hd;
                int d = 0;
                for (; d + 64 <= hd; d += 64)
                {
                    Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
                    float* v = values + (long)c * hd + d;
                    for (int j = c; j < len; j += classes, v += step)
                    {
                        Vector256<float> pj = Vector256.Create(p[j]);
                        a0 = Fma.MultiplyAdd(Avx.LoadVector256(v), pj, a0);
                        a1 = Fma.MultiplyAdd(Avx.LoadVector256(v + 8), pj, a1);
                        a2 = Fma.MultiplyAdd(Avx.LoadVector256(v + 16), pj, a2);
                        a3 = Fma.MultiplyAdd(Avx.LoadVector256(v + 24), pj, a3);
                        a4 = Fma.MultiplyAdd(Avx.LoadVector256(v + 32), pj, a4);
                        a5 = Fma.MultiplyAdd(Avx.LoadVector256(v + 40), pj, a5);
                        a6 = Fma.MultiplyAdd(Avx.LoadVector256(v + 48), pj, a6);
                        a7 = Fma.MultiplyAdd(Avx.LoadVector256(v + 56), pj, a7);
                    }
                    Avx.Store(acc + d, a0);
                    Avx.Store(acc + d + 8, a1);
                    Avx.Store(acc + d + 16, a2);
                    Avx.Store(acc + d + 24, a3);
                    Avx.Store(acc + d + 32, a4);
                    Avx.Store(acc + d + 40, a5);
                    Avx.Store(acc + d + 48, a6);
                    Avx.Store(acc + d + 56, a7);
                }
                for (; d < hd; d += 8)
                {
                    Vector256<float> a = Vector256<float>.Zero;
                    float* v = values + (long)c * hd + d;
                    for (int j = c; j < len; j += classes, v += step) a = Fma.MultiplyAdd(Avx.LoadVector256(v), Vector256.Create(p[j]), a);
                    Avx.Store(acc + d, a);
                }
            }
        }

        /// <summary>
        /// p[i] becomes the F16 value nearest it (ties to even), as a float: what converting to F16 and back gives, without
        /// the round trip through a buffer. Lanes that overflow F16 (or are not finite) take that round trip.
        /// </summary>
        internal static void RoundToHalf(float* p, int n)
        {
            int i = 0;
            for (; i + 8 <= n; i += 8)
            {
                Vector256<uint> x = Avx.LoadVector256((uint*)(p + i));
                Vector256<uint> ax = x & Vector256.Create(0x7FFFFFFFu);
                // 65520 and up round to infinity in F16 (and NaN stays NaN): rare, so the exact general path.
                if (Avx2.CompareGreaterThan(ax.AsInt32(), Vector256.Create(0x477FEFFF)).AsByte().ExtractMostSignificantBits() != 0)
                {
                    for (int l = 0; l < 8; l++) p[i + l] = Half16.ToFloat(Half16.FromFloat(p[i + l]));
                    continue;
                }
                // Normal F16 range: round the 13 dropped mantissa bits to nearest even (a carry moves the exponent).
                Vector256<uint> normal = (ax + Vector256.Create(0x0FFFu) + ((ax >> 13) & Vector256<uint>.One)) & Vector256.Create(0xFFFFE000u);
                // Below 2^-14 F16 is subnormal, multiples of 2^-24: adding 0.5 makes the FPU round to one.
                Vector256<uint> subnormal = ((ax.AsSingle() + Vector256.Create(0.5f)) - Vector256.Create(0.5f)).AsUInt32();
                Vector256<uint> isSubnormal = Avx2.CompareGreaterThan(Vector256.Create(0x38800000), ax.AsInt32()).AsUInt32();
                Vector256<uint> r = Avx2.BlendVariable(normal.AsByte(), subnormal.AsByte(), isSubnormal.AsByte()).AsUInt32();
                Avx.Store((uint*)(p + i), r | (x & Vector256.Create(0x80000000u)));
            }
            for (; i < n; i++) p[i] = Half16.ToFloat(Half16.FromFloat(p[i]));
        }

        /// <summary><see cref="ReduceEightClasses(float[], int, Span{float})"/> for eight output elements at a time (same additions, lane-wise).</summary>
        private static void ReduceEightClasses(float* partials, int hd, float* o)
        {
            for (int d = 0; d < hd; d += 8)
            {
                float* p = partials + d;
                Vector256<float> l0 = Avx.LoadVector256(p), l1 = Avx.LoadVector256(p + hd), l2 = Avx.LoadVector256(p + 2 * hd), l3 = Avx.LoadVector256(p + 3 * hd);
                Vector256<float> l4 = Avx.LoadVector256(p + 4 * hd), l5 = Avx.LoadVector256(p + 5 * hd), l6 = Avx.LoadVector256(p + 6 * hd), l7 = Avx.LoadVector256(p + 7 * hd);
                Avx.Store(o + d, ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)));
            }
        }

        /// <summary><see cref="ReduceThirtyTwoClasses(float[], int, Span{float})"/> for eight output elements at a time (same additions, lane-wise).</summary>
        private static void ReduceThirtyTwoClasses(float* partials, int hd, float* o)
        {
            for (int d = 0; d < hd; d += 8)
            {
                float* p = partials + d;
                Vector256<float> x0 = (Avx.LoadVector256(p) + Avx.LoadVector256(p + 16 * hd)) + (Avx.LoadVector256(p + 8 * hd) + Avx.LoadVector256(p + 24 * hd));
                Vector256<float> x1 = (Avx.LoadVector256(p + hd) + Avx.LoadVector256(p + 17 * hd)) + (Avx.LoadVector256(p + 9 * hd) + Avx.LoadVector256(p + 25 * hd));
                Vector256<float> x2 = (Avx.LoadVector256(p + 2 * hd) + Avx.LoadVector256(p + 18 * hd)) + (Avx.LoadVector256(p + 10 * hd) + Avx.LoadVector256(p + 26 * hd));
                Vector256<float> x3 = (Avx.LoadVector256(p + 3 * hd) + Avx.LoadVector256(p + 19 * hd)) + (Avx.LoadVector256(p + 11 * hd) + Avx.LoadVector256(p + 27 * hd));
                Vector256<float> x4 = (Avx.LoadVector256(p + 4 * hd) + Avx.LoadVector256(p + 20 * hd)) + (Avx.LoadVector256(p + 12 * hd) + Avx.LoadVector256(p + 28 * hd));
                Vector256<float> x5 = (Avx.LoadVector256(p + 5 * hd) + Avx.LoadVector256(p + 21 * hd)) + (Avx.LoadVector256(p + 13 * hd) + Avx.LoadVector256(p + 29 * hd));
                Vector256<float> x6 = (Avx.LoadVector256(p + 6 * hd) + Avx.LoadVector256(p + 22 * hd)) + (Avx.LoadVector256(p + 14 * hd) + Avx.LoadVector256(p + 30 * hd));
                Vector256<float> x7 = (Avx.LoadVector256(p + 7 * hd) + Avx.LoadVector256(p + 23 * hd)) + (Avx.LoadVector256(p + 15 * hd) + Avx.LoadVector256(p + 31 * hd));
                Vector256<float> t0 = x0 + x4, t1 = x1 + x5, t2 = x2 + x6, t3 = x3 + x7;
                Avx.Store(o + d, (t0 + t1) + (t2 + t3));
            }
        }
#endif

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
