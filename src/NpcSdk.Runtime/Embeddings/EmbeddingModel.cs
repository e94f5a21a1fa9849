using System;
using System.Collections.Generic;
using NpcSdk.Compute;
using NpcSdk.Gguf;
using NpcSdk.Models;
using NpcSdk.Tokenization;

namespace NpcSdk.Embeddings
{
    /// <summary>
    /// A sentence-embedding model (BERT architecture, e.g. all-MiniLM-L6-v2) loaded from a GGUF file: text in, a
    /// unit-length vector out, the numbers of llama.cpp's <c>llama-embedding --pooling mean --embd-normalize 2</c> on that
    /// file (to the last bit on x86 with AVX2 and FMA; the netstandard2.1 build within rounding).
    /// </summary>
    /// <remarks>
    /// Texts are tokenized with the file's WordPiece vocabulary ([CLS] … [SEP], special-token texts such as "[SEP]"
    /// parsed, as <c>llama-embedding</c> does), run through the encoder, pooled as the file says (mean for
    /// sentence-transformers models) and L2-normalised, so <see cref="Cosine"/> of two embeddings is their dot product.
    /// Calls are thread-safe; they run one at a time, each on all of the model's threads; the thread count never changes
    /// a result.
    /// </remarks>
    public sealed class EmbeddingModel : IDisposable
    {
        private readonly GgufFile _file;
        private readonly BertConfig _config;
        private readonly GgufWordPieceTokenizer _tokenizer;
        private readonly WorkerPool _pool;
        private readonly BertEncoder _encoder;
        private readonly object _gate = new object();
        private bool _disposed;

        private EmbeddingModel(GgufFile file, int threads)
        {
            _file = file;
            _config = BertConfig.FromGguf(file);
            var weights = BertWeights.Load(file, _config);
            _tokenizer = GgufWordPieceTokenizer.FromGguf(file);
            if (_tokenizer.VocabSize != _config.VocabSize)
                throw new GgufFormatException($"{file.Source}: the tokenizer has {_tokenizer.VocabSize} tokens but token_embd.weight has {_config.VocabSize} rows");
            _pool = new WorkerPool(threads);
            _encoder = new BertEncoder(_config, weights, _pool);
        }

