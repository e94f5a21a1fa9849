using System;
using System.Collections.Generic;
using NpcSdk.Compute;
using NpcSdk.Models;
using NpcSdk.Tensors;

namespace NpcSdk.Embeddings
{
    /// <summary>
    /// The BERT encoder forward pass: token ids in, one hidden state per token out. Holds the scratch buffers of one
    /// batch at a time (not thread-safe); the weights are views into the mapped file.
    /// </summary>
    /// <remarks>
    /// The math follows llama.cpp's <c>llm_build_bert</c>:
    /// x = LayerNorm(tok_embd[id] + token_types[0] + position_embd[pos]); per layer (post-norm)
    /// h = LayerNorm(x + Wo·Attention(Wq·x + bq, Wk·x + bk, Wv·x + bv) + bo);
    /// x = LayerNorm(h + Wdown·GELU(Wup·h + bup) + bdown).
    /// Matrix products quantize the activations to the weights' dot partner type (Q8_0 for Q8_0 weights), as ggml-cpu does.
    /// </remarks>
    internal sealed class BertEncoder
    {
        private readonly BertConfig _c;
        private readonly BertWeights _w;
        private readonly WorkerPool _pool;
        private readonly MatMulWork _matmul = new MatMulWork();
        private readonly FlashAttention _attention;
        private readonly QuantizedRows _rows = new QuantizedRows();

        private float[] _x = Array.Empty<float>(), _h = Array.Empty<float>(), _q = Array.Empty<float>(), _k = Array.Empty<float>();
        private float[] _v = Array.Empty<float>(), _att = Array.Empty<float>(), _ff = Array.Empty<float>();
        private int[] _sequenceStart = Array.Empty<int>(), _sequenceLength = Array.Empty<int>();
        private int _tokens;

        public BertEncoder(BertConfig config, BertWeights weights, WorkerPool pool)
        {
            _c = config;
            _w = weights;
            _pool = pool;
            _attention = new FlashAttention(config);
        }

        /// <summary>
        /// Runs the encoder over a batch of sequences, as one llama.cpp batch (each token attends to its own sequence only),
        /// and returns the hidden states of all their tokens in order, <see cref="BertConfig.Dim"/> floats each, valid until
        /// the next call.
        /// </summary>
        public ReadOnlySpan<float> Encode(IReadOnlyList<int[]> sequences)
        {
            int total = 0;
            foreach (int[] s in sequences)
            {
                if (s.Length == 0 || s.Length > _c.ContextLength)
                    throw new ArgumentOutOfRangeException(nameof(sequences), s.Length, $"a sequence must hold 1..{_c.ContextLength} tokens");
                total += s.Length;
            }
            Reserve(total);
            int t = 0;
            foreach (int[] s in sequences)
            {
                for (int i = 0; i < s.Length; i++, t++)
                {
                    _sequenceStart[t] = t - i;
                    _sequenceLength[t] = s.Length;
                    Embed(t, s[i], i);
                }
            }
            foreach (BertLayerWeights layer in _w.Layers) RunLayer(layer);
            return new ReadOnlySpan<float>(_x, 0, _tokens * _c.Dim);
        }

        /// <summary>Row t = LayerNorm(token + token type 0 + position), the order of llama.cpp's additions.</summary>
        private void Embed(int t, int id, int position)
        {
            int dim = _c.Dim;
            if ((uint)id >= (uint)_c.VocabSize)
                throw new ArgumentOutOfRangeException(nameof(id), id, $"token id outside the vocabulary (0..{_c.VocabSize - 1})");
            var x = _x.AsSpan(t * dim, dim);
            Dequantizer.DequantizeRow(_w.TokenEmbedding.Type, _w.TokenEmbedding.RowSpan(id, 1), x);
            if (_w.TokenType0 != null) VectorOps.Add(x, _w.TokenType0);
            var positionRow = _ff.AsSpan(0, dim);
            Dequantizer.DequantizeRow(_w.PositionEmbedding.Type, _w.PositionEmbedding.RowSpan(position, 1), positionRow);
            VectorOps.Add(x, positionRow);
            LayerNorm.Apply(x, _w.EmbeddingNorm, _c.LayerNormEpsilon, x);
        }

