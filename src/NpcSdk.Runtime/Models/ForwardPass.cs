using System;
using System.Runtime.InteropServices;
using NpcSdk.Compute;
using NpcSdk.Tensors;

namespace NpcSdk.Models
{
    /// <summary>
    /// One forward step over a batch of tokens, resumable between layers: <see cref="Begin(ReadOnlySpan{int}, int)"/> embeds the tokens,
    /// each <see cref="RunNextLayer"/> runs one transformer block, then <see cref="ComputeLogits"/> projects a row to the vocabulary.
    /// Holds the scratch buffers of one session (or of one decode batch, whose rows are several sessions' next tokens,
    /// see <see cref="BeginRows"/>); the weights are shared.
    /// </summary>
    /// <remarks>
    /// The math follows llama.cpp's llama graph: x = embed(token); per layer
    /// h = x + Wo·Attention(Rope(Wq·RmsNorm(x)), Rope(Wk·…), Wv·…); x = h + Wdown·(SiLU(Wgate·RmsNorm(h)) ⊙ Wup·RmsNorm(h));
    /// logits = Wout·RmsNorm(x).
    /// <para>
    /// Every operation is computed as ggml-cpu (AVX2 build) computes it, so logits match llama.cpp bit for bit. Some of
    /// llama.cpp's kernels depend on the size of the ubatch: a single token takes the vec_dot / gemv kernels, two or
    /// more take llamafile's tinyBLAS (float weights, attention) and the repacked gemm (for rows in groups of four).
    /// Here the ubatch is the <em>evaluation</em> a step belongs to (the tokens queued together: a prompt, a turn, one
    /// generated token), not the step itself, so that slicing an evaluation into several steps (a small batch size, a
    /// frame scheduler's time budget) does not change the results. The caller says where a step lies in its evaluation
    /// through <see cref="Begin(ReadOnlySpan{int}, int, int, int)"/>; <see cref="Begin(ReadOnlySpan{int}, int)"/> infers it
    /// (see there). Results never depend on the thread count: each output element is computed by one fixed sequence
    /// of operations whichever thread takes it.
    /// </para>
    /// </remarks>
    internal sealed class ForwardPass
    {
        private readonly Transformer _model;
        private readonly ModelConfig _c;
        private readonly WorkerPool _pool;
        private readonly MatMulWork _matmul = new MatMulWork();
        private readonly FloatGemmWork _gemm = new FloatGemmWork();
        private readonly NativeMatMulWork _native = new NativeMatMulWork();
        private readonly InterleavedWork _interleaved = new InterleavedWork();
        private readonly Attention _attention;

        private readonly float[] _x, _xb, _q, _k, _v, _att, _gate, _up, _cos, _sin, _normed, _logits;
        private float[]? _widened; // F16/BF16 weights only (tinyBLAS): made on first use
        private readonly ActivationRows _actRows;
        private int _batch;
        private int _startPos;
        private int _evalOffset, _evalLength;
        private bool _midEvaluation;
        // Rows mode (BeginRows): each row is the next token of its own session, with its own cache and position.
        private KvCache?[]? _rowCaches;
        private int[]? _rowPositions;
        private float[]? _normedRows;
        private int _logitsRow = -1; // the batch row whose output projection is in progress
        private readonly OffsetWork _offset = new OffsetWork();

        public ForwardPass(Transformer model, int maxBatch, WorkerPool pool)
        {
            _model = model;
            _c = model.Config;
            _pool = pool;
            MaxBatch = maxBatch;
            _x = new float[maxBatch * _c.Dim];
            _xb = new float[maxBatch * Math.Max(_c.Dim, _c.QueryDim)];
            _q = new float[maxBatch * _c.QueryDim];
            _k = new float[maxBatch * _c.KvDim];
            _v = new float[maxBatch * _c.KvDim];
            _att = new float[maxBatch * _c.QueryDim];
            _gate = new float[maxBatch * _c.FeedForwardDim];
            _up = new float[maxBatch * _c.FeedForwardDim];
            _cos = new float[maxBatch * _c.RopeDim / 2];
            _sin = new float[maxBatch * _c.RopeDim / 2];
            _normed = new float[_c.Dim];
            _logits = new float[model.Weights.Output.Rows];
            _actRows = new ActivationRows(maxBatch, Math.Max(_c.Dim, Math.Max(_c.QueryDim, _c.FeedForwardDim)));
            _attention = new Attention(_c);
        }

