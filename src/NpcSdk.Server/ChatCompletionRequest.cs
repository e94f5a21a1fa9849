using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.AI;
using NpcSdk.Grammars;

namespace NpcSdk.Server
{
    /// <summary>
    /// A <c>POST /v1/chat/completions</c> body, checked field by field and turned into Microsoft.Extensions.AI messages
    /// and options. Anything malformed is an <see cref="OpenAiRequestException"/> naming the field.
    /// </summary>
    internal sealed class ChatCompletionRequest
    {
        private static readonly Regex ToolName = new Regex("^[A-Za-z0-9_-]{1,64}$", RegexOptions.CultureInvariant);

        /// <summary>Schemas checked so far and their errors (null: fine); games send the same few tools again and again.</summary>
        private static readonly ConcurrentDictionary<string, string?> CompiledSchemas = new ConcurrentDictionary<string, string?>(StringComparer.Ordinal);

        private ChatCompletionRequest(List<ChatMessage> messages, ChatOptions options, bool stream, bool includeUsage)
        {
            Messages = messages;
            Options = options;
            Stream = stream;
            IncludeUsage = includeUsage;
        }

        public List<ChatMessage> Messages { get; }

        public ChatOptions Options { get; }

        /// <summary>Answer as server-sent events.</summary>
        public bool Stream { get; }

        /// <summary>Streaming: end with a chunk that carries the token usage.</summary>
        public bool IncludeUsage { get; }

        /// <exception cref="OpenAiRequestException">A field is missing, of the wrong type, out of range or unsupported.</exception>
        public static ChatCompletionRequest Parse(JsonElement root, int maxTokensLimit)
        {
            JsonFields.RequireObject(root, "body");
            JsonFields.OptionalString(root, "model", "model");

            if (!JsonFields.TryGet(root, "messages", out var messagesJson))
                throw OpenAiRequestException.BadRequest("'messages' is required", "messages", "missing_required_parameter");
            if (messagesJson.ValueKind != JsonValueKind.Array) throw JsonFields.WrongType("messages", "an array", messagesJson);
            if (messagesJson.GetArrayLength() == 0) throw OpenAiRequestException.BadRequest("'messages' must have at least one message", "messages", "invalid_value");
            var messages = new List<ChatMessage>();
            int i = 0;
            foreach (var m in messagesJson.EnumerateArray()) messages.Add(ParseMessage(m, $"messages[{i++}]"));

            var options = new ChatOptions();
            if (JsonFields.OptionalNumber(root, "temperature", "temperature", 0, 2) is double t) options.Temperature = (float)t;
            if (JsonFields.OptionalNumber(root, "top_p", "top_p", 0, 1) is double p) options.TopP = (float)p;
            JsonFields.OptionalNumber(root, "frequency_penalty", "frequency_penalty", -2, 2);
            JsonFields.OptionalNumber(root, "presence_penalty", "presence_penalty", -2, 2);
            long? maxTokens = JsonFields.OptionalInteger(root, "max_completion_tokens", "max_completion_tokens", 1, maxTokensLimit)
                              ?? JsonFields.OptionalInteger(root, "max_tokens", "max_tokens", 1, maxTokensLimit);
            if (maxTokens.HasValue) options.MaxOutputTokens = (int)maxTokens.Value;
            options.Seed = JsonFields.OptionalInteger(root, "seed", "seed", long.MinValue, long.MaxValue);
            JsonFields.OptionalInteger(root, "n", "n", 1, 1); // one choice per request
            ParseStop(root, options);
            if (JsonFields.OptionalBool(root, "logprobs", "logprobs") == true)
                throw OpenAiRequestException.BadRequest("'logprobs' is not supported by this server", "logprobs", "unsupported_parameter");
            if (JsonFields.TryGet(root, "response_format", out var format))
            {
                JsonFields.RequireObject(format, "response_format");
                string type = JsonFields.RequireString(format, "type", "response_format.type");
                if (type != "text") throw OpenAiRequestException.BadRequest($"'response_format.type' '{type}' is not supported; only 'text'", "response_format.type", "unsupported_value");
            }

            var tools = ParseTools(root);
            ApplyToolChoice(root, tools, options);

            bool stream = JsonFields.OptionalBool(root, "stream", "stream") ?? false;
            bool includeUsage = false;
            if (JsonFields.TryGet(root, "stream_options", out var streamOptions))
            {
                JsonFields.RequireObject(streamOptions, "stream_options");
                includeUsage = JsonFields.OptionalBool(streamOptions, "include_usage", "stream_options.include_usage") ?? false;
            }
            return new ChatCompletionRequest(messages, options, stream, includeUsage);
        }

