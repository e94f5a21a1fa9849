using System;
using System.Collections.Generic;
using NpcSdk.Generation;
using NpcSdk.Models;
using NpcSdk.Tokenization;

namespace NpcSdk.Evaluation
{
    /// <summary>
    /// Perplexity of a model on a text, measured as llama.cpp's llama-perplexity does
    /// (<c>tools/perplexity/perplexity.cpp</c>, <c>perplexity()</c>):
    /// <list type="number">
    /// <item>the whole text is tokenized once, with BOS if the vocabulary adds it and special tokens not parsed;</item>
    /// <item>it is cut into <c>floor(tokens / n_ctx)</c> chunks of n_ctx tokens (the rest is not used);</item>
    /// <item>each chunk is evaluated from an empty KV cache with its first token replaced by BOS;</item>
    /// <item>only the second half is scored: the logits at positions n_ctx/2 .. n_ctx-2 predict tokens
    /// n_ctx/2+1 .. n_ctx-1, so each chunk scores n_ctx - n_ctx/2 - 1 tokens, all with at least n_ctx/2 of context;</item>
    /// <item>PPL = exp(mean negative log-likelihood over every scored token).</item>
    /// </list>
    /// </summary>
    public static class Perplexity
    {
        /// <summary>Measures <paramref name="model"/>'s perplexity on <paramref name="text"/>.</summary>
        /// <exception cref="ArgumentException">The text has fewer than 2 × n_ctx tokens (llama-perplexity refuses it too).</exception>
        public static PerplexityResult Measure(Model model, string text, PerplexityOptions? options = null)
        {
            if (model == null) throw new ArgumentNullException(nameof(model));
            if (text == null) throw new ArgumentNullException(nameof(text));
            options ??= new PerplexityOptions();
            int[] tokens = model.Tokenizer.Encode(text, addSpecial: true, parseSpecial: options.ParseSpecial);
            return Measure(model, tokens, options);
        }

        /// <summary>Measures <paramref name="model"/>'s perplexity on an already tokenized text (BOS included if wanted).</summary>
        /// <exception cref="ArgumentException">There are fewer than 2 × n_ctx tokens.</exception>
        public static PerplexityResult Measure(Model model, IReadOnlyList<int> tokens, PerplexityOptions? options = null)
        {
            if (model == null) throw new ArgumentNullException(nameof(model));
            if (tokens == null) throw new ArgumentNullException(nameof(tokens));
            options ??= new PerplexityOptions();
            int n = ContextLengthFor(model, options);
            if (n < 4) throw new ArgumentOutOfRangeException(nameof(options), n, "the context length must be at least 4 tokens");
            if (tokens.Count < 2 * n)
                throw new ArgumentException($"the text tokenizes to {tokens.Count} tokens; perplexity with a context of {n} needs at least {2 * n}", nameof(tokens));
            int chunkCount = tokens.Count / n;
            if (options.MaxChunks > 0) chunkCount = Math.Min(chunkCount, options.MaxChunks);
            int first = n / 2;
            GgufTokenizer tokenizer = model.Tokenizer;
            using var session = model.CreateSession(new SessionOptions
            {
                ContextLength = n,
                BatchSize = options.BatchSize > 0 ? options.BatchSize : n,
                KvCacheType = options.KvCacheType,
                DropOldTurnsOnOverflow = false,
            });

            var chunks = new List<PerplexityChunk>(chunkCount);
            double sum = 0, sumSquares = 0;
            int scoredSoFar = 0;
            var chunk = new int[n];
            for (int c = 0; c < chunkCount; c++)
            {
                int start = c * n;
                for (int i = 0; i < n; i++) chunk[i] = tokens[start + i];
                if (tokenizer.AddBos) chunk[0] = tokenizer.BosId;

                session.Reset();
                // The first half only gives context: no logits are needed there.
                session.Evaluate(new ArraySegment<int>(chunk, 0, first));
                double chunkSum = 0;
                session.Evaluate(new ArraySegment<int>(chunk, first, n - first), (pos, logits) =>
                {
                    if (pos >= n - 1) return;
                    double nll = NegativeLogLikelihood(logits, tokens[start + pos + 1]);
                    chunkSum += nll;
                    sumSquares += nll * nll;
                });
                sum += chunkSum;
                int scored = n - first - 1;
                scoredSoFar += scored;
                CountText(tokenizer, tokens, start + first, start + n, out long characters, out long words);
                var done = new PerplexityChunk(c, chunkCount, start, scored, chunkSum, characters, words, Math.Exp(sum / scoredSoFar));
                chunks.Add(done);
                options.ChunkDone?.Invoke(done);
            }
            return new PerplexityResult(n, tokens.Count, chunks, sum, sumSquares);
        }