        public int MaxBatch { get; }

        /// <summary>The next layer <see cref="RunNextLayer"/> will run; equals the layer count when all are done.</summary>
        public int NextLayer { get; private set; }

        /// <summary>Tokens in the current batch.</summary>
        public int BatchSize => _batch;

        public bool LayersDone => NextLayer >= _c.LayerCount;

        /// <summary>
        /// Starts a step: embeds <paramref name="tokens"/> at positions startPos, startPos+1, ... The evaluation the step
        /// belongs to is inferred: a step that continues an evaluation whose final logits were not computed yet (or that
        /// starts at position 0) counts as part of a multi-token evaluation; otherwise the step is the whole evaluation.
        /// So a 1-token step is a single-token decode only when it follows a completed evaluation.
        /// </summary>
        public void Begin(ReadOnlySpan<int> tokens, int startPos)
        {
            bool continues = _midEvaluation || startPos == 0;
            Begin(tokens, startPos, 0, continues ? Math.Max(2, tokens.Length) : tokens.Length);
        }

        /// <summary>
        /// Starts a step over tokens [<paramref name="evaluationOffset"/>, evaluationOffset + tokens.Length) of an
        /// evaluation of <paramref name="evaluationLength"/> tokens: the arithmetic is the one llama.cpp uses when the
        /// whole evaluation is one ubatch, however the evaluation is sliced into steps.
        /// </summary>
        public void Begin(ReadOnlySpan<int> tokens, int startPos, int evaluationOffset, int evaluationLength)
        {
            if (tokens.Length == 0 || tokens.Length > MaxBatch) throw new ArgumentOutOfRangeException(nameof(tokens), tokens.Length, $"batch must hold 1..{MaxBatch} tokens");
            if (evaluationOffset < 0 || evaluationOffset + tokens.Length > evaluationLength)
                throw new ArgumentOutOfRangeException(nameof(evaluationOffset), $"tokens [{evaluationOffset}, {evaluationOffset + tokens.Length}) do not lie in an evaluation of {evaluationLength}");
            for (int t = 0; t < tokens.Length; t++) Embed(t, tokens[t], startPos + t);
            _batch = tokens.Length;
            _startPos = startPos;
            _evalOffset = evaluationOffset;
            _evalLength = evaluationLength;
            _midEvaluation = true;
            _rowCaches = null;
            NextLayer = 0;
            NextStage = 0;
        }

        /// <summary>
        /// Starts a step whose rows belong to different sessions: row t is the next token of the session that owns
        /// <paramref name="caches"/>[t], at <paramref name="positions"/>[t], and is that session's whole evaluation (a
        /// generated token). Each row gets exactly the arithmetic of a one-token step of its own; the weights are read
        /// once for all of them. <see cref="RunNextLayer"/> then takes no cache.
        /// </summary>
        public void BeginRows(ReadOnlySpan<int> tokens, ReadOnlySpan<int> positions, ReadOnlySpan<KvCache> caches)
        {
            if (tokens.Length == 0 || tokens.Length > MaxBatch) throw new ArgumentOutOfRangeException(nameof(tokens), tokens.Length, $"batch must hold 1..{MaxBatch} tokens");
            if (positions.Length != tokens.Length || caches.Length != tokens.Length) throw new ArgumentException("one position and one cache per token");
            _rowCaches ??= new KvCache?[MaxBatch];
            _rowPositions ??= new int[MaxBatch];
            for (int t = 0; t < tokens.Length; t++)
            {
                Embed(t, tokens[t], positions[t]);
                _rowCaches[t] = caches[t] ?? throw new ArgumentNullException(nameof(caches));
                _rowPositions[t] = positions[t];
            }
            _batch = tokens.Length;
            _startPos = 0;
            _evalOffset = 0;
            _evalLength = 1;
            _midEvaluation = false;
            NextLayer = 0;
            NextStage = 0;
        }

        /// <summary>Rows mode: row <paramref name="row"/> no longer belongs to a session (cancelled); its cache is left alone.</summary>
        public void DropRow(int row)
        {
            if (_rowCaches == null || (uint)row >= (uint)_batch) throw new InvalidOperationException("no such row in a rows-mode step");
            _rowCaches[row] = null;
        }