        private static ChatMessage ParseMessage(JsonElement m, string param)
        {
            JsonFields.RequireObject(m, param);
            string role = JsonFields.RequireString(m, "role", param + ".role");
            switch (role)
            {
                case "system":
                case "developer":
                    return new ChatMessage(ChatRole.System, RequireContent(m, param));
                case "user":
                    return new ChatMessage(ChatRole.User, RequireContent(m, param));
                case "assistant":
                    return ParseAssistant(m, param);
                case "tool":
                    string? callId = JsonFields.OptionalString(m, "tool_call_id", param + ".tool_call_id");
                    return new ChatMessage(ChatRole.Tool, new List<AIContent> { new FunctionResultContent(callId ?? "", RequireContent(m, param)) });
                default:
                    throw OpenAiRequestException.BadRequest($"'{param}.role' is '{role}'; it must be one of system, developer, user, assistant, tool", param + ".role", "invalid_value");
            }
        }

        private static ChatMessage ParseAssistant(JsonElement m, string param)
        {
            var contents = new List<AIContent>();
            string? text = Content(m, param);
            if (!string.IsNullOrEmpty(text)) contents.Add(new TextContent(text));
            if (JsonFields.TryGet(m, "tool_calls", out var calls))
            {
                if (calls.ValueKind != JsonValueKind.Array) throw JsonFields.WrongType(param + ".tool_calls", "an array", calls);
                int j = 0;
                foreach (var call in calls.EnumerateArray())
                {
                    string p = $"{param}.tool_calls[{j++}]";
                    JsonFields.RequireObject(call, p);
                    string id = JsonFields.OptionalString(call, "id", p + ".id") ?? "";
                    string type = JsonFields.OptionalString(call, "type", p + ".type") ?? "function";
                    if (type != "function") throw OpenAiRequestException.BadRequest($"'{p}.type' is '{type}'; only 'function' calls exist", p + ".type", "invalid_value");
                    if (!JsonFields.TryGet(call, "function", out var f)) throw OpenAiRequestException.BadRequest($"'{p}.function' is required", p + ".function", "missing_required_parameter");
                    JsonFields.RequireObject(f, p + ".function");
                    string name = JsonFields.RequireString(f, "name", p + ".function.name");
                    contents.Add(new FunctionCallContent(id, name, ParseArguments(f, p + ".function.arguments")));
                }
            }
            else if (text == null)
            {
                throw OpenAiRequestException.BadRequest($"'{param}.content' is required unless the message has tool_calls", param + ".content", "missing_required_parameter");
            }
            return new ChatMessage(ChatRole.Assistant, contents);
        }

        /// <summary>Arguments: a string holding a JSON object (OpenAI), or the object itself (some clients).</summary>
        private static Dictionary<string, object?> ParseArguments(JsonElement f, string param)
        {
            var args = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (!JsonFields.TryGet(f, "arguments", out var a)) return args;
            JsonElement obj;
            JsonDocument? doc = null;
            try
            {
                if (a.ValueKind == JsonValueKind.String)
                {
                    string s = a.GetString()!;
                    if (s.Trim().Length == 0) return args;
                    try
                    {
                        doc = JsonDocument.Parse(s);
                    }
                    catch (JsonException e)
                    {
                        throw OpenAiRequestException.BadRequest($"'{param}' is not valid JSON: {e.Message}", param, "invalid_value");
                    }
                    obj = doc.RootElement;
                }
                else
                {
                    obj = a;
                }
                if (obj.ValueKind != JsonValueKind.Object) throw JsonFields.WrongType(param, "a JSON object", obj);
                foreach (var prop in obj.EnumerateObject()) args[prop.Name] = prop.Value.Clone();
                return args;
            }
            finally
            {
                doc?.Dispose();
            }
        }

        private static string RequireContent(JsonElement m, string param) =>
            Content(m, param) ?? throw OpenAiRequestException.BadRequest($"'{param}.content' is required", param + ".content", "missing_required_parameter");

