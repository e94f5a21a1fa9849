using System;
using System.Collections.Generic;
using NpcSdk.Models;

namespace NpcSdk.Generation
{
    /// <summary>What happens to the tokens kept after a context trim.</summary>
    public enum ContextShift
    {
        /// <summary>Move their cached keys and values and re-rotate the keys (fast; like llama.cpp's context shift).</summary>
        RotateKeys,
        /// <summary>Evaluate them again at their new positions (slow; identical to a fresh session with those tokens).</summary>
        Recompute,
    }

    /// <summary>Options of one inference session.</summary>
    public sealed class SessionOptions
    {
        /// <summary>Context length in tokens; 0 = the model's training context, capped at 4096.</summary>
        public int ContextLength { get; set; }

        /// <summary>KV cache storage (F16 by default, like llama.cpp).</summary>
        public KvCacheType KvCacheType { get; set; } = KvCacheType.F16;

        /// <summary>Most prompt tokens evaluated in one forward step.</summary>
        public int BatchSize { get; set; } = 64;

        /// <summary>
        /// When the context fills, drop the oldest turns after the pinned prefix and continue (true, the default),
        /// or throw <see cref="ContextFullException"/> (false).
        /// </summary>
        public bool DropOldTurnsOnOverflow { get; set; } = true;

        /// <summary>How kept tokens move when old turns are dropped (default: keys are re-rotated in place).</summary>
        public ContextShift ContextShift { get; set; } = ContextShift.RotateKeys;

        /// <summary>
        /// Called before old turns are dropped with the tokens about to go; may return tokens (a summary) to insert
        /// after the pinned prefix instead. Runs on the thread that runs the session.
        /// </summary>
        public Func<ContextTrim, IReadOnlyList<int>?>? Summarizer { get; set; }
    }
}
