namespace NpcSdk.Evaluation
{
    /// <summary>One chunk of a <see cref="Perplexity"/> measurement.</summary>
    public sealed class PerplexityChunk
    {
        internal PerplexityChunk(int index, int count, int firstToken, int scoredTokens, double negativeLogLikelihood, long characters, long words, double runningPerplexity)
        {
            Index = index;
            Count = count;
            FirstToken = firstToken;
            ScoredTokens = scoredTokens;
            NegativeLogLikelihood = negativeLogLikelihood;
            Characters = characters;
            Words = words;
            RunningPerplexity = runningPerplexity;
        }

        /// <summary>Chunk number, from 0.</summary>
        public int Index { get; }

        /// <summary>Chunks in the whole measurement.</summary>
        public int Count { get; }

        /// <summary>Index in the tokenized text of the chunk's first token (replaced by BOS when evaluated).</summary>
        public int FirstToken { get; }

        /// <summary>Tokens scored: the second half of the chunk, <c>n_ctx - n_ctx/2 - 1</c>.</summary>
        public int ScoredTokens { get; }

        /// <summary>Summed negative log-likelihood of the scored tokens, in nats.</summary>
        public double NegativeLogLikelihood { get; }

        /// <summary>Mean negative log-likelihood per scored token, in nats.</summary>
        public double MeanNegativeLogLikelihood => NegativeLogLikelihood / ScoredTokens;

        /// <summary>This chunk's perplexity alone.</summary>
        public double Perplexity => System.Math.Exp(MeanNegativeLogLikelihood);

        /// <summary>Perplexity over this and every earlier chunk (what llama-perplexity prints as <c>[i]ppl</c>).</summary>
        public double RunningPerplexity { get; }

        /// <summary>Characters of the scored tokens' text (see <see cref="PerplexityResult.Characters"/>).</summary>
        public long Characters { get; }

        /// <summary>Words starting in the scored tokens' text (see <see cref="PerplexityResult.Words"/>).</summary>
        public long Words { get; }
    }
}