        /// <summary>The text of a message's content: a string, or an array of text parts.</summary>
        private static string? Content(JsonElement m, string param)
        {
            if (!JsonFields.TryGet(m, "content", out var c)) return null;
            if (c.ValueKind == JsonValueKind.String) return c.GetString();
            if (c.ValueKind != JsonValueKind.Array) throw JsonFields.WrongType(param + ".content", "a string or an array of text parts", c);
            var sb = new StringBuilder();
            int k = 0;
            foreach (var part in c.EnumerateArray())
            {
                string p = $"{param}.content[{k++}]";
                JsonFields.RequireObject(part, p);
                string type = JsonFields.RequireString(part, "type", p + ".type");
                if (type != "text") throw OpenAiRequestException.BadRequest($"'{p}.type' is '{type}'; this server reads only 'text' parts", p + ".type", "unsupported_value");
                sb.Append(JsonFields.RequireString(part, "text", p + ".text"));
            }
            return sb.ToString();
        }

        private static void ParseStop(JsonElement root, ChatOptions options)
        {
            if (!JsonFields.TryGet(root, "stop", out var stop)) return;
            var stops = new List<string>();
            if (stop.ValueKind == JsonValueKind.String)
            {
                stops.Add(stop.GetString()!);
            }
            else if (stop.ValueKind == JsonValueKind.Array)
            {
                int k = 0;
                foreach (var s in stop.EnumerateArray())
                {
                    if (s.ValueKind != JsonValueKind.String) throw JsonFields.WrongType($"stop[{k}]", "a string", s);
                    stops.Add(s.GetString()!);
                    k++;
                }
                if (stops.Count > 4) throw OpenAiRequestException.BadRequest($"'stop' has {stops.Count} sequences; at most 4 are allowed", "stop", "invalid_value");
            }
            else
            {
                throw JsonFields.WrongType("stop", "a string or an array of strings", stop);
            }
            if (stops.Any(s => s.Length == 0)) throw OpenAiRequestException.BadRequest("'stop' sequences must not be empty", "stop", "invalid_value");
            options.StopSequences = stops;
        }

        private static List<AIFunctionDeclaration> ParseTools(JsonElement root)
        {
            var tools = new List<AIFunctionDeclaration>();
            if (!JsonFields.TryGet(root, "tools", out var toolsJson)) return tools;
            if (toolsJson.ValueKind != JsonValueKind.Array) throw JsonFields.WrongType("tools", "an array", toolsJson);
            int i = 0;
            foreach (var tool in toolsJson.EnumerateArray())
            {
                string p = $"tools[{i++}]";
                JsonFields.RequireObject(tool, p);
                string type = JsonFields.RequireString(tool, "type", p + ".type");
                if (type != "function") throw OpenAiRequestException.BadRequest($"'{p}.type' is '{type}'; only 'function' tools are supported", p + ".type", "invalid_value");
                if (!JsonFields.TryGet(tool, "function", out var f)) throw OpenAiRequestException.BadRequest($"'{p}.function' is required", p + ".function", "missing_required_parameter");
                JsonFields.RequireObject(f, p + ".function");
                string name = JsonFields.RequireString(f, "name", p + ".function.name");
                if (!ToolName.IsMatch(name))
                    throw OpenAiRequestException.BadRequest($"'{p}.function.name' '{name}' must be 1 to 64 letters, digits, '_' or '-'", p + ".function.name", "invalid_value");
                if (tools.Any(t => t.Name == name)) throw OpenAiRequestException.BadRequest($"tool '{name}' is declared twice", p + ".function.name", "invalid_value");
                string description = JsonFields.OptionalString(f, "description", p + ".function.description") ?? "";
                JsonElement schema = JsonFields.TryGet(f, "parameters", out var parameters) ? CheckSchema(parameters, p + ".function.parameters").Clone() : EmptySchema();
                CheckConstrainable(name, schema, p + ".function.parameters");
                tools.Add(AIFunctionFactory.CreateDeclaration(name, description, schema));
            }
            return tools;
        }