        private void Embed(int t, int id, int pos)
        {
            var embd = _model.Weights.TokenEmbedding;
            if ((uint)id >= (uint)embd.Rows) throw new ArgumentOutOfRangeException("tokens", id, $"token id outside the vocabulary (0..{embd.Rows - 1})");
            Dequantizer.DequantizeRow(embd.Type, embd.RowSpan(id, 1), _x.AsSpan(t * _c.Dim, _c.Dim));
            RopeTables(pos, _cos.AsSpan(t * _c.RopeDim / 2, _c.RopeDim / 2), _sin.AsSpan(t * _c.RopeDim / 2, _c.RopeDim / 2));
        }

        /// <summary>Parts a layer runs in (<see cref="RunNextStage"/>): Q/K/V, attention with Wo, gate, up, down.</summary>
        public const int StagesPerLayer = 5;

        /// <summary>The part of <see cref="NextLayer"/> that <see cref="RunNextStage"/> runs next (0 at a layer's start).</summary>
        public int NextStage { get; private set; }

        /// <summary>Runs the rest of the next transformer block, reading and extending <paramref name="cache"/> (in rows mode, null: each row's own).</summary>
        public void RunNextLayer(KvCache? cache)
        {
            do RunNextStage(cache);
            while (NextStage != 0);
        }

        /// <summary>
        /// Runs one part of the next transformer block (see <see cref="StagesPerLayer"/>), so that a layer of a large
        /// model can spread over frames; the parts run the layer's operations in their order, so the values are those
        /// of <see cref="RunNextLayer"/>.
        /// </summary>
        public void RunNextStage(KvCache? cache)
        {
            if (_rowCaches == null && cache == null) throw new ArgumentNullException(nameof(cache));
            int l = NextLayer;
            if (l >= _c.LayerCount) throw new InvalidOperationException("all layers already ran");
            var w = _model.Weights.Layers[l];
            int dim = _c.Dim, T = _batch;
            switch (NextStage)
            {
                case 0:
                    QkvStage(w, l, cache);
                    break;
                case 1:
                    AttentionStage(w, l, cache);
                    break;
                case 2:
                    // Feed-forward block (SwiGLU): the gate, then the up projection from the same quantized rows.
                    for (int t = 0; t < T; t++)
                        VectorOps.RmsNorm(_x.AsSpan(t * dim, dim), w.FfnNorm, _xb.AsSpan(t * dim, dim), _c.RmsEpsilon);
                    _actRows.Invalidate();
                    MatMul(w.Gate, _xb, dim, _gate, _c.FeedForwardDim, null);
                    break;
                case 3:
                    MatMul(w.Up, _xb, dim, _up, _c.FeedForwardDim, null);
                    SwiGlu();
                    break;
                default:
                    _actRows.Invalidate();
                    MatMul(w.Down, _gate, _c.FeedForwardDim, _xb, dim, null);
                    for (int t = 0; t < T; t++) VectorOps.Add(_x.AsSpan(t * dim, dim), _xb.AsSpan(t * dim, dim));
                    break;
            }
            if (++NextStage == StagesPerLayer)
            {
                NextStage = 0;
                NextLayer = l + 1;
            }
        }

        private void QkvStage(LayerWeights w, int l, KvCache? cache)
        {
            int dim = _c.Dim, T = _batch;
            for (int t = 0; t < T; t++)
                VectorOps.RmsNorm(_x.AsSpan(t * dim, dim), w.AttnNorm, _xb.AsSpan(t * dim, dim), _c.RmsEpsilon);
            _actRows.Invalidate();
            MatMul(w.Wq, _xb, dim, _q, _c.QueryDim, w.Bq);
            MatMul(w.Wk, _xb, dim, _k, _c.KvDim, w.Bk);
            MatMul(w.Wv, _xb, dim, _v, _c.KvDim, w.Bv);
            for (int t = 0; t < T; t++)
            {
                var cos = _cos.AsSpan(t * _c.RopeDim / 2, _c.RopeDim / 2);
                var sin = _sin.AsSpan(t * _c.RopeDim / 2, _c.RopeDim / 2);
                for (int h = 0; h < _c.HeadCount; h++) Rope(_q.AsSpan(t * _c.QueryDim + h * _c.HeadDim, _c.HeadDim), cos, sin);
                for (int h = 0; h < _c.KvHeadCount; h++) Rope(_k.AsSpan(t * _c.KvDim + h * _c.HeadDim, _c.HeadDim), cos, sin);
                var rowCache = _rowCaches != null ? _rowCaches[t] : cache;
                rowCache?.Store(l, _rowCaches != null ? _rowPositions![t] : _startPos + t, _k.AsSpan(t * _c.KvDim, _c.KvDim), _v.AsSpan(t * _c.KvDim, _c.KvDim));
            }
        }

