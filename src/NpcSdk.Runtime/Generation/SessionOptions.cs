using NpcSdk.Models;

namespace NpcSdk.Generation
{
    /// <summary>Options of one inference session.</summary>
    public sealed class SessionOptions
    {
        /// <summary>Context length in tokens; 0 = the model's training context, capped at 4096.</summary>
        public int ContextLength { get; set; }

        /// <summary>KV cache storage (F16 by default, like llama.cpp).</summary>
        public KvCacheType KvCacheType { get; set; } = KvCacheType.F16;

        /// <summary>Most prompt tokens evaluated in one forward step.</summary>
        public int BatchSize { get; set; } = 64;
    }
}
