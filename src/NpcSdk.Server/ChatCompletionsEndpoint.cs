using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using NpcSdk.Agents.Tools;
using NpcSdk.Extensions.AI;
using NpcSdk.Generation;
using NpcSdk.Grammars;

namespace NpcSdk.Server
{
    /// <summary>
    /// <c>POST /v1/chat/completions</c> over an <see cref="IChatClient"/>: one JSON completion, or with
    /// <c>"stream": true</c> server-sent chunks ending in <c>data: [DONE]</c>.
    /// </summary>
    internal sealed class ChatCompletionsEndpoint
    {
        private static readonly byte[] Done = Encoding.ASCII.GetBytes("[DONE]");
        private readonly IChatClient _chat;
        private readonly string _modelId;
        private readonly NpcServerOptions _options;
        private int _pending;

        public ChatCompletionsEndpoint(IChatClient chat, string modelId, NpcServerOptions options)
        {
            _chat = chat;
            _modelId = modelId;
            _options = options;
        }

        public async Task HandleAsync(HttpContext context, CancellationToken cancellationToken)
        {
            ChatCompletionRequest request;
            using (var body = await RequestBody.ReadJsonAsync(context, _options.MaxRequestBodyBytes))
                request = ChatCompletionRequest.Parse(body.RootElement, _options.MaxTokensLimit);

            if (Interlocked.Increment(ref _pending) > _options.MaxPendingRequests)
            {
                Interlocked.Decrement(ref _pending);
                throw new OpenAiRequestException(503, $"the server is busy: {_options.MaxPendingRequests} chat requests are already waiting or running", null, "server_busy", "server_error");
            }
            try
            {
                if (request.Stream) await StreamAsync(context, request, cancellationToken);
                else await CompleteAsync(context, request, cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _pending);
            }
        }

