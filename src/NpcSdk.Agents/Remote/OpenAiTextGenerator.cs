using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Tools;

namespace NpcSdk.Agents.Remote
{
    /// <summary>
    /// <see cref="ITextGenerator"/> over an OpenAI-compatible server (NpcSdk's own <c>npcsdk serve</c>, llama-server,
    /// vLLM, Ollama): the conversation goes to <c>/v1/chat/completions</c> with its tool calls and results, the granted
    /// tools as function tools with their argument schemas, and the reply comes back as text and a parsed tool call.
    /// </summary>
    /// <remarks>
    /// With <see cref="ReplyRequest.OnText"/> set the reply is streamed (server-sent events) and the text is delivered
    /// as it arrives, on a thread-pool thread. A server that leaves tool calls in the text
    /// (<c>&lt;tool_call&gt;{...}&lt;/tool_call&gt;</c>) is understood too. <see cref="ReplyRequest.Priority"/> has no
    /// meaning remotely.
    /// </remarks>
    public sealed class OpenAiTextGenerator : ITextGenerator, IDisposable
    {
        private const string ToolCallOpen = "<tool_call>", ToolCallClose = "</tool_call>";
        private readonly OpenAiConnection _connection;

        /// <summary>Creates a generator.</summary>
        /// <param name="baseAddress">The API root, e.g. <c>http://127.0.0.1:8080/v1</c> (a bare server address gets <c>/v1</c>).</param>
        /// <param name="model">The model name sent with each request.</param>
        /// <param name="apiKey">Sent as <c>Authorization: Bearer</c> when given.</param>
        /// <param name="httpClient">An HTTP client to use (kept open); null creates one.</param>
        public OpenAiTextGenerator(Uri baseAddress, string model, string? apiKey = null, HttpClient? httpClient = null)
        {
            Model = model ?? throw new ArgumentNullException(nameof(model));
            _connection = new OpenAiConnection(baseAddress, apiKey, httpClient);
        }

        /// <summary>The model name sent with each request.</summary>
        public string Model { get; }

        /// <summary>The API root requests go to.</summary>
        public string BaseAddress => _connection.BaseAddress;

        /// <inheritdoc/>
        /// <exception cref="RemoteModelException">The server could not be reached, refused the request or answered with no choice.</exception>
        public async Task<GeneratedReply> GenerateAsync(ReplyRequest request, CancellationToken cancellationToken = default)
        {
            if (request == null) throw new ArgumentNullException(nameof(request));
            bool stream = request.OnText != null;
            byte[] body = OpenAiConnection.Json(w => WriteRequest(w, request, stream));
            string url = _connection.BaseAddress + "chat/completions";
            using var response = await _connection.PostAsync("chat/completions", body, cancellationToken).ConfigureAwait(false);
            if (!stream)
            {
                using var doc = await OpenAiConnection.ReadJsonAsync(response, url).ConfigureAwait(false);
                return ReadCompletion(doc.RootElement, url);
            }
            return await ReadStreamAsync(response, url, request.OnText!, cancellationToken).ConfigureAwait(false);
        }

