using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NpcSdk.Embeddings;
using NpcSdk.Extensions.AI;
using NpcSdk.Models;

namespace NpcSdk.Server
{
    /// <summary>
    /// An OpenAI-compatible HTTP server over models running in this process: <c>GET /health</c>,
    /// <c>GET /v1/models</c>, <c>POST /v1/chat/completions</c> (tools, streaming) and <c>POST /v1/embeddings</c>.
    /// </summary>
    /// <remarks>
    /// Chat requests are served concurrently and generated one at a time on the model (its compute threads are
    /// shared), each on a session reused by common prompt prefix. Malformed requests get HTTP 400 with an OpenAI-style
    /// error body; the server keeps serving.
    /// </remarks>
    /// <example>
    /// <code>
    /// using var server = NpcServer.Start(new NpcServerOptions { ModelPath = "models/npc-q8_0.gguf", Port = 0 });
    /// Console.WriteLine(server.Url); // http://127.0.0.1:41234
    /// </code>
    /// </example>
    public sealed class NpcServer : IDisposable, IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly Model _model;
        private readonly EmbeddingModel? _embeddingModel;
        private readonly NpcChatClient _chat;
        private readonly CancellationTokenSource _stopping = new CancellationTokenSource();
        private int _disposed;

        private NpcServer(WebApplication app, Model model, EmbeddingModel? embeddingModel, NpcChatClient chat, string modelId, string? embeddingModelId)
        {
            _app = app;
            _model = model;
            _embeddingModel = embeddingModel;
            _chat = chat;
            ModelId = modelId;
            EmbeddingModelId = embeddingModelId;
        }

        /// <summary>The address the server listens on, e.g. <c>http://127.0.0.1:41234</c> (no trailing slash).</summary>
        public string Url { get; private set; } = "";

        /// <summary>The port bound (the free one picked when the options said 0).</summary>
        public int Port { get; private set; }

        /// <summary>The chat model's id, as <c>/v1/models</c> lists it.</summary>
        public string ModelId { get; }

        /// <summary>The embedding model's id, or null when none is served.</summary>
        public string? EmbeddingModelId { get; }

