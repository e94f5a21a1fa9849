using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NpcSdk.Agents.Memory;

namespace NpcSdk.Agents.Remote
{
    /// <summary>
    /// <see cref="IEmbedder"/> over an OpenAI-compatible server's <c>/v1/embeddings</c>. Vectors are L2-normalised
    /// here, whatever the server does, so cosine similarity stays a dot product.
    /// </summary>
    /// <remarks>
    /// <see cref="Embed"/> blocks until the server answers (memory retrieval is synchronous); prefer
    /// <see cref="EmbedAsync"/> off the game thread. <see cref="Dimensions"/> asks the server once when it was not given.
    /// </remarks>
    public sealed class OpenAiEmbedder : IEmbedder, IDisposable
    {
        private readonly OpenAiConnection _connection;
        private int _dimensions;

        /// <summary>Creates an embedder.</summary>
        /// <param name="baseAddress">The API root, e.g. <c>http://127.0.0.1:8080/v1</c> (a bare server address gets <c>/v1</c>).</param>
        /// <param name="model">The embedding model name sent with each request.</param>
        /// <param name="apiKey">Sent as <c>Authorization: Bearer</c> when given.</param>
        /// <param name="httpClient">An HTTP client to use (kept open); null creates one.</param>
        /// <param name="dimensions">The vector length when known (0: asked from the server on first use).</param>
        public OpenAiEmbedder(Uri baseAddress, string model, string? apiKey = null, HttpClient? httpClient = null, int dimensions = 0)
        {
            Model = model ?? throw new ArgumentNullException(nameof(model));
            if (dimensions < 0) throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, "dimensions must not be negative");
            _connection = new OpenAiConnection(baseAddress, apiKey, httpClient);
            _dimensions = dimensions;
        }

        /// <summary>The embedding model name sent with each request.</summary>
        public string Model { get; }

        /// <inheritdoc/>
        public int Dimensions
        {
            get
            {
                if (_dimensions == 0) _dimensions = Embed("dimensions").Length;
                return _dimensions;
            }
        }

        /// <inheritdoc/>
        /// <exception cref="RemoteModelException">The server could not be reached or refused the request.</exception>
        public float[] Embed(string text)
        {
            if (text == null) throw new ArgumentNullException(nameof(text));
            // ConfigureAwait(false) throughout, so blocking here cannot deadlock a game's synchronization context.
            return EmbedAsync(new[] { text }).ConfigureAwait(false).GetAwaiter().GetResult()[0];
        }

        /// <summary>The unit-length embeddings of <paramref name="texts"/>, in order, in one request.</summary>
        /// <exception cref="RemoteModelException">The server could not be reached, refused the request or sent the wrong number of vectors.</exception>
        public async Task<float[][]> EmbedAsync(IReadOnlyList<string> texts, CancellationToken cancellationToken = default)
        {
            if (texts == null) throw new ArgumentNullException(nameof(texts));
            byte[] body = OpenAiConnection.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("model", Model);
                w.WriteStartArray("input");
                foreach (var t in texts) w.WriteStringValue(t ?? throw new ArgumentNullException(nameof(texts)));
                w.WriteEndArray();
                w.WriteString("encoding_format", "float");
                w.WriteEndObject();
            });
            string url = _connection.BaseAddress + "embeddings";
            using var response = await _connection.PostAsync("embeddings", body, cancellationToken).ConfigureAwait(false);
            using var doc = await OpenAiConnection.ReadJsonAsync(response, url).ConfigureAwait(false);
            var result = new float[texts.Count][];
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
                throw new RemoteModelException(url, 200, "the response has no data array");
            int position = 0;
            foreach (var item in data.EnumerateArray())
            {
                int index = item.TryGetProperty("index", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt32() : position;
                if (index < 0 || index >= result.Length || !item.TryGetProperty("embedding", out var e) || e.ValueKind != JsonValueKind.Array)
                    throw new RemoteModelException(url, 200, $"data[{position}] is not an embedding of one of the {texts.Count} inputs");
                var v = new float[e.GetArrayLength()];
                int k = 0;
                foreach (var x in e.EnumerateArray()) v[k++] = x.GetSingle();
                result[index] = Normalize(v);
                position++;
            }
            for (int j = 0; j < result.Length; j++)
                if (result[j] == null) throw new RemoteModelException(url, 200, $"no embedding for input {j}");
            if (_dimensions == 0 && result.Length > 0) _dimensions = result[0].Length;
            return result;
        }

        private static float[] Normalize(float[] v)
        {
            double sum = 0;
            foreach (float x in v) sum += (double)x * x;
            if (sum <= 0) return v;
            float scale = (float)(1 / Math.Sqrt(sum));
            for (int i = 0; i < v.Length; i++) v[i] *= scale;
            return v;
        }

        /// <summary>Disposes the HTTP client when this embedder created it.</summary>
        public void Dispose() => _connection.Dispose();
    }
}
