using System;
using System.Collections.Generic;
using System.Text;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// A context-free grammar over text (llama.cpp's GBNF: rules of sequences, alternatives and repetition over literals
    /// and character classes) that constrains what a model may generate. Build one from GBNF, from a JSON schema, or as
    /// the tool-call language of a set of tools; then match text with a <see cref="GrammarMatcher"/> or constrain sampling
    /// with a <see cref="GrammarSampler"/>.
    /// </summary>
    /// <remarks>
    /// Immutable and thread-safe. A grammar keeps what it learns while matching (its automaton states and the token masks
    /// per vocabulary), so reuse one instance for as long as its tools and their allowed values stay the same.
    /// </remarks>
    public sealed class Grammar
    {
        /// <summary>The text that closes a tool call in the NPC model's format.</summary>
        public const string ToolCallEndMarker = "</tool_call>";

        private readonly List<KeyValuePair<string, GrammarExpression>> _rules;
        private readonly List<TokenMaskCache> _maskCaches = new List<TokenMaskCache>();

        private Grammar(List<KeyValuePair<string, GrammarExpression>> rules, string rootRule, string? endMarker)
        {
            _rules = rules;
            RootRule = rootRule;
            EndMarker = endMarker;
            Program = GrammarCompiler.Compile(rules, rootRule);
            Automaton = new GrammarAutomaton(Program);
        }

        /// <summary>The start rule.</summary>
        public string RootRule { get; }

        /// <summary>
        /// The text of the special token that follows a complete sentence of this grammar (<c>&lt;/tool_call&gt;</c> for
        /// <see cref="ToolCall"/> grammars), or null. <see cref="GrammarSampler"/> uses it when not given an end token.
        /// </summary>
        public string? EndMarker { get; }

        internal GrammarProgram Program { get; }

        internal GrammarAutomaton Automaton { get; }

        /// <summary>Parses a grammar in GBNF (llama.cpp's grammar format).</summary>
        /// <param name="gbnf">The rules, e.g. <c>root ::= "yes" | "no"</c>.</param>
        /// <param name="rootRule">The start rule.</param>
        /// <exception cref="GrammarFormatException">A syntax error (with line and column), an undefined or left-recursive rule.</exception>
        public static Grammar Parse(string gbnf, string rootRule = "root")
        {
            if (gbnf == null) throw new ArgumentNullException(nameof(gbnf));
            return new Grammar(GbnfParser.Parse(gbnf), rootRule, null);
        }

        /// <summary>The grammar of JSON values matching a schema, written the way the NPC model writes JSON.</summary>
        /// <param name="schemaJson">A JSON schema (the subset described in the remarks).</param>
        /// <remarks>
        /// Output style: <c>{"item": "iron sword", "price": 12}</c>: a space after ':' and ',', none inside brackets,
        /// properties in the schema's order. Supported: object (required properties always, others optional, in order),
        /// string (minLength/maxLength), integer, number, boolean, null, array (items, minItems/maxItems), enum, const,
        /// anyOf/oneOf, type lists, the empty schema (any JSON). Integers have at most 15 digits; a minimum ≥ 0 rules out
        /// the sign, a maximum bounds the digit count, other bounds are for validation after generation. Keywords the
        /// grammar cannot enforce (pattern, format, $ref, allOf, not, multipleOf, ...) throw.
        /// </remarks>
        /// <exception cref="GrammarFormatException">Invalid JSON or an unsupported schema construct (the message names its path).</exception>
        public static Grammar FromJsonSchema(string schemaJson)
        {
            if (schemaJson == null) throw new ArgumentNullException(nameof(schemaJson));
            SchemaJson schema = SchemaJson.Parse(schemaJson, "JSON schema");
            var rules = new List<KeyValuePair<string, GrammarExpression>> { new KeyValuePair<string, GrammarExpression>("root", GrammarExpression.Empty) };
            var compiler = new JsonSchemaCompiler(rules, "JSON schema");
            rules[0] = new KeyValuePair<string, GrammarExpression>("root", compiler.Compile(schema, "#", "value"));
            return new Grammar(rules, "root", null);
        }

        /// <summary>
        /// The language of one tool call in the NPC model's format, <c>{"name": "sell_item", "arguments": {"item": "iron sword", "price": 12}}</c>,
        /// naming one of <paramref name="tools"/> with arguments matching that tool's schema; closed by the
        /// <c>&lt;/tool_call&gt;</c> token (see <see cref="EndMarker"/>). Constrain generation right after the
        /// <c>&lt;tool_call&gt;</c> token. String enums (say the items the NPC has) become alternatives.
        /// </summary>
        /// <exception cref="ArgumentException">No tools, or two with the same name.</exception>
        /// <exception cref="GrammarFormatException">A tool's schema is invalid or unsupported (the message names the tool and path).</exception>
        public static Grammar ToolCall(IEnumerable<ToolSchema> tools)
        {
            if (tools == null) throw new ArgumentNullException(nameof(tools));
            var rules = new List<KeyValuePair<string, GrammarExpression>> { new KeyValuePair<string, GrammarExpression>("root", GrammarExpression.Empty) };
            var names = new HashSet<string>(StringComparer.Ordinal);
            var calls = new List<GrammarExpression>();
            foreach (ToolSchema tool in tools)
            {
                if (tool == null) throw new ArgumentException("a tool is null", nameof(tools));
                if (!names.Add(tool.Name)) throw new ArgumentException($"tool '{tool.Name}' is listed twice", nameof(tools));
                string source = $"tool '{tool.Name}'";
                SchemaJson schema = SchemaJson.Parse(tool.ParametersJsonSchema, source + " parameters");
                SchemaJson? type = schema.Kind == SchemaJsonKind.Object ? schema["type"] : null;
                if (schema.Kind != SchemaJsonKind.Object || (type != null && (type.Kind != SchemaJsonKind.String || type.Text != "object")))
                    throw new GrammarFormatException($"{source}: schema #: the arguments must be an object schema (\"type\": \"object\")");
                var compiler = new JsonSchemaCompiler(rules, source);
                GrammarExpression arguments = compiler.Compile(schema, "#", tool.Name);
                if (!(arguments is LiteralExpression)) arguments = compiler.AddRule(tool.Name + "-arguments", arguments);

                var head = new StringBuilder("{\"name\": ");
                SchemaJson.WriteString(head, tool.Name);
                head.Append(", \"arguments\": ");
                calls.Add(GrammarExpression.Sequence(GrammarExpression.Literal(head.ToString()), arguments, GrammarExpression.Literal("}")));
            }
            if (calls.Count == 0) throw new ArgumentException("a tool-call grammar needs at least one tool", nameof(tools));
            rules[0] = new KeyValuePair<string, GrammarExpression>("root", calls.Count == 1 ? calls[0] : new ChoiceExpression(calls));
            return new Grammar(rules, "root", ToolCallEndMarker);
        }

        /// <summary>A matcher at the start of this grammar.</summary>
        public GrammarMatcher CreateMatcher() => new GrammarMatcher(this);

        /// <summary>Whether <paramref name="text"/> (as UTF-8) is a complete sentence of the grammar.</summary>
        public bool Matches(string text)
        {
            if (text == null) throw new ArgumentNullException(nameof(text));
            var m = CreateMatcher();
            return m.Accept(Encoding.UTF8.GetBytes(text)) && m.IsComplete;
        }

        /// <summary>The grammar in GBNF (parses back to the same language with <see cref="Parse"/>).</summary>
        public override string ToString()
        {
            var sb = new StringBuilder();
            foreach (var rule in _rules)
            {
                sb.Append(rule.Key).Append(" ::= ");
                rule.Value.Write(sb, nested: false);
                sb.Append('\n');
            }
            return sb.ToString();
        }

        /// <summary>The mask cache for a vocabulary and end token, shared by every sampler of this grammar.</summary>
        internal TokenMaskCache MaskCache(VocabularyTrie trie, int endToken)
        {
            lock (_maskCaches)
            {
                foreach (TokenMaskCache c in _maskCaches)
                    if (c.Trie == trie && c.EndToken == endToken) return c;
                var cache = new TokenMaskCache(Automaton, trie, endToken);
                _maskCaches.Add(cache);
                return cache;
            }
        }
    }
}
