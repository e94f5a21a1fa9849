using System;
using System.IO;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace NpcSdk.Agents.Remote
{
    /// <summary>The HTTP side of an OpenAI-compatible server: its <c>/v1</c> base address, the API key, and error handling.</summary>
    internal sealed class OpenAiConnection : IDisposable
    {
        private readonly HttpClient _http;
        private readonly bool _ownsHttp;
        private readonly string? _apiKey;

        /// <param name="baseAddress">The API root, e.g. <c>http://127.0.0.1:8080/v1</c>; a bare server address gets <c>/v1</c> added.</param>
        /// <param name="apiKey">Sent as <c>Authorization: Bearer</c> when given.</param>
        /// <param name="httpClient">A client to use (not disposed here); null creates one.</param>
        public OpenAiConnection(Uri baseAddress, string? apiKey, HttpClient? httpClient)
        {
            if (baseAddress == null) throw new ArgumentNullException(nameof(baseAddress));
            if (!baseAddress.IsAbsoluteUri) throw new ArgumentException($"'{baseAddress}' is not an absolute URL", nameof(baseAddress));
            string root = baseAddress.AbsoluteUri.TrimEnd('/');
            if (baseAddress.AbsolutePath == "/") root += "/v1";
            BaseAddress = root + "/";
            _apiKey = string.IsNullOrEmpty(apiKey) ? null : apiKey;
            _http = httpClient ?? new HttpClient { Timeout = TimeSpan.FromMinutes(5) };
            _ownsHttp = httpClient == null;
        }

        /// <summary>The API root, ending in a slash.</summary>
        public string BaseAddress { get; }

        /// <summary>Posts a JSON body; returns the response once its headers arrived (the body may still be streaming).</summary>
        /// <exception cref="RemoteModelException">The server could not be reached or answered with an error.</exception>
        public async Task<HttpResponseMessage> PostAsync(string path, byte[] json, CancellationToken cancellationToken)
        {
            string url = BaseAddress + path;
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(json) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (_apiKey != null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey);
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                throw new RemoteModelException(url, null, e.Message, e);
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new RemoteModelException(url, null, "the request timed out", e);
            }
            if (response.IsSuccessStatusCode) return response;
            using (response)
            {
                string body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
                throw new RemoteModelException(url, (int)response.StatusCode, ErrorMessage(body));
            }
        }

        /// <summary>Reads a whole JSON response.</summary>
        public static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response, string url)
        {
            using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
            try
            {
                return await JsonDocument.ParseAsync(stream).ConfigureAwait(false);
            }
            catch (JsonException e)
            {
                throw new RemoteModelException(url, (int)response.StatusCode, "the response is not JSON: " + e.Message, e);
            }
        }

        /// <summary>The message of an OpenAI-style error body, or the body itself.</summary>
        private static string ErrorMessage(string body)
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("error", out var error))
                {
                    if (error.ValueKind == JsonValueKind.String) return error.GetString()!;
                    if (error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String) return m.GetString()!;
                }
            }
            catch (JsonException)
            {
                // Not JSON: report the text.
            }
            return body.Length > 500 ? body.Substring(0, 500) + "…" : body;
        }

        /// <summary>Writes a JSON body.</summary>
        public static byte[] Json(Action<Utf8JsonWriter> write)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                write(w);
            }
            return buffer.ToArray();
        }

        /// <summary>Disposes the HTTP client when this connection created it.</summary>
        public void Dispose()
        {
            if (_ownsHttp) _http.Dispose();
        }
    }
}
