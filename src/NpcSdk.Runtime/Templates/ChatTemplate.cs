using System;
using System.Collections;
using System.Collections.Generic;
using System.Text.Json;
using NpcSdk.Gguf;

namespace NpcSdk.Templates
{
    /// <summary>
    /// A model's chat template (the Jinja2 text in GGUF metadata <c>tokenizer.chat_template</c>, as in Hugging Face's
    /// <c>tokenizer_config.json</c>), rendered the way transformers' <c>apply_chat_template</c> renders it: Jinja2 with
    /// <c>trim_blocks</c> and <c>lstrip_blocks</c>, default (empty-printing) Undefined, <c>raise_exception</c>,
    /// <c>strftime_now</c>, and a <c>tojson</c> that keeps key order and non-ASCII text.
    /// </summary>
    /// <remarks>
    /// A template is parsed once and can be rendered any number of times, from any thread.
    /// <para>
    /// <b>BOS:</b> many templates print <c>bos_token</c> themselves (Llama 3, Mistral, Gemma). The rendered text then
    /// already starts with the BOS, so tokenize it with <c>addSpecial: false</c>
    /// (<c>GgufTokenizer.Encode(text, addSpecial: false, parseSpecial: true)</c>), or the model sees two BOS tokens. Templates that do
    /// not print it (ChatML, Qwen) need the tokenizer's own BOS when the vocabulary asks for one
    /// (<c>addSpecial: true</c>). <see cref="PrintsBosToken"/> tells which case a template is. Either way, parse special
    /// tokens in the rendered text (<c>parseSpecial: true</c>): the template writes them as text.
    /// </para>
    /// </remarks>
    public sealed class ChatTemplate
    {
        /// <summary>The GGUF metadata key holding the default chat template.</summary>
        public const string GgufKey = "tokenizer.chat_template";

        // ChatML as the bundled NPC model was trained on it: identical to its GGUF template for plain messages,
        // and tool calls inline after the text as <tool_call>{"name": ..., "arguments": {...}}</tool_call>.
        private const string ChatMlSource =
            "{%- for message in messages -%}" +
            "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] -}}" +
            "{%- if message.tool_calls is defined and message.tool_calls -%}" +
            "{%- for call in message.tool_calls -%}" +
            "{%- if message['content'] or not loop.first -%}{{- '\\n' -}}{%- endif -%}" +
            "{{- '<tool_call>{\"name\": ' + (call.function.name | tojson) + ', \"arguments\": ' + (call.function.arguments | tojson) + '}</tool_call>' -}}" +
            "{%- endfor -%}" +
            "{%- endif -%}" +
            "{{- '<|im_end|>' + '\\n' -}}" +
            "{%- endfor -%}" +
            "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}";

        private static readonly Lazy<ChatTemplate> ChatMlTemplate = new Lazy<ChatTemplate>(() => Parse(ChatMlSource));

        private readonly List<Node> _body;
        private readonly SourceMap _map;
        private readonly Lazy<bool> _printsBos;

        private ChatTemplate(string source, List<Node> body, SourceMap map)
        {
            Source = source;
            _body = body;
            _map = map;
            _printsBos = new Lazy<bool>(ProbePrintsBos);
        }

        /// <summary>The template text as given.</summary>
        public string Source { get; }

        /// <summary>
        /// The fallback for models without a template: ChatML, the bundled NPC model's format. Each message renders as
        /// <c>&lt;|im_start|&gt;{role}\n{content}&lt;|im_end|&gt;\n</c>, the generation prompt as
        /// <c>&lt;|im_start|&gt;assistant\n</c>; an assistant message's <see cref="ChatMessage.ToolCalls"/> follow its
        /// text, one per line, as <c>&lt;tool_call&gt;{"name": ..., "arguments": {...}}&lt;/tool_call&gt;</c>.
        /// It does not print a BOS.
        /// </summary>
        public static ChatTemplate ChatMl => ChatMlTemplate.Value;

        /// <summary>
        /// True when the template starts its output with <c>bos_token</c> (Llama 3, Mistral, Gemma): tokenize what
        /// <see cref="Render"/> returns with <c>addSpecial: false</c> so the BOS is not doubled.
        /// </summary>
        public bool PrintsBosToken => _printsBos.Value;

        /// <summary>Used by <c>strftime_now</c>; replaceable so tests can pin the date.</summary>
        internal Func<DateTime> Clock { get; set; } = () => DateTime.Now;

        /// <summary>Parses a Jinja2 chat template.</summary>
        /// <exception cref="ChatTemplateException">A syntax error; its message names the line and column.</exception>
        public static ChatTemplate Parse(string source)
        {
            if (source == null) throw new ArgumentNullException(nameof(source));
            string normalized = TemplateLexer.Normalize(source);
            var map = new SourceMap(normalized);
            List<Token> tokens = TemplateLexer.Tokenize(normalized, map);
            return new ChatTemplate(source, TemplateParser.Parse(tokens, map), map);
        }

        /// <summary>The model's chat template from its GGUF metadata, or null when it has none.</summary>
        /// <param name="file">An open GGUF file.</param>
        /// <param name="name">A named alternative (<c>tokenizer.chat_template.{name}</c>, e.g. <c>tool_use</c>); null for the default.</param>
        /// <exception cref="ChatTemplateException">The template does not parse.</exception>
        public static ChatTemplate? FromGguf(GgufFile file, string? name = null)
        {
            if (file == null) throw new ArgumentNullException(nameof(file));
            string? source = file.GetString(name == null ? GgufKey : GgufKey + "." + name);
            return source == null ? null : Parse(source);
        }

