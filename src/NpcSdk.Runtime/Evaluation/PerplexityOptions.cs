using System;
using NpcSdk.Models;

namespace NpcSdk.Evaluation
{
    /// <summary>Options of <see cref="Perplexity.Measure(Model, string, PerplexityOptions?)"/> (llama-perplexity's flags).</summary>
    public sealed class PerplexityOptions
    {
        /// <summary>Tokens per chunk (<c>-c</c>); 0 = the model's training context, capped at 4096.</summary>
        public int ContextLength { get; set; }

        /// <summary>Tokens per forward step (<c>-b</c>); 0 = a whole chunk, as llama-perplexity runs by default.</summary>
        public int BatchSize { get; set; }

        /// <summary>KV cache storage: F16 is llama.cpp's default, F32 its <c>-ctk f32 -ctv f32</c>.</summary>
        public KvCacheType KvCacheType { get; set; } = KvCacheType.F16;

        /// <summary>
        /// Turn special-token texts (<c>&lt;|im_start|&gt;</c>) into their ids when tokenizing. Off by default, as in
        /// llama-perplexity, which then scores such tags as the ordinary text pieces they split into.
        /// </summary>
        public bool ParseSpecial { get; set; }

        /// <summary>Evaluate at most this many chunks (<c>--chunks</c>); 0 = all.</summary>
        public int MaxChunks { get; set; }

        /// <summary>Called after each chunk, on the calling thread.</summary>
        public Action<PerplexityChunk>? ChunkDone { get; set; }
    }
}