        private void AttentionStage(LayerWeights w, int l, KvCache? cache)
        {
            int dim = _c.Dim, T = _batch;
            if (_rowCaches == null)
            {
                _attention.Set(cache!, l, _q, _att, _startPos, T, batched: _evalLength >= 2, native: _model.UseNativeKernels);
                _pool.Run(T * _c.HeadCount, _attention);
            }
            else
            {
                // Each row attends to its own session's cache, as that session's one-token step would.
                for (int t = 0; t < T; t++)
                {
                    var rowCache = _rowCaches[t];
                    if (rowCache == null)
                    {
                        _att.AsSpan(t * _c.QueryDim, _c.QueryDim).Clear();
                        continue;
                    }
                    _attention.Set(rowCache, l, _q, _att, _rowPositions![t], 1, batched: false, native: _model.UseNativeKernels, firstRow: t);
                    _pool.Run(_c.HeadCount, _attention);
                }
            }
            _actRows.Invalidate();
            MatMul(w.Wo, _att, _c.QueryDim, _xb, dim, null);
            for (int t = 0; t < T; t++) VectorOps.Add(_x.AsSpan(t * dim, dim), _xb.AsSpan(t * dim, dim));
        }

        private void SwiGlu()
        {
            int ff = _c.FeedForwardDim, T = _batch;
#if !NET
            // netstandard has no hardware FMA: ggml's SiLU is emulated in software there, so the plugin computes it.
            if (_model.UseNativeKernels)
            {
                // Per token: which elements take the tail path depends on each row's own length.
                for (int t = 0; t < T; t++) NpcSdk.Native.NativeKernels.SwiGlu(_gate.AsSpan(t * ff, ff), _up.AsSpan(t * ff, ff));
                return;
            }
#endif
            for (int t = 0; t < T; t++) VectorOps.SwiGlu(_gate.AsSpan(t * ff, ff), _up.AsSpan(t * ff, ff));
        }

        /// <summary>Final norm and output projection of batch row <paramref name="row"/> into <paramref name="logits"/>.</summary>
        public void ComputeLogits(int row, Span<float> logits)
        {
            BeginLogits(row);
            ProjectLogits(0, VocabularyRows);
            EndLogits(logits);
        }

        /// <summary>Rows of the output projection (the vocabulary).</summary>
        public int VocabularyRows => _model.Weights.Output.Rows;

        /// <summary>
        /// Starts the output projection of batch row <paramref name="row"/> (its final norm); <see cref="ProjectLogits"/>
        /// then computes ranges of vocabulary rows, which a frame scheduler may spread over ticks, and
        /// <see cref="EndLogits"/> hands them over. Each logit is computed alone, so the ranges do not change its value.
        /// </summary>
        public void BeginLogits(int row)
        {
            if (!LayersDone) throw new InvalidOperationException("layers still pending");
            if ((uint)row >= (uint)_batch) throw new ArgumentOutOfRangeException(nameof(row));
            int dim = _c.Dim;
            VectorOps.RmsNorm(_x.AsSpan(row * dim, dim), _model.Weights.OutputNorm, _normed, _c.RmsEpsilon);
            _actRows.Invalidate();
            _logitsRow = row;
        }

        /// <summary>Vocabulary rows [<paramref name="start"/>, <paramref name="end"/>) of the projection begun by <see cref="BeginLogits"/>.</summary>
        public void ProjectLogits(int start, int end)
        {
            if (_logitsRow < 0) throw new InvalidOperationException("no output projection begun");
            var output = _model.Weights.Output;
            if (start < 0 || end > output.Rows || start > end) throw new ArgumentOutOfRangeException(nameof(start), $"[{start}, {end}) is not within the {output.Rows} vocabulary rows");
            // llama.cpp projects every output row of the batch in one mul_mat, so a row of a multi-token batch takes the
            // batched kernel's arithmetic even when computed alone.
            Project(output, _normed, _c.Dim, 1, _logits, output.Rows, minChunk: 64, firstRow: _logitsRow, rowStart: start, rowEnd: end);
        }

