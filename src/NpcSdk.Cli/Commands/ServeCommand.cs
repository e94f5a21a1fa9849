using System;
using System.CommandLine;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using NpcSdk.Server;

namespace NpcSdk.Cli.Commands
{
    /// <summary>
    /// <c>npcsdk serve -m MODEL [--embedding-model PATH] [--host 127.0.0.1] [--port 8080] [--api-key KEY]
    /// [--max-tokens-limit N]</c>: an OpenAI-compatible server (chat completions with tools and streaming, embeddings)
    /// until Ctrl+C or SIGTERM.
    /// </summary>
    internal static class ServeCommand
    {
        private const string ApiKeyVariable = "NPCSDK_API_KEY";

        public static Command Create()
        {
            var defaults = new NpcServerOptions();
            var model = CliOptions.Model();
            var embedding = new Option<string?>("--embedding-model", "-e") { Description = "A sentence-embedding GGUF (e.g. MiniLM) to serve /v1/embeddings" };
            var host = new Option<string>("--host") { Description = "Address to listen on: an IP, localhost, or * for all interfaces", DefaultValueFactory = _ => defaults.Host };
            var port = new Option<int>("--port") { Description = "Port (0 = any free port)", DefaultValueFactory = _ => defaults.Port };
            var apiKey = new Option<string?>("--api-key") { Description = $"Require 'Authorization: Bearer KEY' (default: ${ApiKeyVariable}, else no key)" };
            var maxTokens = new Option<int>("--max-tokens-limit") { Description = "Largest max_tokens a request may ask for", DefaultValueFactory = _ => defaults.MaxTokensLimit };
            var maxBody = new Option<long>("--max-body-bytes") { Description = "Largest request body accepted", DefaultValueFactory = _ => defaults.MaxRequestBodyBytes };
            var threads = CliOptions.Threads();
            var cmd = new Command("serve", "Serve models over an OpenAI-compatible HTTP API") { model, embedding, host, port, apiKey, maxTokens, maxBody, threads };
            cmd.SetAction(r => CliOptions.Guard(() =>
            {
                var options = new NpcServerOptions
                {
                    ModelPath = r.GetValue(model)!,
                    EmbeddingModelPath = r.GetValue(embedding),
                    Host = r.GetValue(host)!,
                    Port = r.GetValue(port),
                    ApiKey = r.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(ApiKeyVariable),
                    MaxTokensLimit = r.GetValue(maxTokens),
                    MaxRequestBodyBytes = r.GetValue(maxBody),
                    Threads = r.GetValue(threads),
                };
                NpcServer server;
                try
                {
                    server = NpcServer.Start(options);
                }
                catch (IOException e) when (!(e is FileNotFoundException))
                {
                    Console.Error.WriteLine($"error: cannot listen on {options.Host}:{options.Port}: {e.Message}");
                    return 1;
                }
                using (server)
                using (var stop = new ManualResetEventSlim())
                {
                    ConsoleCancelEventHandler onCancel = (s, e) =>
                    {
                        e.Cancel = true;
                        stop.Set();
                    };
                    Console.CancelKeyPress += onCancel;
                    using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
                    {
                        c.Cancel = true;
                        stop.Set();
                    });
                    Console.WriteLine($"npcsdk serve: {server.ModelId}{(server.EmbeddingModelId != null ? " and " + server.EmbeddingModelId : "")} at {server.Url}/v1 (Ctrl+C stops)");
                    if (options.ApiKey != null) Console.WriteLine("an API key is required (Authorization: Bearer ...)");
                    Console.Out.Flush();
                    stop.Wait();
                    Console.CancelKeyPress -= onCancel;
                    Console.Error.WriteLine("stopping");
                    server.StopAsync().GetAwaiter().GetResult();
                }
                return 0;
            }));
            return cmd;
        }
    }
}