        /// <summary>
        /// The arguments schema must describe an object: <c>type</c> "object" (or absent), <c>properties</c> an object of
        /// schemas, <c>required</c> names of those properties. Deeper keywords are left to the constrained decoder.
        /// </summary>
        private static JsonElement CheckSchema(JsonElement schema, string param)
        {
            if (schema.ValueKind != JsonValueKind.Object) throw OpenAiRequestException.BadRequest($"'{param}' must be a JSON schema object, not {JsonFields.Kind(schema)}", param, "invalid_tool_schema");
            if (schema.TryGetProperty("type", out var type) && !(type.ValueKind == JsonValueKind.String && type.GetString() == "object"))
                throw OpenAiRequestException.BadRequest($"'{param}.type' must be \"object\": tool arguments are an object", param + ".type", "invalid_tool_schema");
            var names = new HashSet<string>(StringComparer.Ordinal);
            if (schema.TryGetProperty("properties", out var props))
            {
                if (props.ValueKind != JsonValueKind.Object) throw OpenAiRequestException.BadRequest($"'{param}.properties' must be an object", param + ".properties", "invalid_tool_schema");
                foreach (var prop in props.EnumerateObject())
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object && prop.Value.ValueKind != JsonValueKind.True && prop.Value.ValueKind != JsonValueKind.False)
                        throw OpenAiRequestException.BadRequest($"'{param}.properties.{prop.Name}' must be a schema object", $"{param}.properties.{prop.Name}", "invalid_tool_schema");
                    if (prop.Value.ValueKind == JsonValueKind.Object && prop.Value.TryGetProperty("type", out var t) && t.ValueKind != JsonValueKind.String && t.ValueKind != JsonValueKind.Array)
                        throw OpenAiRequestException.BadRequest($"'{param}.properties.{prop.Name}.type' must be a type name or an array of them", $"{param}.properties.{prop.Name}.type", "invalid_tool_schema");
                    names.Add(prop.Name);
                }
            }
            if (schema.TryGetProperty("required", out var required))
            {
                if (required.ValueKind != JsonValueKind.Array) throw OpenAiRequestException.BadRequest($"'{param}.required' must be an array of property names", param + ".required", "invalid_tool_schema");
                foreach (var r in required.EnumerateArray())
                {
                    if (r.ValueKind != JsonValueKind.String || !names.Contains(r.GetString()!))
                        throw OpenAiRequestException.BadRequest($"'{param}.required' names {r.GetRawText()}, which is not one of its properties", param + ".required", "invalid_tool_schema");
                }
            }
            return schema;
        }

        /// <summary>The schema must compile to the grammar that constrains the model's call (not every keyword does).</summary>
        private static void CheckConstrainable(string name, JsonElement schema, string param)
        {
            string json = schema.GetRawText();
            string key = name + "\n" + json;
            if (!CompiledSchemas.TryGetValue(key, out string? error))
            {
                try
                {
                    Grammar.ToolCall(new[] { new ToolSchema(name, json) });
                    error = null;
                }
                catch (GrammarFormatException e)
                {
                    error = e.Message;
                }
                if (CompiledSchemas.Count >= 256) CompiledSchemas.Clear();
                CompiledSchemas[key] = error;
            }
            if (error != null) throw OpenAiRequestException.BadRequest($"'{param}' cannot constrain the model's tool call: {error}", param, "invalid_tool_schema");
        }

        private static JsonElement EmptySchema()
        {
            using var doc = JsonDocument.Parse("{\"type\": \"object\", \"properties\": {}}");
            return doc.RootElement.Clone();
        }

        /// <summary>
        /// <c>none</c> offers no tools; a named function offers only that one; <c>auto</c> and <c>required</c> offer all
        /// (the model decides whether to call: a call cannot be forced yet).
        /// </summary>
        private static void ApplyToolChoice(JsonElement root, List<AIFunctionDeclaration> tools, ChatOptions options)
        {
            if (JsonFields.TryGet(root, "tool_choice", out var choice))
            {
                if (choice.ValueKind == JsonValueKind.String)
                {
                    string mode = choice.GetString()!;
                    if (mode == "none") tools.Clear();
                    else if (mode != "auto" && mode != "required")
                        throw OpenAiRequestException.BadRequest($"'tool_choice' is '{mode}'; it must be none, auto, required or a function", "tool_choice", "invalid_value");
                }
                else if (choice.ValueKind == JsonValueKind.Object)
                {
                    if (!JsonFields.TryGet(choice, "function", out var f)) throw OpenAiRequestException.BadRequest("'tool_choice.function' is required", "tool_choice.function", "missing_required_parameter");
                    JsonFields.RequireObject(f, "tool_choice.function");
                    string name = JsonFields.RequireString(f, "name", "tool_choice.function.name");
                    if (!tools.Any(t => t.Name == name))
                        throw OpenAiRequestException.BadRequest($"'tool_choice' names '{name}', which is not among the tools", "tool_choice.function.name", "invalid_value");
                    tools.RemoveAll(t => t.Name != name);
                }
                else
                {
                    throw JsonFields.WrongType("tool_choice", "a string or an object", choice);
                }
            }
            if (tools.Count > 0) options.Tools = tools.Cast<AITool>().ToList();
        }
    }
}