        /// <summary>Copies the projected logits out; the projection is over.</summary>
        public void EndLogits(Span<float> logits)
        {
            if (_logitsRow < 0) throw new InvalidOperationException("no output projection begun");
            _logits.AsSpan().CopyTo(logits);
            if (_logitsRow == _batch - 1) _midEvaluation = false;
            _logitsRow = -1;
        }

        /// <summary>
        /// Rows mode: final norm and output projection of every row at once (the weights read once), row t's logits at
        /// <paramref name="logits"/>[t * vocabulary]; each row's values are those <see cref="ComputeLogits"/> gives it alone.
        /// </summary>
        public void ComputeLogitsOfRows(float[] logits)
        {
            if (!LayersDone) throw new InvalidOperationException("layers still pending");
            if (_rowCaches == null) throw new InvalidOperationException("not a rows-mode step");
            int dim = _c.Dim;
            var output = _model.Weights.Output;
            if (logits.Length < (long)_batch * output.Rows) throw new ArgumentException("logits too short for every row", nameof(logits));
            _normedRows ??= new float[MaxBatch * dim];
            for (int t = 0; t < _batch; t++)
                VectorOps.RmsNorm(_x.AsSpan(t * dim, dim), _model.Weights.OutputNorm, _normedRows.AsSpan(t * dim, dim), _c.RmsEpsilon);
            _actRows.Invalidate();
            Project(output, _normedRows, dim, _batch, logits, output.Rows, minChunk: 64, firstRow: 0);
        }

        private void MatMul(WeightMatrix w, float[] input, int inStride, float[] output, int outStride, float[]? bias)
        {
            Project(w, input, inStride, _batch, output, outStride, minChunk: 16, firstRow: 0);
            if (bias != null)
                for (int t = 0; t < _batch; t++) VectorOps.Add(output.AsSpan(t * outStride, w.Rows), bias);
        }

        /// <summary>
        /// output[t, r] = W[r] · input[t] for <paramref name="rows"/> activation rows (the first being row
        /// <paramref name="firstRow"/> of the step), with the arithmetic of the kernel llama.cpp's mul_mat uses for this
        /// weight matrix in the step's evaluation.
        /// </summary>
        private void Project(WeightMatrix w, float[] input, int inStride, int rows, float[] output, int outStride, int minChunk, int firstRow,
            int rowStart = 0, int rowEnd = -1)
        {
            if (rowEnd < 0) rowEnd = w.Rows;
            var kernel = MatMulKernels.Select(w.Type, w.Rows, w.Cols, _evalLength);
            if (HasInterleaved(w))
            {
                // Q4_0/Q4_K in 8-row groups (the Repacked kernels' arithmetic), Q5_0 in 8-row groups (the same per-block arithmetic), Q8_0 in 4-row groups (vec_dot's), by the
                // managed kernels or the plugin; the pool splits whole groups.
                _interleaved.Set(w, _actRows.Quantize(input, inStride, rows, w, native: _model.UseNativeKernels), output, outStride, rows,
                    firstRow, _evalLength - _evalLength % 4 - _evalOffset, _model.UseNativeKernels);
                if (rowStart % w.GroupRows != 0 || (rowEnd % w.GroupRows != 0 && rowEnd != w.Rows)) throw new ArgumentException("interleaved rows go by whole groups");
                RunRange(rowStart / w.GroupRows, (rowEnd + w.GroupRows - 1) / w.GroupRows, _interleaved, Math.Max(1, minChunk / w.GroupRows));
                return;
            }
            if (_model.UseNativeKernels)
            {
                // The same kernels row for row (the native ones widen F16/BF16 activations for tinyBLAS themselves).
                int gemmRows = kernel == MatMulKernel.Repacked ? Math.Max(0, Math.Min(rows, _evalLength - _evalLength % 4 - (_evalOffset + firstRow))) : 0;
                _native.Set(w, kernel, gemmRows, _actRows.Quantize(input, inStride, rows, w, native: true), output, outStride, rows);
                RunRange(rowStart, rowEnd, _native, minChunk);
                return;
            }
            if (kernel == MatMulKernel.TinyBlas)
            {
                float[] act = input;
                int stride = inStride;
                if (w.Type != TensorType.F32)
                {
                    // ggml first converts the activations to the weight's vec_dot type (F16/BF16); widening back is exact.
                    var rounded = _actRows.Quantize(input, inStride, rows, w);
                    _widened ??= new float[MaxBatch * Math.Max(_c.Dim, Math.Max(_c.QueryDim, _c.FeedForwardDim))];
                    for (int t = 0; t < rows; t++)
                        Dequantizer.DequantizeRow(w.Type, rounded.Row(t), _widened.AsSpan(t * w.Cols, w.Cols));
                    act = _widened;
                    stride = w.Cols;
                }

                _gemm.Set(w, act, stride, output, outStride, rows);
                RunRange(rowStart, rowEnd, _gemm, minChunk);
                return;
            }

            _matmul.Set(w, kernel, _actRows.Quantize(input, inStride, rows, w), output, outStride, rows, _evalOffset + firstRow, _evalLength);
            RunRange(rowStart, rowEnd, _matmul, minChunk);
        }