        private async Task CompleteAsync(HttpContext context, ChatCompletionRequest request, CancellationToken cancellationToken)
        {
            ChatResponse response;
            try
            {
                response = await _chat.GetResponseAsync(request.Messages, request.Options, cancellationToken);
            }
            catch (ContextFullException e)
            {
                throw OpenAiRequestException.BadRequest(e.Message, "messages", "context_length_exceeded");
            }
            catch (GrammarFormatException e)
            {
                throw OpenAiRequestException.BadRequest(e.Message, "tools", "invalid_tool_schema");
            }
            var message = response.Messages.LastOrDefault();
            string text = message?.Text ?? "";
            var calls = message?.Contents.OfType<FunctionCallContent>().ToList() ?? new List<FunctionCallContent>();
            string id = response.ResponseId ?? NewId();
            long created = (response.CreatedAt ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
            await JsonResponse.WriteAsync(context, 200, w =>
            {
                w.WriteStartObject();
                w.WriteString("id", id);
                w.WriteString("object", "chat.completion");
                w.WriteNumber("created", created);
                w.WriteString("model", _modelId);
                w.WriteStartArray("choices");
                w.WriteStartObject();
                w.WriteNumber("index", 0);
                w.WriteStartObject("message");
                w.WriteString("role", "assistant");
                if (text.Length > 0 || calls.Count == 0) w.WriteString("content", text);
                else w.WriteNull("content");
                if (calls.Count > 0) WriteToolCalls(w, calls, withIndex: false);
                w.WriteEndObject();
                w.WriteNull("logprobs");
                w.WriteString("finish_reason", FinishReason(response.FinishReason, calls.Count > 0));
                w.WriteEndObject();
                w.WriteEndArray();
                WriteUsage(w, response.Usage);
                w.WriteEndObject();
            });
        }

        private async Task StreamAsync(HttpContext context, ChatCompletionRequest request, CancellationToken cancellationToken)
        {
            await using var updates = _chat.GetStreamingResponseAsync(request.Messages, request.Options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            bool more;
            try
            {
                // The first update comes after the request was checked and its first piece generated: errors before
                // it are still plain HTTP errors.
                more = await updates.MoveNextAsync();
            }
            catch (ContextFullException e)
            {
                throw OpenAiRequestException.BadRequest(e.Message, "messages", "context_length_exceeded");
            }
            catch (GrammarFormatException e)
            {
                throw OpenAiRequestException.BadRequest(e.Message, "tools", "invalid_tool_schema");
            }

            string id = (more ? updates.Current.ResponseId : null) ?? NewId();
            long created = ((more ? updates.Current.CreatedAt : null) ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
            context.Response.StatusCode = 200;
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            await JsonResponse.WriteEventAsync(context, w => WriteChunk(w, id, created, d =>
            {
                d.WriteString("role", "assistant");
                d.WriteString("content", "");
            }, null), cancellationToken);

            UsageDetails? usage = null;
            ChatFinishReason? finish = null;
            bool called = false;
            try
            {
                while (more)
                {
                    var update = updates.Current;
                    string text = update.Text;
                    if (text.Length > 0)
                        await JsonResponse.WriteEventAsync(context, w => WriteChunk(w, id, created, d => d.WriteString("content", text), null), cancellationToken);
                    var calls = update.Contents.OfType<FunctionCallContent>().ToList();
                    if (calls.Count > 0)
                    {
                        called = true;
                        await JsonResponse.WriteEventAsync(context, w => WriteChunk(w, id, created, d => WriteToolCalls(d, calls, withIndex: true), null), cancellationToken);
                    }
                    foreach (var u in update.Contents.OfType<UsageContent>()) usage = u.Details;
                    finish ??= update.FinishReason;
                    more = await updates.MoveNextAsync();
                }
            }
            catch (Exception e) when (!(e is OperationCanceledException) && !context.RequestAborted.IsCancellationRequested)
            {
                // The status line is gone: report in the stream, the way OpenAI-compatible servers do.
                await JsonResponse.WriteEventAsync(context, w => JsonResponse.WriteError(w, "generation failed: " + e.Message, "server_error", null, null), cancellationToken);
                return;
            }

            await JsonResponse.WriteEventAsync(context, w => WriteChunk(w, id, created, d => { }, FinishReason(finish, called)), cancellationToken);
            if (request.IncludeUsage)
            {
                await JsonResponse.WriteEventAsync(context, w =>
                {
                    w.WriteStartObject();
                    WriteChunkHeader(w, id, created);
                    w.WriteStartArray("choices");
                    w.WriteEndArray();
                    WriteUsage(w, usage);
                    w.WriteEndObject();
                }, cancellationToken);
            }
            await JsonResponse.WriteEventAsync(context, Done, cancellationToken);
        }

        private void WriteChunk(Utf8JsonWriter w, string id, long created, Action<Utf8JsonWriter> delta, string? finishReason)
        {
            w.WriteStartObject();
            WriteChunkHeader(w, id, created);
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("delta");
            delta(w);
            w.WriteEndObject();
            w.WriteNull("logprobs");
            if (finishReason != null) w.WriteString("finish_reason", finishReason);
            else w.WriteNull("finish_reason");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }

        private void WriteChunkHeader(Utf8JsonWriter w, string id, long created)
        {
            w.WriteString("id", id);
            w.WriteString("object", "chat.completion.chunk");
            w.WriteNumber("created", created);
            w.WriteString("model", _modelId);
        }

        private static void WriteToolCalls(Utf8JsonWriter w, IReadOnlyList<FunctionCallContent> calls, bool withIndex)
        {
            w.WriteStartArray("tool_calls");
            for (int i = 0; i < calls.Count; i++)
            {
                w.WriteStartObject();
                if (withIndex) w.WriteNumber("index", i);
                w.WriteString("id", calls[i].CallId);
                w.WriteString("type", "function");
                w.WriteStartObject("function");
                w.WriteString("name", calls[i].Name);
                w.WriteString("arguments", ArgumentsJson(calls[i]));
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }

        /// <summary>The arguments as OpenAI sends them: a string holding a JSON object, values as the model wrote them.</summary>
        private static string ArgumentsJson(FunctionCallContent call)
        {
            var sb = new StringBuilder("{");
            bool first = true;
            IEnumerable<KeyValuePair<string, object?>> args = call.Arguments ?? new Dictionary<string, object?>();
            if (call.RawRepresentation is ToolCall original)
                args = original.Arguments.Select(kv => new KeyValuePair<string, object?>(kv.Key, kv.Value));
            foreach (var kv in args)
            {
                if (!first) sb.Append(", ");
                first = false;
                sb.Append(JsonText.Quote(kv.Key)).Append(": ");
                sb.Append(kv.Value is JsonElement e ? e.GetRawText() : (kv.Value == null ? "null" : ChatMessageMapping.Serialize(kv.Value)));
            }
            return sb.Append('}').ToString();
        }

        private static void WriteUsage(Utf8JsonWriter w, UsageDetails? usage)
        {
            long prompt = usage?.InputTokenCount ?? 0, completion = usage?.OutputTokenCount ?? 0;
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", prompt);
            w.WriteNumber("completion_tokens", completion);
            w.WriteNumber("total_tokens", usage?.TotalTokenCount ?? prompt + completion);
            w.WriteEndObject();
        }

        private static string FinishReason(ChatFinishReason? reason, bool called) =>
            called ? "tool_calls" : reason?.Value ?? "stop";

        private static string NewId() => "chatcmpl-" + Guid.NewGuid().ToString("N");
    }
}