        /// <summary>Loads the models and starts listening; returns once the port is bound.</summary>
        /// <exception cref="ArgumentException">An option is out of range or the host is not an address.</exception>
        /// <exception cref="FileNotFoundException">A model file does not exist.</exception>
        /// <exception cref="IOException">The address cannot be bound (for example, the port is in use).</exception>
        public static NpcServer Start(NpcServerOptions options)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            Validate(options);
            IPAddress address = ParseHost(options.Host);
            var model = Model.Load(options.ModelPath, options.Threads > 0 ? new ModelOptions { Threads = options.Threads } : null);
            EmbeddingModel? embeddings = null;
            NpcChatClient? chat = null;
            try
            {
                if (options.EmbeddingModelPath != null) embeddings = EmbeddingModel.Load(options.EmbeddingModelPath);
                string modelId = options.ModelId ?? Path.GetFileNameWithoutExtension(options.ModelPath);
                string? embeddingId = options.EmbeddingModelPath != null ? Path.GetFileNameWithoutExtension(options.EmbeddingModelPath) : null;
                chat = new NpcChatClient(model, new NpcChatClientOptions { ModelId = modelId, DefaultMaxOutputTokens = options.DefaultMaxTokens });

                var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
                {
                    ApplicationName = typeof(NpcServer).Assembly.GetName().Name,
                    ContentRootPath = AppContext.BaseDirectory,
                });
                builder.Logging.ClearProviders();
                builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
                // A failed start is reported by the exception Start throws; the host need not print it too.
                builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
                builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(5));
                builder.WebHost.ConfigureKestrel(k =>
                {
                    k.AddServerHeader = false;
                    k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
                    k.Listen(address, options.Port);
                });
                var app = builder.Build();
                var server = new NpcServer(app, model, embeddings, chat, modelId, embeddingId);
                server.MapEndpoints(options);
                try
                {
                    app.StartAsync().GetAwaiter().GetResult();
                }
                catch
                {
                    ((IDisposable)app).Dispose();
                    throw;
                }
                string bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
                var uri = new Uri(bound);
                server.Port = uri.Port;
                server.Url = $"{uri.Scheme}://{(address.Equals(IPAddress.Any) ? "127.0.0.1" : uri.Host)}:{uri.Port}";
                return server;
            }
            catch
            {
                chat?.Dispose();
                embeddings?.Dispose();
                model.Dispose();
                throw;
            }
        }

        private static void Validate(NpcServerOptions o)
        {
            if (string.IsNullOrEmpty(o.ModelPath)) throw new ArgumentException("a chat model path is required", nameof(o.ModelPath));
            if (!File.Exists(o.ModelPath)) throw new FileNotFoundException($"{o.ModelPath}: no such model file", o.ModelPath);
            if (o.EmbeddingModelPath != null && !File.Exists(o.EmbeddingModelPath)) throw new FileNotFoundException($"{o.EmbeddingModelPath}: no such embedding model file", o.EmbeddingModelPath);
            if (o.Port < 0 || o.Port > 65535) throw new ArgumentOutOfRangeException(nameof(o.Port), o.Port, "port must be 0 to 65535");
            if (o.MaxRequestBodyBytes < 1) throw new ArgumentOutOfRangeException(nameof(o.MaxRequestBodyBytes), o.MaxRequestBodyBytes, "must be positive");
            if (o.MaxTokensLimit < 1) throw new ArgumentOutOfRangeException(nameof(o.MaxTokensLimit), o.MaxTokensLimit, "must be positive");
            if (o.DefaultMaxTokens < 1) throw new ArgumentOutOfRangeException(nameof(o.DefaultMaxTokens), o.DefaultMaxTokens, "must be positive");
            if (o.MaxPendingRequests < 1) throw new ArgumentOutOfRangeException(nameof(o.MaxPendingRequests), o.MaxPendingRequests, "must be positive");
            if (o.Threads < 0) throw new ArgumentOutOfRangeException(nameof(o.Threads), o.Threads, "must not be negative");
        }

        private static IPAddress ParseHost(string host)
        {
            if (host == "*" || host == "0.0.0.0") return IPAddress.Any;
            if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)) return IPAddress.Loopback;
            if (IPAddress.TryParse(host, out var ip)) return ip;
            throw new ArgumentException($"host '{host}' is not an IP address, 'localhost' or '*'");
        }

        private void MapEndpoints(NpcServerOptions options)
        {
            var app = _app;
            long started = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            byte[]? expectedKey = string.IsNullOrEmpty(options.ApiKey) ? null : Encoding.UTF8.GetBytes("Bearer " + options.ApiKey);
            var chat = new ChatCompletionsEndpoint(_chat, ModelId, options);
            var embeddings = _embeddingModel != null ? new EmbeddingsEndpoint(_embeddingModel, EmbeddingModelId!, options) : null;

            // Every failure is an OpenAI-style error; nothing escapes to kill the connection with an empty 500.
            app.Use(async (context, next) =>
            {
                try
                {
                    if (expectedKey != null && context.Request.Path != "/health" && !KeyMatches(context, expectedKey))
                    {
                        await JsonResponse.WriteErrorAsync(context, new OpenAiRequestException(401, "a valid API key is required: send 'Authorization: Bearer <key>'", null, "invalid_api_key"));
                        return;
                    }
                    await next(context);
                }
                catch (OpenAiRequestException e) when (!context.Response.HasStarted)
                {
                    await JsonResponse.WriteErrorAsync(context, e);
                }
                catch (BadHttpRequestException e) when (!context.Response.HasStarted)
                {
                    await JsonResponse.WriteErrorAsync(context, OpenAiRequestException.BadRequest("the request could not be read: " + e.Message, code: "invalid_request"));
                }
                catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested || _stopping.IsCancellationRequested)
                {
                    // The client left or the server is stopping: nobody to answer.
                }
                catch (Exception e)
                {
                    if (context.RequestAborted.IsCancellationRequested) return; // a write to a client that left
                    app.Logger.LogError(e, "{Path} failed", context.Request.Path);
                    if (!context.Response.HasStarted)
                        await JsonResponse.WriteErrorAsync(context, new OpenAiRequestException(500, "the server failed: " + e.Message, null, null, "server_error"));
                }
            });

            app.MapGet("/health", (RequestDelegate)(context => JsonResponse.WriteAsync(context, 200, w =>
            {
                w.WriteStartObject();
                w.WriteString("status", "ok");
                w.WriteEndObject();
            })));
            app.MapGet("/v1/models", (RequestDelegate)(context => JsonResponse.WriteAsync(context, 200, w =>
            {
                w.WriteStartObject();
                w.WriteString("object", "list");
                w.WriteStartArray("data");
                foreach (var id in new[] { ModelId, EmbeddingModelId })
                {
                    if (id == null) continue;
                    w.WriteStartObject();
                    w.WriteString("id", id);
                    w.WriteString("object", "model");
                    w.WriteNumber("created", started);
                    w.WriteString("owned_by", "npcsdk");
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            })));
            app.MapPost("/v1/chat/completions", (RequestDelegate)(async context =>
            {
                using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
                await chat.HandleAsync(context, cancel.Token);
            }));
            app.MapPost("/v1/embeddings", (RequestDelegate)(async context =>
            {
                if (embeddings == null)
                    throw new OpenAiRequestException(404, "this server has no embedding model (start it with an embedding model path)", "model", "model_not_found");
                using var cancel = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
                await embeddings.HandleAsync(context, cancel.Token);
            }));
            app.MapFallback((RequestDelegate)(context =>
                throw new OpenAiRequestException(404, $"no endpoint {context.Request.Method} {context.Request.Path}", null, "not_found")));
        }

        private static bool KeyMatches(HttpContext context, byte[] expected)
        {
            string? header = context.Request.Headers.Authorization;
            if (header == null) return false;
            return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header), expected);
        }

        /// <summary>Stops listening: generation in progress is cancelled and open requests end.</summary>
        public async Task StopAsync(CancellationToken cancellationToken = default)
        {
            if (!_stopping.IsCancellationRequested) _stopping.Cancel();
            await _app.StopAsync(cancellationToken);
        }

        /// <summary>Stops the server and releases the models.</summary>
        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            try
            {
                await StopAsync();
            }
            finally
            {
                await _app.DisposeAsync();
                _chat.Dispose();
                _embeddingModel?.Dispose();
                _model.Dispose();
                _stopping.Dispose();
            }
        }

        /// <summary>Stops the server and releases the models.</summary>
        public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