        /// <summary>Items [<paramref name="start"/>, <paramref name="end"/>) of <paramref name="work"/> on the pool.</summary>
        private void RunRange(int start, int end, IRangeWork work, int minChunk)
        {
            if (start == 0)
            {
                _pool.Run(end, work, minChunk);
                return;
            }
            _offset.Set(work, start);
            _pool.Run(end - start, _offset, minChunk);
        }

        /// <summary>A range of items shifted by an offset (a slice of a matrix's rows).</summary>
        private sealed class OffsetWork : IRangeWork
        {
            private IRangeWork _inner = null!;
            private int _offset;

            public void Set(IRangeWork inner, int offset)
            {
                _inner = inner;
                _offset = offset;
            }

            public void Execute(int start, int end) => _inner.Execute(start + _offset, end + _offset);
        }

        private static unsafe bool HasInterleaved(WeightMatrix w) => w.Interleaved != null;

        /// <summary>cos/sin of every rotated pair at one position, computed as ggml's rope cache does (float, iterated theta).</summary>
        private void RopeTables(int pos, Span<float> cos, Span<float> sin)
        {
            float thetaScale = MathF.Pow(_c.RopeFreqBase, -2.0f / _c.RopeDim);
            float theta = pos;
            for (int i = 0; i < cos.Length; i++)
            {
                float t = _c.RopeFreqScale * theta;
                cos[i] = MathF.Cos(t);
                sin[i] = MathF.Sin(t);
                theta *= thetaScale;
            }
        }

        private void Rope(Span<float> head, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin)
        {
            int half = cos.Length;
            if (_c.Architecture.Rope == RopeStyle.Normal)
            {
                for (int i = 0; i < half; i++)
                {
                    float x0 = head[2 * i], x1 = head[2 * i + 1];
                    head[2 * i] = RopeA(x0, x1, cos[i], sin[i]);
                    head[2 * i + 1] = RopeB(x0, x1, cos[i], sin[i]);
                }
            }
            else
            {
                for (int i = 0; i < half; i++)
                {
                    float x0 = head[i], x1 = head[i + half];
                    head[i] = RopeA(x0, x1, cos[i], sin[i]);
                    head[i + half] = RopeB(x0, x1, cos[i], sin[i]);
                }
            }
        }

        // ggml's rope (ops.cpp) computes x0*cos - x1*sin and x0*sin + x1*cos with the first product fused into an FMA.
        private static float RopeA(float x0, float x1, float c, float s) => GgmlMath.FusedMultiplyAdd(x0, c, -(x1 * s));

        private static float RopeB(float x0, float x1, float c, float s) => GgmlMath.FusedMultiplyAdd(x0, s, x1 * c);

        /// <summary>Activation rows converted once to a weight's dot partner type, reused by every matrix that reads the same input.</summary>
        private sealed class ActivationRows
        {
            private readonly int _maxRows;
            private readonly int _maxCols;
            private byte[] _buffer = Array.Empty<byte>();
            private TensorType _type;
            private bool _valid;

            public ActivationRows(int maxRows, int maxCols)
            {
                _maxRows = maxRows;
                _maxCols = maxCols;
            }

            public int RowBytes { get; private set; }

            public void Invalidate() => _valid = false;

