using NpcSdk.Generation;

namespace NpcSdk.Extensions.AI
{
    /// <summary>Options of an <see cref="NpcChatClient"/>.</summary>
    public sealed class NpcChatClientOptions
    {
        /// <summary>The model id reported in responses; default: the GGUF file name without its extension.</summary>
        public string? ModelId { get; set; }

        /// <summary>Most tokens generated when <c>ChatOptions.MaxOutputTokens</c> is not set.</summary>
        public int DefaultMaxOutputTokens { get; set; } = 256;

        /// <summary>Sessions kept for prompt reuse (one per conversation in flight is ideal).</summary>
        public int MaxSessions { get; set; } = 8;

        /// <summary>Options of the inference sessions (context length, KV cache type).</summary>
        public SessionOptions? SessionOptions { get; set; }

        /// <summary>
        /// Add a <c>- name(params): description</c> line to the system prompt for each declared tool the prompt does not
        /// list yet, the way the NPC model reads its tools (on by default).
        /// </summary>
        public bool ListToolsInSystemPrompt { get; set; } = true;
    }
}
