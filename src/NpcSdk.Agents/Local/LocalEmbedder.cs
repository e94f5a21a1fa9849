using System;
using NpcSdk.Agents.Memory;
using NpcSdk.Embeddings;

namespace NpcSdk.Agents.Local
{
    /// <summary><see cref="IEmbedder"/> over a sentence-embedding model running in this process (e.g. the bundled MiniLM).</summary>
    public sealed class LocalEmbedder : IEmbedder, IDisposable
    {
        private readonly EmbeddingModel _model;
        private readonly bool _owns;

        /// <summary>Wraps a loaded model (not disposed with this embedder).</summary>
        public LocalEmbedder(EmbeddingModel model)
        {
            _model = model ?? throw new ArgumentNullException(nameof(model));
        }

        private LocalEmbedder(EmbeddingModel model, bool owns)
        {
            _model = model;
            _owns = owns;
        }

        /// <summary>Loads an embedding model from a GGUF file.</summary>
        public static LocalEmbedder Load(string path, int threads = 1) => new LocalEmbedder(EmbeddingModel.Load(path, threads), owns: true);

        /// <inheritdoc/>
        public int Dimensions => _model.Dimensions;

        /// <inheritdoc/>
        public float[] Embed(string text) => _model.Embed(text);

        /// <inheritdoc/>
        public void Dispose()
        {
            if (_owns) _model.Dispose();
        }
    }
}