            /// <summary>
            /// The rows in <paramref name="w"/>'s dot partner type; <paramref name="native"/>: by the plugin on the
            /// netstandard builds (the same bytes, faster than their scalar quantizers).
            /// </summary>
            public ActivationRows Quantize(float[] input, int stride, int rows, WeightMatrix w, bool native = false)
            {
                var type = TensorTypeInfo.VecDotType(w.Type);
                if (_valid && type == _type) return this;
                int cols = w.Cols;
                RowBytes = (int)TensorTypeInfo.RowBytes(type, cols);
                int needed = RowBytes * rows;
                if (_buffer.Length < needed) _buffer = new byte[Math.Max(needed, (int)TensorTypeInfo.RowBytes(type, RoundUp(_maxCols, 256)) * _maxRows)];
                for (int r = 0; r < rows; r++)
                {
                    var src = input.AsSpan(r * stride, cols);
                    var dst = _buffer.AsSpan(r * RowBytes, RowBytes);
#if !NET
                    if (native)
                    {
                        NpcSdk.Native.NativeKernels.QuantizeRow(type, src, dst);
                        continue;
                    }
#endif
                    Quantizer.QuantizeRow(type, src, dst);
                }
                _type = type;
                _valid = true;
                return this;
            }

            public ReadOnlySpan<byte> Row(int r) => _buffer.AsSpan(r * RowBytes, RowBytes);

            public ReadOnlySpan<byte> Rows(int count) => _buffer.AsSpan(0, count * RowBytes);

            private static int RoundUp(int x, int m) => (x + m - 1) / m * m;
        }

        /// <summary>The tinyBLAS float path of <see cref="FloatGemm"/> over a range of weight rows.</summary>
        private sealed class FloatGemmWork : IRangeWork
        {
            private WeightMatrix _w = null!;
            private float[] _act = null!, _out = null!;
            private int _actStride, _outStride, _batch;

            public void Set(WeightMatrix w, float[] act, int actStride, float[] output, int outStride, int batch)
            {
                _w = w; _act = act; _actStride = actStride; _out = output; _outStride = outStride; _batch = batch;
            }

            public void Execute(int start, int end) =>
                FloatGemm.Compute(_w.Type, _w.RowSpan(start, end - start), end - start, _w.Cols, _act, _actStride, _batch,
                    _out.AsSpan(start), _outStride, _w.FiniteHalves);
        }

        /// <summary>
        /// Interleaved weights (<see cref="Q4_0Interleaved"/>, <see cref="Q4_KInterleaved"/>, <see cref="Q8_0Interleaved"/>,
        /// <see cref="Q5_0Interleaved"/>) over a range of row groups, every activation row at once, by the managed kernels or
        /// the plugin (Q4_0, Q4_K, Q5_0).
        /// </summary>
        private sealed class InterleavedWork : IRangeWork
        {
            private WeightMatrix _w = null!;
            private ActivationRows _act = null!;
            private float[] _out = null!;
            private int _outStride, _batch, _firstRow, _gemmRows;
            private bool _native;

            /// <summary>Activation rows from <paramref name="firstRow"/> of a step whose rows before <paramref name="gemmRows"/> llama.cpp runs through its gemm.</summary>
            public void Set(WeightMatrix w, ActivationRows act, float[] output, int outStride, int batch, int firstRow, int gemmRows, bool native)
            {
                _w = w; _act = act; _out = output; _outStride = outStride; _batch = batch; _firstRow = firstRow; _gemmRows = gemmRows; _native = native;
            }

            public unsafe void Execute(int start, int end)
            {
                int groupRows = _w.GroupRows;
                if (_out.Length < (long)(_batch - 1) * _outStride + end * groupRows) throw new InvalidOperationException("output too short");
                fixed (byte* a = _act.Rows(_batch))
                fixed (float* o = _out)
                {
                    byte* w = _w.Interleaved + start * _w.GroupBytes;
                    float* first = o + start * groupRows;
                    if (_native)
                    {
                        if (_w.Type == TensorType.Q4_0)
                            NpcSdk.Native.NativeKernels.MatMulQ4_0Interleaved(w, _w.Cols, end - start, a, _act.RowBytes, _batch, first, _outStride);
                        else if (_w.Type == TensorType.Q5_0)
                            NpcSdk.Native.NativeKernels.MatMulQ5_0Interleaved(w, _w.Cols, end - start, a, _act.RowBytes, _batch, first, _outStride);
                        else
                            NpcSdk.Native.NativeKernels.MatMulQ4_KInterleaved(w, _w.Cols, end - start, a, _act.RowBytes, _batch, _firstRow, _gemmRows, first, _outStride);
                        return;
                    }
#if NET
                    if (_w.Type == TensorType.Q4_0)
                        Q4_0Interleaved.Compute(w, _w.Cols, end - start, a, _act.RowBytes, _batch, first, _outStride);
                    else if (_w.Type == TensorType.Q4_K)
                        Q4_KInterleaved.Compute(w, _w.Cols, end - start, a, _act.RowBytes, _batch, _firstRow, _gemmRows, first, _outStride);
                    else if (_w.Type == TensorType.Q5_0)
                        Q5_0Interleaved.Compute(w, _w.Cols, end - start, a, _act.RowBytes, _batch, first, _outStride);
                    else
                        Q8_0Interleaved.Compute(w, _w.Cols, end - start, a, _act.RowBytes, _batch, first, _outStride);
#else
                    throw new InvalidOperationException("interleaved weights without the native kernels");
#endif
                }
            }
        }