        /// <summary>Maps a GGUF embedding model and prepares it to run.</summary>
        /// <param name="path">The GGUF file.</param>
        /// <param name="threads">Compute threads, the caller's included.</param>
        /// <exception cref="System.IO.FileNotFoundException">The file does not exist.</exception>
        /// <exception cref="ModelNotSupportedException">The file is not a <c>bert</c> model (the message names its architecture), or uses a feature this runtime does not run.</exception>
        /// <exception cref="GgufFormatException">The file is malformed or a tensor is missing (the message names it).</exception>
        /// <exception cref="TokenizerNotSupportedException">The vocabulary is not WordPiece.</exception>
        public static EmbeddingModel Load(string path, int threads = 1)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "at least 1 thread");
            var file = GgufFile.Open(path);
            try
            {
                return new EmbeddingModel(file, threads);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        /// <summary>Length of every embedding (the model width, 384 for MiniLM-L6).</summary>
        public int Dimensions => _config.Dim;

        /// <summary>The most tokens one text may have, [CLS] and [SEP] included.</summary>
        public int ContextLength => _config.ContextLength;

        /// <summary>The token ids the model sees for <paramref name="text"/>: [CLS], the WordPiece ids, [SEP].</summary>
        public int[] Tokenize(string text)
        {
            if (text == null) throw new ArgumentNullException(nameof(text));
            return _tokenizer.Encode(text, addSpecial: true, parseSpecial: true);
        }

        /// <summary>The unit-length embedding of <paramref name="text"/>.</summary>
        /// <exception cref="ArgumentException">The text has more than <see cref="ContextLength"/> tokens.</exception>
        public float[] Embed(string text) => Embed(new[] { text ?? throw new ArgumentNullException(nameof(text)) })[0];

        /// <summary>
        /// The embeddings of several texts, in order, computed as <c>llama-embedding</c> computes a list of prompts: the
        /// texts share batches of up to 2048 tokens (its default <c>-b</c>), each attending to itself only.
        /// </summary>
        /// <remarks>
        /// A text's vector depends slightly on its batch (llama.cpp's attention kernel rounds differently for batches of
        /// 64 tokens or more, and tiles them from the batch start): cosine with the same text embedded alone stays above
        /// 0.9998. The results equal llama.cpp's for the same list.
        /// </remarks>
        /// <exception cref="ArgumentException">A text has more than <see cref="ContextLength"/> tokens.</exception>
        public float[][] Embed(IReadOnlyList<string> texts)
        {
            if (texts == null) throw new ArgumentNullException(nameof(texts));
            var ids = new int[texts.Count][];
            for (int i = 0; i < ids.Length; i++)
            {
                ids[i] = Tokenize(texts[i] ?? throw new ArgumentNullException(nameof(texts), $"text {i} is null"));
                if (ids[i].Length > _config.ContextLength)
                    throw new ArgumentException($"{(ids.Length == 1 ? "the text" : $"text {i}")} has {ids[i].Length} tokens; this model takes at most {_config.ContextLength}", nameof(texts));
            }

            var result = new float[ids.Length][];
            var batch = new List<int[]>();
            int first = 0, tokens = 0;
            for (int i = 0; i <= ids.Length; i++)
            {
                // llama-embedding decodes the batch when the next prompt would not fit.
                if (i == ids.Length || (batch.Count > 0 && (tokens + ids[i].Length > MaxBatchTokens || batch.Count == MaxBatchSequences)))
                {
                    if (batch.Count > 0) EmbedBatch(batch, result, first);
                    batch.Clear();
                    first = i;
                    tokens = 0;
                }
                if (i == ids.Length) break;
                batch.Add(ids[i]);
                tokens += ids[i].Length;
            }
            return result;
        }

        /// <summary>llama-embedding's default batch size (<c>-b 2048</c>).</summary>
        private const int MaxBatchTokens = 2048;

        /// <summary>llama.cpp's LLAMA_MAX_SEQ: sequences one batch can hold.</summary>
        private const int MaxBatchSequences = 256;

        private void EmbedBatch(List<int[]> batch, float[][] result, int first)
        {
            lock (_gate)
            {
                if (_disposed) throw new ObjectDisposedException(nameof(EmbeddingModel), $"{_file.Source} was closed");
                ReadOnlySpan<float> hidden = _encoder.Encode(batch);
                int offset = 0;
                for (int s = 0; s < batch.Count; s++)
                {
                    var embedding = new float[_config.Dim];
                    int n = batch[s].Length;
                    SentencePooling.Pool(hidden.Slice(offset * _config.Dim, n * _config.Dim), n, _config.Pooling, embedding);
                    result[first + s] = embedding;
                    offset += n;
                }
            }
        }

        /// <summary>Cosine similarity of two vectors of equal length (for <see cref="Embed(string)"/> results, their dot product); 0 if either is zero.</summary>
        /// <exception cref="ArgumentException">The lengths differ.</exception>
        public static float Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            if (a.Length != b.Length) throw new ArgumentException($"vectors of length {a.Length} and {b.Length} cannot be compared", nameof(b));
            double dot = 0, aa = 0, bb = 0;
            for (int i = 0; i < a.Length; i++)
            {
                dot += (double)a[i] * b[i];
                aa += (double)a[i] * a[i];
                bb += (double)b[i] * b[i];
            }
            return aa == 0 || bb == 0 ? 0f : (float)(dot / Math.Sqrt(aa * bb));
        }

        /// <summary>Stops the worker threads and unmaps the file.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                if (_disposed) return;
                _disposed = true;
                _pool.Dispose();
                _file.Dispose();
            }
        }
    }
}
