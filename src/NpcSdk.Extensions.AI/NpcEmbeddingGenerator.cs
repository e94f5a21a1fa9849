using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.AI;
using NpcSdk.Embeddings;

namespace NpcSdk.Extensions.AI
{
    /// <summary>
    /// An <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> over a sentence-embedding model running in this process
    /// (e.g. all-MiniLM-L6-v2): unit-length vectors, so cosine similarity is a dot product.
    /// </summary>
    public sealed class NpcEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        private readonly EmbeddingModel _model;
        private readonly EmbeddingGeneratorMetadata _metadata;
        private bool _ownsModel;

        /// <summary>Creates a generator over <paramref name="model"/> (which the caller keeps and disposes).</summary>
        /// <param name="model">The embedding model.</param>
        /// <param name="modelId">The id reported with embeddings (default "embedding").</param>
        public NpcEmbeddingGenerator(EmbeddingModel model, string? modelId = null)
        {
            _model = model ?? throw new ArgumentNullException(nameof(model));
            ModelId = modelId ?? "embedding";
            _metadata = new EmbeddingGeneratorMetadata("npcsdk", null, ModelId, model.Dimensions);
        }

        /// <summary>Loads the model in <paramref name="path"/> (disposed with this generator), named after the file.</summary>
        public static NpcEmbeddingGenerator Load(string path, int threads = 1) =>
            new NpcEmbeddingGenerator(EmbeddingModel.Load(path, threads), Path.GetFileNameWithoutExtension(path)) { _ownsModel = true };

        /// <summary>The model id reported with embeddings.</summary>
        public string ModelId { get; }

        /// <summary>Vector length.</summary>
        public int Dimensions => _model.Dimensions;

        /// <inheritdoc/>
        /// <exception cref="ArgumentException">A text is too long for the model, or other dimensions were asked for.</exception>
        public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            if (values == null) throw new ArgumentNullException(nameof(values));
            if (options?.Dimensions is int d && d != _model.Dimensions)
                throw new ArgumentException($"{ModelId} makes {_model.Dimensions}-dimensional embeddings, not {d}", nameof(options));
            var texts = values.ToList();
            var created = DateTimeOffset.UtcNow;
            // The model runs one call at a time on its own threads; keep the caller's thread free meanwhile.
            var (vectors, tokens) = await Task.Run(() => (_model.Embed(texts), texts.Sum(t => (long)_model.Tokenize(t ?? "").Length)), cancellationToken).ConfigureAwait(false);
            var result = new GeneratedEmbeddings<Embedding<float>>(vectors.Select(v => new Embedding<float>(v) { ModelId = ModelId, CreatedAt = created }))
            {
                Usage = new UsageDetails { InputTokenCount = tokens, TotalTokenCount = tokens },
            };
            return result;
        }

        /// <inheritdoc/>
        public object? GetService(Type serviceType, object? serviceKey = null)
        {
            if (serviceType == null) throw new ArgumentNullException(nameof(serviceType));
            if (serviceKey != null) return null;
            if (serviceType == typeof(EmbeddingGeneratorMetadata)) return _metadata;
            if (serviceType == typeof(EmbeddingModel)) return _model;
            return serviceType.IsInstanceOfType(this) ? this : null;
        }

        /// <summary>Disposes the model when this generator loaded it.</summary>
        public void Dispose()
        {
            if (_ownsModel) _model.Dispose();
        }
    }
}