        /// <summary>Renders a conversation into the prompt text the model expects.</summary>
        /// <param name="messages">The conversation, oldest first.</param>
        /// <param name="addGenerationPrompt">Append the header that starts the assistant's reply (<c>add_generation_prompt</c>).</param>
        /// <param name="bosToken">The vocabulary's BOS text (e.g. <c>&lt;s&gt;</c>, <c>&lt;|begin_of_text|&gt;</c>), for templates that print <c>bos_token</c>.</param>
        /// <param name="eosToken">The vocabulary's EOS text, for templates that print <c>eos_token</c>.</param>
        /// <param name="extra">
        /// More template variables, overriding the defaults: e.g. <c>tools</c> (a list of tool schemas), <c>date_string</c>,
        /// <c>enable_thinking</c>. Values may be null, strings, booleans, numbers, <see cref="ChatMessage"/>,
        /// <see cref="ChatToolCall"/>, dictionaries with string keys, sequences, or <see cref="JsonElement"/>.
        /// </param>
        /// <returns>The prompt text, special tokens written out as text.</returns>
        /// <exception cref="ChatTemplateException">
        /// The template failed, or rejected the conversation with <c>raise_exception</c>
        /// (<see cref="ChatTemplateException.RaisedByTemplate"/>).
        /// </exception>
        public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt, string bosToken = "", string eosToken = "", IReadOnlyDictionary<string, object?>? extra = null)
        {
            if (messages == null) throw new ArgumentNullException(nameof(messages));
            var context = new Scope(TemplateGlobals.Create(Clock));
            var list = new PyList();
            foreach (ChatMessage m in messages) list.Add(ToValue(m, "messages"));
            context.Set("messages", list);
            context.Set("add_generation_prompt", addGenerationPrompt);
            context.Set("bos_token", bosToken ?? "");
            context.Set("eos_token", eosToken ?? "");
            // transformers always passes these, as None when absent: "tools is defined" holds, "tools is none" too.
            context.Set("tools", null);
            context.Set("documents", null);
            if (extra != null)
            {
                foreach (var kv in extra) context.Set(kv.Key, ToValue(kv.Value, kv.Key));
            }
            return new TemplateRenderer(_map).Render(_body, context);
        }

        private bool ProbePrintsBos()
        {
            const string Sentinel = "\u0001BOS\u0001";
            try
            {
                var probe = new[] { new ChatMessage("user", "Hello") };
                return Render(probe, true, Sentinel, "\u0001EOS\u0001").StartsWith(Sentinel, StringComparison.Ordinal);
            }
            catch (ChatTemplateException)
            {
                return false;
            }
        }

        /// <summary>Converts a .NET value into the Python-like value templates see.</summary>
        private static object? ToValue(object? v, string path)
        {
            switch (v)
            {
                case null: return null;
                case string s: return s;
                case bool b: return b;
                case int i: return (long)i;
                case long l: return l;
                case short sh: return (long)sh;
                case byte by: return (long)by;
                case sbyte sb: return (long)sb;
                case ushort us: return (long)us;
                case uint ui: return (long)ui;
                case ulong ul: return ul <= long.MaxValue ? (object)(long)ul : (double)ul;
                case float f: return (double)f;
                case double d: return d;
                case decimal m: return (double)m;
                case ChatMessage message: return MessageValue(message);
                case ChatToolCall call: return ToolCallValue(call);
                case JsonElement json: return PyJson.FromElement(json);
                case JsonDocument doc: return PyJson.FromElement(doc.RootElement);
                case IDictionary dictionary:
                    var dict = new PyDict();
                    foreach (DictionaryEntry e in dictionary) dict[ToKey(e.Key, path)] = ToValue(e.Value, path + "." + e.Key);
                    return dict;
                case IEnumerable<KeyValuePair<string, object?>> pairs:
                    var fromPairs = new PyDict();
                    foreach (var kv in pairs) fromPairs[kv.Key] = ToValue(kv.Value, path + "." + kv.Key);
                    return fromPairs;
                case IEnumerable<KeyValuePair<string, string>> stringPairs:
                    var fromStrings = new PyDict();
                    foreach (var kv in stringPairs) fromStrings[kv.Key] = kv.Value;
                    return fromStrings;
                case IEnumerable sequence:
                    var list = new PyList();
                    int n = 0;
                    foreach (object? item in sequence) list.Add(ToValue(item, path + "[" + n++ + "]"));
                    return list;
                default:
                    throw new ArgumentException($"Template variable '{path}' has a type templates cannot use: {v.GetType().FullName}", nameof(v));
            }
        }

        private static object ToKey(object key, string path)
        {
            object? value = ToValue(key, path);
            if (value is string || value is long || value is double || value is bool) return value;
            throw new ArgumentException($"Template variable '{path}' has a dictionary key of type {key.GetType().FullName}; use strings");
        }

        private static PyDict MessageValue(ChatMessage m)
        {
            var dict = new PyDict();
            dict["role"] = m.Role;
            dict["content"] = m.Content;
            if (m.ToolCalls != null)
            {
                var calls = new PyList();
                foreach (ChatToolCall call in m.ToolCalls) calls.Add(ToolCallValue(call));
                dict["tool_calls"] = calls;
            }
            if (m.Name != null) dict["name"] = m.Name;
            if (m.ToolCallId != null) dict["tool_call_id"] = m.ToolCallId;
            return dict;
        }

        private static PyDict ToolCallValue(ChatToolCall call)
        {
            object? arguments;
            try
            {
                arguments = PyJson.Parse(call.ArgumentsJson);
            }
            catch (JsonException)
            {
                arguments = call.ArgumentsJson;
            }
            var function = new PyDict();
            function["name"] = call.Name;
            function["arguments"] = arguments;
            var dict = new PyDict();
            if (call.Id != null) dict["id"] = call.Id;
            dict["type"] = "function";
            dict["function"] = function;
            return dict;
        }
    }
}