        private void WriteRequest(Utf8JsonWriter w, ReplyRequest request, bool stream)
        {
            w.WriteStartObject();
            w.WriteString("model", Model);
            w.WriteStartArray("messages");
            string? lastCallId = null;
            for (int i = 0; i < request.Messages.Count; i++)
            {
                var m = request.Messages[i];
                w.WriteStartObject();
                w.WriteString("role", m.Role.ToString().ToLowerInvariant());
                if (m.Role == DialogueRole.Assistant && m.ToolCall != null)
                {
                    if (m.Content.Length > 0) w.WriteString("content", m.Content);
                    else w.WriteNull("content");
                    lastCallId = "call_" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    w.WriteStartArray("tool_calls");
                    w.WriteStartObject();
                    w.WriteString("id", lastCallId);
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", m.ToolCall.Name);
                    w.WriteString("arguments", ArgumentsJson(m.ToolCall));
                    w.WriteEndObject();
                    w.WriteEndObject();
                    w.WriteEndArray();
                }
                else
                {
                    w.WriteString("content", m.Content);
                    if (m.Role == DialogueRole.Tool && lastCallId != null) w.WriteString("tool_call_id", lastCallId);
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("max_tokens", request.MaxTokens);
            w.WriteNumber("temperature", request.Temperature);
            w.WriteNumber("top_p", request.TopP);
            // OpenAI seeds are signed 64-bit.
            w.WriteNumber("seed", (long)(request.Seed & long.MaxValue));
            if (request.Tools.Count > 0)
            {
                w.WriteStartArray("tools");
                foreach (var t in request.Tools)
                {
                    w.WriteStartObject();
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", t.Name);
                    w.WriteString("description", t.Description);
                    w.WritePropertyName("parameters");
                    using (var schema = JsonDocument.Parse(t.ParametersSchemaJson)) schema.RootElement.WriteTo(w);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            if (stream) w.WriteBoolean("stream", true);
            w.WriteEndObject();
        }

        private static string ArgumentsJson(ToolCall call)
        {
            var sb = new StringBuilder("{");
            bool first = true;
            foreach (var kv in call.Arguments)
            {
                if (!first) sb.Append(", ");
                first = false;
                sb.Append(JsonText.Quote(kv.Key)).Append(": ").Append(kv.Value.GetRawText());
            }
            return sb.Append('}').ToString();
        }

        private static GeneratedReply ReadCompletion(JsonElement root, string url)
        {
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
                throw new RemoteModelException(url, 200, "the response has no choices");
            var choice = choices[0];
            if (!choice.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
                throw new RemoteModelException(url, 200, "the first choice has no message");
            string text = message.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString()! : "";
            string? name = null, arguments = null;
            if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array && calls.GetArrayLength() > 0
                && calls[0].TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object)
            {
                name = f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
                arguments = f.TryGetProperty("arguments", out var a) ? (a.ValueKind == JsonValueKind.String ? a.GetString() : a.GetRawText()) : null;
            }
            return Reply(text, name, arguments);
        }

        private static async Task<GeneratedReply> ReadStreamAsync(HttpResponseMessage response, string url, Action<string> onText, CancellationToken cancellationToken)
        {
            var text = new StringBuilder();
            string? name = null;
            var arguments = new StringBuilder();
            bool sawCall = false;
            var inlineCall = new InlineCallWatcher();
            using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
            // ReadLineAsync takes no token on netstandard2.1: closing the stream ends a cancelled read.
            using var cancel = cancellationToken.Register(() => stream.Dispose());
            using var reader = new StreamReader(stream, Encoding.UTF8);
            try
            {
                string? line;
                while ((line = await reader.ReadLineAsync().ConfigureAwait(false)) != null)
                {
                    if (!line.StartsWith("data:", StringComparison.Ordinal)) continue; // blank separators, comments, event names
                    string data = line.Substring(5).Trim();
                    if (data == "[DONE]") break;
                    JsonDocument doc;
                    try
                    {
                        doc = JsonDocument.Parse(data);
                    }
                    catch (JsonException e)
                    {
                        throw new RemoteModelException(url, 200, "a streamed chunk is not JSON: " + e.Message, e);
                    }
                    using (doc)
                    {
                        var root = doc.RootElement;
                        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var error))
                            throw new RemoteModelException(url, 200, error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) ? m.ToString() : error.ToString());
                        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0) continue;
                        if (!choices[0].TryGetProperty("delta", out var delta) || delta.ValueKind != JsonValueKind.Object) continue;
                        if (delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                        {
                            string piece = c.GetString()!;
                            text.Append(piece);
                            string visible = inlineCall.Append(piece);
                            if (visible.Length > 0) onText(visible);
                        }
                        if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                        {
                            foreach (var call in calls.EnumerateArray())
                            {
                                // Only the first call counts: a reply carries one.
                                if (call.TryGetProperty("index", out var index) && index.ValueKind == JsonValueKind.Number && index.GetInt32() != 0) continue;
                                sawCall = true;
                                if (!call.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object) continue;
                                if (f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String) name = (name ?? "") + n.GetString();
                                if (f.TryGetProperty("arguments", out var a))
                                    arguments.Append(a.ValueKind == JsonValueKind.String ? a.GetString() : a.GetRawText());
                            }
                        }
                    }
                }
            }
            catch (Exception e) when ((e is ObjectDisposedException || e is IOException) && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            return Reply(text.ToString(), sawCall ? name : null, sawCall ? arguments.ToString() : null);
        }

        /// <summary>The reply from the message text and the first tool call (or one the server left in the text).</summary>
        private static GeneratedReply Reply(string text, string? name, string? arguments)
        {
            if (name == null)
            {
                int open = text.IndexOf(ToolCallOpen, StringComparison.Ordinal);
                if (open < 0) return new GeneratedReply(text.Trim(), null);
                int close = text.IndexOf(ToolCallClose, open, StringComparison.Ordinal);
                string inline = (close < 0 ? text.Substring(open + ToolCallOpen.Length) : text.Substring(open + ToolCallOpen.Length, close - open - ToolCallOpen.Length)).Trim();
                return Parsed(text.Substring(0, open).Trim(), inline);
            }
            string args = string.IsNullOrWhiteSpace(arguments) ? "{}" : arguments!;
            return Parsed(text.Trim(), "{\"name\": " + JsonText.Quote(name) + ", \"arguments\": " + args + "}");
        }

        private static GeneratedReply Parsed(string text, string callJson)
        {
            try
            {
                return new GeneratedReply(text, ToolCall.Parse(callJson));
            }
            catch (ToolCallRejectedException)
            {
                return new GeneratedReply(text, null, callJson);
            }
        }

        /// <summary>Streams text up to an inline <c>&lt;tool_call&gt;</c>, holding back what may be its beginning.</summary>
        private sealed class InlineCallWatcher
        {
            private readonly StringBuilder _all = new StringBuilder();
            private int _sent;
            private bool _inCall;

            public string Append(string piece)
            {
                if (_inCall) return "";
                _all.Append(piece);
                string all = _all.ToString();
                int open = all.IndexOf(ToolCallOpen, StringComparison.Ordinal);
                int end;
                if (open >= 0)
                {
                    _inCall = true;
                    end = open;
                }
                else
                {
                    end = all.Length;
                    for (int n = Math.Min(ToolCallOpen.Length - 1, all.Length); n > 0; n--)
                    {
                        if (string.CompareOrdinal(all, all.Length - n, ToolCallOpen, 0, n) == 0)
                        {
                            end = all.Length - n;
                            break;
                        }
                    }
                }
                if (end <= _sent) return "";
                string visible = all.Substring(_sent, end - _sent);
                _sent = end;
                return visible;
            }
        }

        /// <summary>Disposes the HTTP client when this generator created it.</summary>
        public void Dispose() => _connection.Dispose();
    }
}