        /// <summary>The native plugin's matrix product over a range of weight rows, every activation row at once, with the managed kernel choice.</summary>
        private sealed class NativeMatMulWork : IRangeWork
        {
            private WeightMatrix _w = null!;
            private MatMulKernel _kernel;
            private ActivationRows _act = null!;
            private float[] _out = null!;
            private int _gemmRows, _outStride, _batch;

            public void Set(WeightMatrix w, MatMulKernel kernel, int gemmRows, ActivationRows act, float[] output, int outStride, int batch)
            {
                _w = w; _kernel = kernel; _gemmRows = gemmRows; _act = act; _out = output; _outStride = outStride; _batch = batch;
            }

            public void Execute(int start, int end) =>
                NpcSdk.Native.NativeKernels.MatMul(_kernel, _gemmRows, _w.Type, _w.RowSpan(0, end), _w.Cols, _act.Rows(_batch), _batch,
                    _out.AsSpan(start), _outStride, start, end);
        }

        /// <summary>output[t, r] = W[r] · act[t] for a range of weight rows; rows are walked in small blocks so each stays in cache across the batch.</summary>
        private sealed class MatMulWork : IRangeWork
        {
            /// <summary>Bytes of weights a row block aims for: it is reused from L1/L2 by every activation row of the batch.</summary>
            private const int RowBlockBytes = 16384;
            private WeightMatrix _w = null!;
            private MatMulKernel _kernel;
            private ActivationRows _act = null!;
            private float[] _out = null!;
            private int _outStride, _batch, _firstRow, _stepBatch;

            /// <summary><paramref name="batch"/> activation rows, the first being row <paramref name="firstRow"/> of a <paramref name="stepBatch"/>-row mul_mat.</summary>
            public void Set(WeightMatrix w, MatMulKernel kernel, ActivationRows act, float[] output, int outStride, int batch, int firstRow, int stepBatch)
            {
                _w = w; _kernel = kernel; _act = act; _out = output; _outStride = outStride; _batch = batch; _firstRow = firstRow; _stepBatch = stepBatch;
            }

            public void Execute(int start, int end)
            {
                // At least 16 rows, more when rows are short, so a call does enough work to hide its overhead; a multiple
                // of 8, the row group of the repacked kernels (left-over rows take their one-row path).
                // A single token has nothing to reuse between blocks: one call for the whole range.
                int rowBlock = _batch == 1 ? Math.Max(1, end - start) : Math.Max(16, (int)(RowBlockBytes / TensorTypeInfo.RowBytes(_w.Type, _w.Cols)) & ~7);
                for (int r0 = start; r0 < end; r0 += rowBlock)
                {
                    int n = Math.Min(rowBlock, end - r0);
                    var rows = _w.RowSpan(r0, n);
                    if (MatVec.TryComputeTiled(_kernel, _w.Type, rows, n, _w.Cols, _act.Rows(_batch), _batch, _out.AsSpan(r0), _outStride)) continue;
                    for (int t = 0; t < _batch; t++)
                        MatVec.ComputeWith(MatMulKernels.ForRow(_kernel, _firstRow + t, _stepBatch), _w.Type, rows, _w.Cols, _act.Row(t), _out.AsSpan(t * _outStride + r0, n), 0, n,
                            rowsTogether: _batch >= 2, finiteHalves: _w.FiniteHalves);
                }
            }
        }
    }
}