        /// <summary>One post-norm encoder block: self-attention, add and norm, feed-forward, add and norm.</summary>
        private void RunLayer(BertLayerWeights w)
        {
            int dim = _c.Dim, ff = _c.FeedForwardDim, T = _tokens;

            // Self-attention over the whole sequence.
            Linear(w.Wq, w.Bq, _x, _q);
            Linear(w.Wk, w.Bk, _x, _k);
            Linear(w.Wv, w.Bv, _x, _v);
            _attention.Set(_q, _k, _v, _att, T, _sequenceStart, _sequenceLength);
            _pool.Run(_attention.ItemCount, _attention);
            Linear(w.Wo, w.Bo, _att, _h);
            for (int t = 0; t < T; t++)
            {
                var h = _h.AsSpan(t * dim, dim);
                VectorOps.Add(h, _x.AsSpan(t * dim, dim));
                LayerNorm.Apply(h, w.AttentionOutputNorm, _c.LayerNormEpsilon, h);
            }

            // Feed-forward.
            Linear(w.Up, w.BUp, _h, _ff);
            for (int t = 0; t < T; t++) Gelu.Apply(_ff.AsSpan(t * ff, ff));
            Linear(w.Down, w.BDown, _ff, _x);
            for (int t = 0; t < T; t++)
            {
                var x = _x.AsSpan(t * dim, dim);
                VectorOps.Add(x, _h.AsSpan(t * dim, dim));
                LayerNorm.Apply(x, w.OutputNorm, _c.LayerNormEpsilon, x);
            }
        }

        /// <summary>output[t] = W·input[t] + bias for every token.</summary>
        private void Linear(WeightMatrix w, float[] bias, float[] input, float[] output)
        {
            _rows.Quantize(input, _tokens, w);
            _matmul.Set(w, _rows, output, _tokens);
            _pool.Run(w.Rows, _matmul, minChunk: 16);
            for (int t = 0; t < _tokens; t++) VectorOps.Add(output.AsSpan(t * w.Rows, w.Rows), bias);
        }

        private void Reserve(int tokens)
        {
            _tokens = tokens;
            int dim = _c.Dim, ff = _c.FeedForwardDim;
            if (_sequenceStart.Length >= tokens) return;
            int capacity = Math.Max(tokens, 64);
            _x = new float[capacity * dim];
            _h = new float[capacity * dim];
            _q = new float[capacity * dim];
            _k = new float[capacity * dim];
            _v = new float[capacity * dim];
            _att = new float[capacity * dim];
            _ff = new float[capacity * ff];
            _sequenceStart = new int[capacity];
            _sequenceLength = new int[capacity];
        }

        /// <summary>
        /// Activation rows converted to a weight's dot partner type (<see cref="TensorTypeInfo.VecDotType"/>), reused when
        /// the next matrix reads the same input array in the same type (Wq, Wk and Wv share one conversion). The encoder
        /// never writes an input between two products that read it, so "same array as the last call" means same data.
        /// </summary>
        private sealed class QuantizedRows
        {
            private byte[] _buffer = Array.Empty<byte>();
            private float[]? _source;
            private TensorType _type;
            private int _rows, _cols;

            public int RowBytes { get; private set; }

            public void Quantize(float[] input, int rows, WeightMatrix w)
            {
                var type = TensorTypeInfo.VecDotType(w.Type);
                if (ReferenceEquals(input, _source) && type == _type && rows == _rows && w.Cols == _cols) return;
                RowBytes = (int)TensorTypeInfo.RowBytes(type, w.Cols);
                if (_buffer.Length < RowBytes * rows) _buffer = new byte[RowBytes * rows];
                for (int r = 0; r < rows; r++)
                    Quantizer.QuantizeRow(type, new ReadOnlySpan<float>(input, r * w.Cols, w.Cols), _buffer.AsSpan(r * RowBytes, RowBytes));
                _source = input;
                _type = type;
                _rows = rows;
                _cols = w.Cols;
            }

            public ReadOnlySpan<byte> Row(int r) => new ReadOnlySpan<byte>(_buffer, r * RowBytes, RowBytes);
        }

        /// <summary>output[t, r] = W[r] · act[t] for a range of weight rows, walked in blocks that stay in cache across tokens.</summary>
        private sealed class MatMulWork : IRangeWork
        {
            private const int RowBlock = 16;
            private WeightMatrix _w = null!;
            private QuantizedRows _act = null!;
            private float[] _out = null!;
            private int _tokens;

            public void Set(WeightMatrix w, QuantizedRows act, float[] output, int tokens)
            {
                _w = w; _act = act; _out = output; _tokens = tokens;
            }

            public void Execute(int start, int end)
            {
                for (int r0 = start; r0 < end; r0 += RowBlock)
                {
                    int n = Math.Min(RowBlock, end - r0);
                    var rows = _w.RowSpan(r0, n);
                    for (int t = 0; t < _tokens; t++)
                    {
                        var output = _out.AsSpan(t * _w.Rows + r0, n);
                        if (_w.Type == TensorType.Q8_0) BatchedQ8_0Dot.Rows(rows, _w.Cols / 32, _act.Row(t), output, n);
                        else MatVec.Compute(_w.Type, rows, _w.Cols, _act.Row(t), output, 0, n);
                    }
                }
            }
        }
    }
}