        /// <summary>Tokens per chunk: the option, or the model's training context capped at 4096.</summary>
        internal static int ContextLengthFor(Model model, PerplexityOptions options) =>
            options.ContextLength > 0 ? options.ContextLength : Math.Min(model.Config.ContextLength, 4096);

        /// <summary>
        /// <c>-log softmax(logits)[token]</c> as llama-perplexity computes it: float exponentials of logit − max,
        /// summed in double.
        /// </summary>
        internal static double NegativeLogLikelihood(float[] logits, int token)
        {
            float max = logits[0];
            for (int i = 1; i < logits.Length; i++) max = Math.Max(max, logits[i]);
            double sumExp = 0;
            for (int i = 0; i < logits.Length; i++) sumExp += MathF.Exp(logits[i] - max);
            return -(logits[token] - max - Math.Log(sumExp));
        }

        /// <summary>
        /// Counts the characters and word starts of the text of <c>tokens[from + 1 .. to)</c> (the scored tokens),
        /// reading <c>tokens[from]</c> too so that a character or word running into the span is seen as such.
        /// </summary>
        internal static void CountText(GgufTokenizer tokenizer, IReadOnlyList<int> tokens, int from, int to, out long characters, out long words)
        {
            byte[] context = tokenizer.TokenToPiece(tokens[from], special: true);
            var bytes = new List<byte>(context);
            int scoredStart = bytes.Count;
            for (int i = from + 1; i < to; i++) bytes.AddRange(tokenizer.TokenToPiece(tokens[i], special: true));
            byte[] text = bytes.ToArray();

            characters = 0;
            words = 0;
            bool afterSpace = true; // the text's start counts as white space
            for (int p = 0; p < text.Length;)
            {
                int length = DecodeCodePoint(text, p, out int codePoint);
                if (length == 0)
                {
                    // A continuation byte whose lead byte came earlier: part of a character already counted.
                    p++;
                    continue;
                }
                bool space = codePoint >= 0 && codePoint <= 0xFFFF && char.IsWhiteSpace((char)codePoint);
                if (p >= scoredStart)
                {
                    characters++;
                    if (!space && afterSpace) words++;
                }
                afterSpace = space;
                p += length;
            }
        }

        /// <summary>
        /// Decodes the UTF-8 code point at <paramref name="p"/>: its length in bytes, 0 for a stray continuation byte.
        /// A lead byte without all its continuation bytes still makes one (non-space) character.
        /// </summary>
        private static int DecodeCodePoint(byte[] s, int p, out int codePoint)
        {
            byte b = s[p];
            codePoint = b;
            if (b < 0x80) return 1;
            if (b < 0xC0) return 0;
            int length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
            codePoint = b & (0x7F >> length);
            int k = 1;
            for (; k < length && p + k < s.Length && (s[p + k] & 0xC0) == 0x80; k++) codePoint = codePoint << 6 | (s[p + k] & 0x3F);
            if (k < length) codePoint = -1; // truncated: not white space
            return k;
        }
    }
}
