using System;
using System.Collections.Generic;
using System.Threading;
using NpcSdk.Sampling;

namespace NpcSdk.Generation
{
    /// <summary>What to generate: tokens to append to the session (a turn), then up to <see cref="MaxTokens"/> sampled tokens.</summary>
    public sealed class GenerationRequest
    {
        /// <summary>Tokens appended to the session before generating (for example a rendered chat turn).</summary>
        public IReadOnlyList<int> Tokens { get; set; } = Array.Empty<int>();

        /// <summary>Most tokens to generate.</summary>
        public int MaxTokens { get; set; } = 128;

        /// <summary>Sampling settings (used when <see cref="Sampler"/> is null).</summary>
        public SamplingOptions Sampling { get; set; } = new SamplingOptions();

        /// <summary>A ready sampler chain (for example with a grammar constraint); overrides <see cref="Sampling"/>.</summary>
        public SamplerChain? Sampler { get; set; }

        /// <summary>Stop after the model's end-of-generation token (which is kept in the result's tokens).</summary>
        public bool StopAtEndOfGeneration { get; set; } = true;

        /// <summary>More tokens that end generation (kept in the result), e.g. the end of a tool call.</summary>
        public IReadOnlyCollection<int>? StopTokens { get; set; }

        /// <summary>Scheduling priority: higher runs first (e.g. the NPC the player talks to).</summary>
        public int Priority { get; set; }

        /// <summary>Cancels the request between two slices of work.</summary>
        public CancellationToken CancellationToken { get; set; }
    }

    /// <summary>Why generation stopped.</summary>
    public enum GenerationStopReason
    {
        /// <summary>The model produced an end-of-generation token.</summary>
        EndOfGeneration,
        /// <summary>The model produced one of <see cref="GenerationRequest.StopTokens"/>.</summary>
        StopToken,
        /// <summary><see cref="GenerationRequest.MaxTokens"/> were generated.</summary>
        MaxTokens,
        /// <summary>The request was cancelled.</summary>
        Cancelled,
        /// <summary>An error stopped it (see <see cref="GenerationResult.Error"/>).</summary>
        Failed,
    }

    /// <summary>The outcome of a generation request.</summary>
    public sealed class GenerationResult
    {
        internal GenerationResult(IReadOnlyList<int> tokens, string text, GenerationStopReason reason, Exception? error)
        {
            Tokens = tokens;
            Text = text;
            StopReason = reason;
            Error = error;
        }

        /// <summary>Generated token ids (an end-of-generation token included).</summary>
        public IReadOnlyList<int> Tokens { get; }

        /// <summary>Generated text (control tokens such as the end-of-generation marker not rendered).</summary>
        public string Text { get; }

        /// <summary>Why it stopped.</summary>
        public GenerationStopReason StopReason { get; }

        /// <summary>The error when <see cref="StopReason"/> is <see cref="GenerationStopReason.Failed"/>.</summary>
        public Exception? Error { get; }
    }

    /// <summary>What the session dropped to make room when its context filled up.</summary>
    public sealed class ContextTrim
    {
        internal ContextTrim(int pinned, IReadOnlyList<int> dropped, int kept)
        {
            PinnedLength = pinned;
            DroppedTokens = dropped;
            KeptLength = kept;
        }

        /// <summary>Tokens at the start that were kept untouched (the pinned prefix).</summary>
        public int PinnedLength { get; }

        /// <summary>The oldest turns after the pinned prefix that were dropped.</summary>
        public IReadOnlyList<int> DroppedTokens { get; }

        /// <summary>Tokens in the context after trimming (before new tokens are added).</summary>
        public int KeptLength { get; }
    }
}
