using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using Microsoft.Extensions.AI;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Tools;

namespace NpcSdk.Extensions.AI
{
    /// <summary>Maps Microsoft.Extensions.AI messages and tools to the agent layer's conversation and back.</summary>
    internal static class ChatMessageMapping
    {
        private static readonly string EmptyObjectSchema = "{\"type\": \"object\", \"properties\": {}}";

        /// <summary>
        /// The conversation as dialogue messages: instructions first, assistant tool calls attached to their message
        /// (one call per message, as the model writes them), function results as <c>tool</c> turns.
        /// </summary>
        /// <exception cref="ArgumentException">A message has a role the chat format does not have.</exception>
        public static List<DialogueMessage> ToDialogue(IEnumerable<ChatMessage> messages, string? instructions)
        {
            var result = new List<DialogueMessage>();
            if (!string.IsNullOrEmpty(instructions)) result.Add(new DialogueMessage(DialogueRole.System, instructions!));
            int index = 0;
            foreach (var m in messages)
            {
                if (m == null) throw new ArgumentException($"message {index} is null", nameof(messages));
                var results = m.Contents.OfType<FunctionResultContent>().ToList();
                if (results.Count > 0)
                {
                    foreach (var r in results) result.Add(new DialogueMessage(DialogueRole.Tool, ResultText(r)));
                }
                else if (m.Role == ChatRole.System)
                {
                    result.Add(new DialogueMessage(DialogueRole.System, m.Text));
                }
                else if (m.Role == ChatRole.User)
                {
                    result.Add(new DialogueMessage(DialogueRole.User, m.Text));
                }
                else if (m.Role == ChatRole.Tool)
                {
                    result.Add(new DialogueMessage(DialogueRole.Tool, m.Text));
                }
                else if (m.Role == ChatRole.Assistant)
                {
                    var calls = m.Contents.OfType<FunctionCallContent>().ToList();
                    if (calls.Count == 0) result.Add(new DialogueMessage(DialogueRole.Assistant, m.Text));
                    for (int i = 0; i < calls.Count; i++)
                        result.Add(new DialogueMessage(DialogueRole.Assistant, i == 0 ? m.Text : "", ToToolCall(calls[i])));
                }
                else
                {
                    throw new ArgumentException($"message {index} has role '{m.Role}'; the chat format has system, user, assistant and tool", nameof(messages));
                }
                index++;
            }
            return result;
        }

        /// <summary>The tools a reply may call: the function declarations among <paramref name="options"/>' tools, unless tool mode is none.</summary>
        public static List<ToolSpec> ToToolSpecs(ChatOptions? options)
        {
            var specs = new List<ToolSpec>();
            if (options?.Tools == null || options.ToolMode is NoneChatToolMode) return specs;
            foreach (var tool in options.Tools)
            {
                if (!(tool is AIFunctionDeclaration f)) continue;
                string schema = f.JsonSchema.ValueKind == JsonValueKind.Object ? f.JsonSchema.GetRawText() : EmptyObjectSchema;
                specs.Add(new ToolSpec(f.Name, f.Description ?? "", schema));
            }
            return specs;
        }

        /// <summary>A model-written tool call as a function call with JSON element arguments.</summary>
        public static FunctionCallContent ToFunctionCall(ToolCall call, string callId)
        {
            var args = new Dictionary<string, object?>(StringComparer.Ordinal);
            foreach (var kv in call.Arguments) args[kv.Key] = kv.Value;
            return new FunctionCallContent(callId, call.Name, args) { RawRepresentation = call };
        }

        /// <summary>A function call (ours coming back, or a caller's) as the agent layer's tool call.</summary>
        public static ToolCall ToToolCall(FunctionCallContent call)
        {
            if (call.RawRepresentation is ToolCall original && original.Name == call.Name) return original;
            var args = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            if (call.Arguments != null)
                foreach (var kv in call.Arguments) args[kv.Key] = ToJsonElement(kv.Value);
            var withoutRaw = new ToolCall(call.Name, args, "");
            return new ToolCall(call.Name, args, withoutRaw.ToJson());
        }

        /// <summary>A function result as the text of a <c>tool</c> turn: strings as they are, anything else as JSON.</summary>
        public static string ResultText(FunctionResultContent r)
        {
            switch (r.Result)
            {
                case null:
                    return r.Exception != null ? "{\"ok\": false, \"error\": " + JsonText.Quote(r.Exception.Message) + "}" : "null";
                case string s:
                    return s;
                case JsonElement e:
                    return e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText();
                case JsonDocument d:
                    return d.RootElement.GetRawText();
                default:
                    return Serialize(r.Result);
            }
        }

        /// <summary>
        /// A value as JSON through <see cref="AIJsonUtilities.DefaultOptions"/>, the serializer Microsoft.Extensions.AI itself uses
        /// (its own contract types source-generated, others by reflection where the application allows it).
        /// </summary>
        internal static string Serialize(object value) =>
            JsonSerializer.Serialize(value, AIJsonUtilities.DefaultOptions.GetTypeInfo(value.GetType()));

        private static JsonElement ToJsonElement(object? value)
        {
            switch (value)
            {
                case JsonElement e:
                    return e.Clone();
                case null:
                    return Parse("null");
                default:
                    return Parse(Serialize(value));
            }
        }

        private static JsonElement Parse(string json)
        {
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.Clone();
        }

        /// <summary>The system message with the granted tools listed (added when the prompt has none yet).</summary>
        public static void ListToolsInSystemPrompt(List<DialogueMessage> messages, IReadOnlyList<ToolSpec> tools)
        {
            if (tools.Count == 0) return;
            int i = messages.FindIndex(m => m.Role == DialogueRole.System);
            if (i < 0)
            {
                messages.Insert(0, new DialogueMessage(DialogueRole.System, ToolPromptSection.AddMissing("", tools)));
                return;
            }
            string updated = ToolPromptSection.AddMissing(messages[i].Content, tools);
            if (!ReferenceEquals(updated, messages[i].Content)) messages[i] = new DialogueMessage(DialogueRole.System, updated);
        }
    }
}
