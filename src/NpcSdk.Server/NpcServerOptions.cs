namespace NpcSdk.Server
{
    /// <summary>What an <see cref="NpcServer"/> serves and where.</summary>
    public sealed class NpcServerOptions
    {
        /// <summary>The chat model (GGUF, ChatML). Required.</summary>
        public string ModelPath { get; set; } = "";

        /// <summary>A sentence-embedding model (GGUF, BERT) for <c>/v1/embeddings</c>; none: that endpoint answers 404.</summary>
        public string? EmbeddingModelPath { get; set; }

        /// <summary>The address to listen on: an IP address, <c>localhost</c>, or <c>*</c> for all interfaces.</summary>
        public string Host { get; set; } = "127.0.0.1";

        /// <summary>The port; 0 picks a free one (see <see cref="NpcServer.Url"/>).</summary>
        public int Port { get; set; } = 8080;

        /// <summary>When set, every endpoint but <c>/health</c> needs <c>Authorization: Bearer</c> with this key.</summary>
        public string? ApiKey { get; set; }

        /// <summary>Largest request body accepted, in bytes; larger ones get HTTP 400.</summary>
        public long MaxRequestBodyBytes { get; set; } = 1 << 20;

        /// <summary>Largest <c>max_tokens</c> a request may ask for; more gets HTTP 400.</summary>
        public int MaxTokensLimit { get; set; } = 512;

        /// <summary>Tokens generated when a request gives no <c>max_tokens</c> (at most what the context has left).</summary>
        public int DefaultMaxTokens { get; set; } = 256;

        /// <summary>Chat requests admitted at once (running or waiting for the model); more get HTTP 503.</summary>
        public int MaxPendingRequests { get; set; } = 64;

        /// <summary>Compute threads of the chat model; 0: cores − 1.</summary>
        public int Threads { get; set; }

        /// <summary>The chat model's id in responses; default: its file name without the extension.</summary>
        public string? ModelId { get; set; }
    }
}
