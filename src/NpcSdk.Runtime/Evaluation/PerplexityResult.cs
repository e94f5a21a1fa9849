using System;
using System.Collections.Generic;

namespace NpcSdk.Evaluation
{
    /// <summary>
    /// The result of <see cref="Perplexity.Measure(Models.Model, string, PerplexityOptions?)"/>: llama-perplexity's
    /// PPL, plus the same loss per token, character and word in bits.
    /// </summary>
    public sealed class PerplexityResult
    {
        internal PerplexityResult(int contextLength, int textTokens, IReadOnlyList<PerplexityChunk> chunks, double sumNll, double sumNllSquared)
        {
            ContextLength = contextLength;
            TextTokens = textTokens;
            Chunks = chunks;
            foreach (var c in chunks)
            {
                ScoredTokens += c.ScoredTokens;
                Characters += c.Characters;
                Words += c.Words;
            }
            NegativeLogLikelihood = sumNll;
            double mean = sumNll / ScoredTokens;
            double variance = sumNllSquared / ScoredTokens - mean * mean;
            PerplexityStandardError = ScoredTokens > 1 && variance > 0 ? Math.Sqrt(variance / (ScoredTokens - 1)) * Math.Exp(mean) : 0;
        }

        /// <summary>Tokens per chunk.</summary>
        public int ContextLength { get; }

        /// <summary>Tokens of the whole text (BOS included when the vocabulary adds it).</summary>
        public int TextTokens { get; }

        /// <summary>The evaluated chunks, in order.</summary>
        public IReadOnlyList<PerplexityChunk> Chunks { get; }

        /// <summary>Tokens scored over all chunks.</summary>
        public int ScoredTokens { get; }

        /// <summary>
        /// Characters of the scored text: for each chunk, the text of its scored tokens (their pieces' bytes
        /// concatenated, special tokens as their text), counted in Unicode code points. A character split over tokens
        /// (byte fallback) counts once, in the chunk that holds its first byte.
        /// </summary>
        public long Characters { get; }

        /// <summary>
        /// Whitespace-separated words of the scored text: code points that are not white space and follow white space
        /// (or start the text), counted in the chunk where they occur. So a word cut by a chunk's scored span counts
        /// only where it starts.
        /// </summary>
        public long Words { get; }

        /// <summary>Summed negative log-likelihood of the scored tokens, in nats.</summary>
        public double NegativeLogLikelihood { get; }

        /// <summary>Mean negative log-likelihood per scored token, in nats.</summary>
        public double MeanNegativeLogLikelihood => NegativeLogLikelihood / ScoredTokens;

        /// <summary><c>exp(mean NLL)</c>, llama-perplexity's final estimate.</summary>
        public double Value => Math.Exp(MeanNegativeLogLikelihood);

        /// <summary>llama-perplexity's <c>+/-</c>: the standard error of the mean NLL times the perplexity.</summary>
        public double PerplexityStandardError { get; }

        /// <summary>Total information in bits: NLL / ln 2.</summary>
        public double Bits => NegativeLogLikelihood / Math.Log(2);

        /// <summary>Bits per scored token: mean NLL / ln 2.</summary>
        public double BitsPerToken => Bits / ScoredTokens;

        /// <summary>Bits per character: <see cref="Bits"/> / <see cref="Characters"/>.</summary>
        public double BitsPerCharacter => Characters > 0 ? Bits / Characters : double.NaN;

        /// <summary>Bits per word: <see cref="Bits"/> / <see cref="Words"/>.</summary>
        public double BitsPerWord => Words > 0 ? Bits / Words : double.NaN;
    }
}
