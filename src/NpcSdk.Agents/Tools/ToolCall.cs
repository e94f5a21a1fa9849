using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NpcSdk.Agents.Tools
{
    /// <summary>A tool call as the model wrote it: a name and JSON arguments.</summary>
    public sealed class ToolCall
    {
        /// <summary>Creates a call.</summary>
        public ToolCall(string name, IReadOnlyDictionary<string, JsonElement> arguments, string rawJson)
        {
            Name = name;
            Arguments = arguments;
            RawJson = rawJson;
        }

        /// <summary>The tool's name.</summary>
        public string Name { get; }

        /// <summary>Arguments by parameter name.</summary>
        public IReadOnlyDictionary<string, JsonElement> Arguments { get; }

        /// <summary>The JSON text the model produced.</summary>
        public string RawJson { get; }

        /// <summary>Parses <c>{"name": ..., "arguments": {...}}</c>.</summary>
        /// <exception cref="ToolCallRejectedException">Not valid JSON, or not of that shape.</exception>
        public static ToolCall Parse(string json)
        {
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(json);
            }
            catch (JsonException e)
            {
                throw new ToolCallRejectedException(null, $"tool call is not valid JSON: {e.Message}");
            }
            using (doc)
            {
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new ToolCallRejectedException(null, "tool call must be a JSON object");
                if (!root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                    throw new ToolCallRejectedException(null, "tool call has no string \"name\"");
                var args = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
                if (root.TryGetProperty("arguments", out var a))
                {
                    if (a.ValueKind != JsonValueKind.Object) throw new ToolCallRejectedException(name.GetString(), "\"arguments\" must be an object");
                    foreach (var p in a.EnumerateObject()) args[p.Name] = p.Value.Clone();
                }
                return new ToolCall(name.GetString()!, args, json);
            }
        }

        /// <summary>Formats the call the way the NPC model writes it.</summary>
        public string ToJson()
        {
            var sb = new StringBuilder();
            sb.Append("{\"name\": ").Append(JsonText.Quote(Name)).Append(", \"arguments\": {");
            bool first = true;
            foreach (var kv in Arguments)
            {
                if (!first) sb.Append(", ");
                first = false;
                sb.Append(JsonText.Quote(kv.Key)).Append(": ").Append(kv.Value.GetRawText());
            }
            return sb.Append("}}").ToString();
        }

        /// <inheritdoc/>
        public override string ToString() => ToJson();
    }

    /// <summary>The outcome of a tool call, sent back to the model as a <c>tool</c> turn.</summary>
    public sealed class ToolResult
    {
        private readonly List<KeyValuePair<string, object?>> _fields = new List<KeyValuePair<string, object?>>();

        private ToolResult(bool ok) => Ok = ok;

        /// <summary>Whether the action happened.</summary>
        public bool Ok { get; }

        /// <summary>Fields reported to the model (and the game).</summary>
        public IReadOnlyList<KeyValuePair<string, object?>> Fields => _fields;

        /// <summary>A success, with fields such as <c>("item", "iron sword"), ("player_gold", 23)</c>.</summary>
        public static ToolResult Success(params (string Key, object? Value)[] fields)
        {
            var r = new ToolResult(true);
            foreach (var f in fields) r._fields.Add(new KeyValuePair<string, object?>(f.Key, f.Value));
            return r;
        }

        /// <summary>A refusal or failure with a reason the model reads.</summary>
        public static ToolResult Failure(string error, params (string Key, object? Value)[] fields)
        {
            var r = new ToolResult(false);
            r._fields.Add(new KeyValuePair<string, object?>("error", error));
            foreach (var f in fields) r._fields.Add(new KeyValuePair<string, object?>(f.Key, f.Value));
            return r;
        }

        /// <summary>The error text of a failure.</summary>
        public string? Error
        {
            get
            {
                foreach (var f in _fields) if (f.Key == "error") return f.Value as string;
                return null;
            }
        }

        /// <summary>JSON as the model reads it: <c>{"ok": true, "item": "iron sword", "player_gold": 23}</c>.</summary>
        public string ToJson()
        {
            var sb = new StringBuilder("{\"ok\": ").Append(Ok ? "true" : "false");
            foreach (var f in _fields)
            {
                sb.Append(", ").Append(JsonText.Quote(f.Key)).Append(": ");
                switch (f.Value)
                {
                    case null: sb.Append("null"); break;
                    case bool b: sb.Append(b ? "true" : "false"); break;
                    case string s: sb.Append(JsonText.Quote(s)); break;
                    case IFormattable n: sb.Append(n.ToString(null, CultureInfo.InvariantCulture)); break;
                    default: sb.Append(JsonText.Quote(f.Value.ToString() ?? "")); break;
                }
            }
            return sb.Append('}').ToString();
        }

        /// <inheritdoc/>
        public override string ToString() => ToJson();
    }

    /// <summary>A tool call was refused: malformed, not granted to this NPC, or with invalid arguments. Names the tool.</summary>
    public sealed class ToolCallRejectedException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public ToolCallRejectedException(string? toolName, string message)
            : base(toolName == null ? message : $"tool '{toolName}': {message}")
        {
            ToolName = toolName;
        }

        /// <summary>The tool involved, when known.</summary>
        public string? ToolName { get; }
    }
}
