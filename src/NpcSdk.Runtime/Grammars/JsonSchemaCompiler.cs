using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// Compiles a JSON schema subset to grammar rules that produce JSON in the NPC model's style: <c>{"a": 1, "b": "x"}</c>
    /// (a space after ':' and ',', none inside brackets, as Python's json.dumps), properties in the schema's order.
    /// </summary>
    /// <remarks>
    /// Supported: <c>type</c> object (properties in order; <c>required</c> ones always written, others optional), string
    /// (<c>minLength</c>/<c>maxLength</c> in characters), integer, number, boolean, null, array (<c>items</c>,
    /// <c>minItems</c>/<c>maxItems</c>), a list of types; <c>enum</c> and <c>const</c> of any JSON values; <c>anyOf</c>/<c>oneOf</c>
    /// (as alternatives); the empty schema (any JSON value). Numbers: <c>minimum</c>/<c>exclusiveMinimum</c> ≥ 0 rule out the
    /// sign (≥ 1 for integers also rules out 0) and a non-negative <c>maximum</c> bounds the digits; integers have at most 15
    /// digits (exact in a double); other range checks are left to validation after generation. Constructs the grammar
    /// cannot enforce (<c>pattern</c>, <c>format</c>, <c>$ref</c>, <c>allOf</c>, <c>not</c>, <c>multipleOf</c>, ...) are
    /// rejected with a <see cref="GrammarFormatException"/> naming their path. Free strings accept raw UTF-8 and JSON
    /// escapes; enum and const strings are written raw, with <c>\uXXXX</c> also accepted for non-ASCII characters.
    /// </remarks>
    internal sealed class JsonSchemaCompiler
    {
        private const int MaxIntegerDigits = 15;
        private const int MaxFractionDigits = 15;

        private static readonly string[] s_unsupported =
        {
            "$ref", "$defs", "definitions", "allOf", "not", "if", "then", "else", "pattern", "patternProperties", "format",
            "multipleOf", "dependentRequired", "dependentSchemas", "prefixItems", "contains", "minContains", "maxContains",
            "uniqueItems", "propertyNames", "minProperties", "maxProperties", "unevaluatedProperties", "unevaluatedItems",
        };

        private readonly List<KeyValuePair<string, GrammarExpression>> _rules;
        private readonly HashSet<string> _names;
        private readonly string _source;

        /// <param name="rules">Where rules are added (shared across schemas of one grammar).</param>
        /// <param name="source">Names the schema in error messages (e.g. "tool 'sell_item'").</param>
        public JsonSchemaCompiler(List<KeyValuePair<string, GrammarExpression>> rules, string source)
        {
            _rules = rules;
            _names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var r in rules) _names.Add(r.Key);
            _source = source;
        }

        /// <summary>The expression for values matching <paramref name="schema"/>; helper rules are named after <paramref name="hint"/>.</summary>
        public GrammarExpression Compile(SchemaJson schema, string path, string hint)
        {
            if (schema.Kind == SchemaJsonKind.True) return Shared("json-value", AnyValue);
            if (schema.Kind == SchemaJsonKind.False) throw Error(path, "the schema 'false' allows no value");
            if (schema.Kind != SchemaJsonKind.Object) throw Error(path, "a schema must be an object or a boolean");

            foreach (string keyword in s_unsupported)
            {
                SchemaJson? value = schema[keyword];
                if (value == null) continue;
                if (keyword == "uniqueItems" && value.Kind == SchemaJsonKind.False) continue;
                throw Error(path, $"keyword '{keyword}' is not supported by grammar-constrained decoding");
            }

            SchemaJson? constValue = schema["const"];
            if (constValue != null) return JsonLiteral(constValue);

            SchemaJson? enumValues = schema["enum"];
            if (enumValues != null)
            {
                if (enumValues.Kind != SchemaJsonKind.Array || enumValues.Items!.Count == 0) throw Error(path + "/enum", "must be a non-empty array");
                var alternatives = new List<GrammarExpression>();
                foreach (SchemaJson v in enumValues.Items) alternatives.Add(JsonLiteral(v));
                return alternatives.Count == 1 ? alternatives[0] : new ChoiceExpression(alternatives);
            }

            foreach (string keyword in new[] { "anyOf", "oneOf" })
            {
                SchemaJson? options = schema[keyword];
                if (options == null) continue;
                if (options.Kind != SchemaJsonKind.Array || options.Items!.Count == 0) throw Error(path + "/" + keyword, "must be a non-empty array");
                var alternatives = new List<GrammarExpression>();
                for (int i = 0; i < options.Items.Count; i++)
                    alternatives.Add(Compile(options.Items[i], $"{path}/{keyword}/{i}", hint));
                return alternatives.Count == 1 ? alternatives[0] : new ChoiceExpression(alternatives);
            }

            SchemaJson? type = schema["type"];
            if (type == null)
            {
                if (schema["properties"] != null || schema["required"] != null) return CompileType("object", schema, path, hint);
                if (schema["items"] != null) return CompileType("array", schema, path, hint);
                return Shared("json-value", AnyValue);
            }
            if (type.Kind == SchemaJsonKind.String) return CompileType(type.Text!, schema, path, hint);
            if (type.Kind == SchemaJsonKind.Array && type.Items!.Count > 0)
            {
                var alternatives = new List<GrammarExpression>();
                foreach (SchemaJson t in type.Items)
                {
                    if (t.Kind != SchemaJsonKind.String) throw Error(path + "/type", "must be a string or an array of strings");
                    alternatives.Add(CompileType(t.Text!, schema, path, hint));
                }
                return alternatives.Count == 1 ? alternatives[0] : new ChoiceExpression(alternatives);
            }
            throw Error(path + "/type", "must be a string or a non-empty array of strings");
        }

        private GrammarExpression CompileType(string type, SchemaJson schema, string path, string hint)
        {
            switch (type)
            {
                case "string": return CompileString(schema, path);
                case "integer": return CompileInteger(schema, path);
                case "number": return CompileNumber(schema, path);
                case "boolean": return Shared("json-boolean", () => new ChoiceExpression(new[] { GrammarExpression.Literal("true"), GrammarExpression.Literal("false") }));
                case "null": return GrammarExpression.Literal("null");
                case "object": return CompileObject(schema, path, hint);
                case "array": return CompileArray(schema, path, hint);
                default: throw Error(path + "/type", $"unknown type '{type}'");
            }
        }

        private GrammarExpression CompileString(SchemaJson schema, string path)
        {
            int min = ReadCount(schema, "minLength", path, 0);
            int max = ReadCount(schema, "maxLength", path, -1);
            if (max >= 0 && max < min) throw Error(path, $"maxLength {max} is below minLength {min}");
            if (min == 0 && max < 0) return Shared("json-string", () => StringOf(0, -1));
            string name = max < 0 ? $"json-string-{min}-" : $"json-string-{min}-{max}";
            return Shared(name, () => StringOf(min, max));
        }

        private GrammarExpression StringOf(int min, int max)
        {
            GrammarExpression ch = Shared("json-char", StringCharacter);
            GrammarExpression body = min == 0 && max < 0 ? new RepeatExpression(ch, 0, -1) : new RepeatExpression(ch, min, max);
            return GrammarExpression.Sequence(GrammarExpression.Literal("\""), body, GrammarExpression.Literal("\""));
        }

        /// <summary>One JSON string character: raw UTF-8 but '"', '\' and controls, or an escape (surrogates only as pairs).</summary>
        private GrammarExpression StringCharacter()
        {
            GrammarExpression hex = Shared("json-hex", () => GrammarExpression.Class(false, ('0', '9'), ('a', 'f'), ('A', 'F')));
            var unicode = new ChoiceExpression(new[]
            {
                GrammarExpression.Sequence(GrammarExpression.Class(false, ('0', '9'), ('a', 'c'), ('A', 'C'), ('e', 'f'), ('E', 'F')), hex, hex, hex),
                GrammarExpression.Sequence(GrammarExpression.Class(false, ('d', 'd'), ('D', 'D')), GrammarExpression.Class(false, ('0', '7')), hex, hex),
                GrammarExpression.Sequence(GrammarExpression.Class(false, ('d', 'd'), ('D', 'D')), GrammarExpression.Class(false, ('8', '9'), ('a', 'b'), ('A', 'B')), hex, hex,
                    GrammarExpression.Literal("\\u"), GrammarExpression.Class(false, ('d', 'd'), ('D', 'D')), GrammarExpression.Class(false, ('c', 'f'), ('C', 'F')), hex, hex),
            });
            return new ChoiceExpression(new[]
            {
                GrammarExpression.Class(true, ('"', '"'), ('\\', '\\'), (0, 0x1F)),
                GrammarExpression.Sequence(GrammarExpression.Literal("\\"), new ChoiceExpression(new[]
                {
                    GrammarExpression.Class(false, ('"', '"'), ('\\', '\\'), ('/', '/'), ('b', 'b'), ('f', 'f'), ('n', 'n'), ('r', 'r'), ('t', 't')),
                    GrammarExpression.Sequence(GrammarExpression.Literal("u"), unicode),
                })),
            });
        }

        private GrammarExpression CompileInteger(SchemaJson schema, string path)
        {
            Bounds(schema, path, out bool nonNegative, out bool positive, out int digits, integer: true);
            string name = "json-int" + (positive ? "-pos" : nonNegative ? "-nat" : "") + (digits < MaxIntegerDigits ? "-" + digits : "");
            return Shared(name, () => IntegerOf(nonNegative, positive, digits));
        }

        private static GrammarExpression IntegerOf(bool nonNegative, bool positive, int digits)
        {
            GrammarExpression magnitude = GrammarExpression.Sequence(
                GrammarExpression.Class(false, ('1', '9')),
                new RepeatExpression(GrammarExpression.Class(false, ('0', '9')), 0, digits - 1));
            if (!positive) magnitude = new ChoiceExpression(new[] { GrammarExpression.Literal("0"), magnitude });
            return nonNegative ? magnitude : GrammarExpression.Sequence(new RepeatExpression(GrammarExpression.Literal("-"), 0, 1), magnitude);
        }

        private GrammarExpression CompileNumber(SchemaJson schema, string path)
        {
            Bounds(schema, path, out bool nonNegative, out _, out int digits, integer: false);
            string name = "json-number" + (nonNegative ? "-nat" : "") + (digits < MaxIntegerDigits ? "-" + digits : "");
            return Shared(name, () =>
            {
                GrammarExpression digit = GrammarExpression.Class(false, ('0', '9'));
                GrammarExpression integer = IntegerOf(nonNegative, false, digits);
                GrammarExpression fraction = new RepeatExpression(GrammarExpression.Sequence(GrammarExpression.Literal("."), new RepeatExpression(digit, 1, MaxFractionDigits)), 0, 1);
                GrammarExpression exponent = new RepeatExpression(GrammarExpression.Sequence(
                    GrammarExpression.Class(false, ('e', 'e'), ('E', 'E')),
                    new RepeatExpression(GrammarExpression.Class(false, ('+', '+'), ('-', '-')), 0, 1),
                    new RepeatExpression(digit, 1, 3)), 0, 1);
                return GrammarExpression.Sequence(integer, fraction, exponent);
            });
        }

        private void Bounds(SchemaJson schema, string path, out bool nonNegative, out bool positive, out int digits, bool integer)
        {
            double? minimum = ReadNumber(schema, "minimum", path);
            double? exclusiveMinimum = ReadNumber(schema, "exclusiveMinimum", path);
            double? maximum = ReadNumber(schema, "maximum", path);
            double? exclusiveMaximum = ReadNumber(schema, "exclusiveMaximum", path);
            nonNegative = (minimum.HasValue && minimum.Value >= 0) || (exclusiveMinimum.HasValue && exclusiveMinimum.Value >= 0);
            positive = integer && ((minimum.HasValue && minimum.Value >= 1) || (exclusiveMinimum.HasValue && exclusiveMinimum.Value >= 0));
            digits = MaxIntegerDigits;
            double? upper = maximum ?? exclusiveMaximum;
            if (nonNegative && upper.HasValue && upper.Value >= 1)
            {
                double top = Math.Floor(upper.Value);
                digits = Math.Min(MaxIntegerDigits, top.ToString("0", CultureInfo.InvariantCulture).Length);
            }
        }

        private GrammarExpression CompileObject(SchemaJson schema, string path, string hint)
        {
            SchemaJson? properties = schema["properties"];
            if (properties != null && properties.Kind != SchemaJsonKind.Object) throw Error(path + "/properties", "must be an object");
            var names = new List<string>();
            var values = new List<GrammarExpression>();
            if (properties != null)
            {
                foreach (var p in properties.Members!)
                {
                    names.Add(p.Key);
                    GrammarExpression value = Compile(p.Value, path + "/properties/" + p.Key, hint + "-" + p.Key);
                    values.Add(value is LiteralExpression || value is RuleReference ? value : AddRule(hint + "-" + p.Key, value));
                }
            }
            var required = new bool[names.Count];
            SchemaJson? req = schema["required"];
            if (req != null)
            {
                if (req.Kind != SchemaJsonKind.Array) throw Error(path + "/required", "must be an array of property names");
                foreach (SchemaJson r in req.Items!)
                {
                    int index = r.Kind == SchemaJsonKind.String ? names.IndexOf(r.Text!) : -1;
                    if (index < 0) throw Error(path + "/required", $"'{r}' is not one of the properties");
                    required[index] = true;
                }
            }

            var members = new List<GrammarExpression>();
            for (int i = 0; i < names.Count; i++)
            {
                var key = new StringBuilder();
                SchemaJson.WriteString(key, names[i]);
                key.Append(": ");
                members.Add(GrammarExpression.Sequence(GrammarExpression.Literal(key.ToString()), values[i]));
            }
            if (names.Count == 0) return GrammarExpression.Literal("{}");
            if (Array.TrueForAll(required, r => r))
            {
                var seq = new List<GrammarExpression> { GrammarExpression.Literal("{") };
                for (int i = 0; i < members.Count; i++)
                {
                    if (i > 0) seq.Add(GrammarExpression.Literal(", "));
                    seq.Add(members[i]);
                }
                seq.Add(GrammarExpression.Literal("}"));
                return new SequenceExpression(seq);
            }
            // Optional properties: Rest(k, comma) writes the properties from k on, each optional until the next required one.
            var rest = new Dictionary<(int, bool), GrammarExpression>();
            GrammarExpression Rest(int k, bool comma)
            {
                if (rest.TryGetValue((k, comma), out GrammarExpression? known)) return known;
                var alternatives = new List<GrammarExpression>();
                bool requiredLeft = false;
                for (int j = k; j < names.Count; j++)
                {
                    var seq = new List<GrammarExpression>();
                    if (comma) seq.Add(GrammarExpression.Literal(", "));
                    seq.Add(members[j]);
                    if (j + 1 < names.Count) seq.Add(Rest(j + 1, true));
                    alternatives.Add(new SequenceExpression(seq));
                    if (required[j])
                    {
                        requiredLeft = true;
                        break;
                    }
                }
                if (!requiredLeft) alternatives.Add(GrammarExpression.Empty);
                GrammarExpression rule = AddRule($"{hint}-rest{k}{(comma ? "c" : "")}", new ChoiceExpression(alternatives));
                rest[(k, comma)] = rule;
                return rule;
            }
            return GrammarExpression.Sequence(GrammarExpression.Literal("{"), Rest(0, false), GrammarExpression.Literal("}"));
        }

        private GrammarExpression CompileArray(SchemaJson schema, string path, string hint)
        {
            SchemaJson? items = schema["items"];
            GrammarExpression item = items == null ? Shared("json-value", AnyValue) : Compile(items, path + "/items", hint + "-item");
            if (!(item is LiteralExpression || item is RuleReference)) item = AddRule(hint + "-item", item);
            int min = ReadCount(schema, "minItems", path, 0);
            int max = ReadCount(schema, "maxItems", path, -1);
            if (max >= 0 && max < min) throw Error(path, $"maxItems {max} is below minItems {min}");
            if (max == 0) return GrammarExpression.Literal("[]");
            GrammarExpression more = new RepeatExpression(GrammarExpression.Sequence(GrammarExpression.Literal(", "), item),
                Math.Max(0, min - 1), max < 0 ? -1 : max - 1);
            GrammarExpression list = GrammarExpression.Sequence(item, more);
            if (min == 0) list = new RepeatExpression(list, 0, 1);
            return GrammarExpression.Sequence(GrammarExpression.Literal("["), list, GrammarExpression.Literal("]"));
        }

        /// <summary>Any JSON value, in the model's style (recursive rules json-value, json-object, json-array).</summary>
        private GrammarExpression AnyValue()
        {
            GrammarExpression value = GrammarExpression.Rule("json-value");
            GrammarExpression str = Shared("json-string", () => StringOf(0, -1));
            GrammarExpression number = CompileNumber(SchemaJson.Parse("{}", "json-value"), "#");
            GrammarExpression member = GrammarExpression.Sequence(str, GrammarExpression.Literal(": "), value);
            GrammarExpression obj = Shared("json-object", () => GrammarExpression.Sequence(GrammarExpression.Literal("{"),
                new RepeatExpression(GrammarExpression.Sequence(member, new RepeatExpression(GrammarExpression.Sequence(GrammarExpression.Literal(", "), member), 0, -1)), 0, 1),
                GrammarExpression.Literal("}")));
            GrammarExpression arr = Shared("json-array", () => GrammarExpression.Sequence(GrammarExpression.Literal("["),
                new RepeatExpression(GrammarExpression.Sequence(value, new RepeatExpression(GrammarExpression.Sequence(GrammarExpression.Literal(", "), value), 0, -1)), 0, 1),
                GrammarExpression.Literal("]")));
            return new ChoiceExpression(new[]
            {
                obj, arr, str, number,
                GrammarExpression.Literal("true"), GrammarExpression.Literal("false"), GrammarExpression.Literal("null"),
            });
        }

        /// <summary>The exact JSON text of a const/enum value; non-ASCII characters in strings may also be \u-escaped.</summary>
        private static GrammarExpression JsonLiteral(SchemaJson value)
        {
            var sb = new StringBuilder();
            value.WriteJson(sb);
            string text = sb.ToString();
            var parts = new List<GrammarExpression>();
            int run = 0;
            bool inString = false, escaped = false;
            for (int i = 0; i < text.Length; i++)
            {
                char c = text[i];
                if (inString && !escaped && c >= 0x80)
                {
                    if (i > run) parts.Add(GrammarExpression.Literal(text.Substring(run, i - run)));
                    int length = char.IsSurrogatePair(text, i) ? 2 : 1;
                    string raw = text.Substring(i, length);
                    var escape = new StringBuilder();
                    foreach (char u in raw) escape.Append("\\u").Append(((int)u).ToString("x4", CultureInfo.InvariantCulture));
                    parts.Add(new ChoiceExpression(new[] { GrammarExpression.Literal(raw), GrammarExpression.Literal(escape.ToString()) }));
                    i += length - 1;
                    run = i + 1;
                    continue;
                }
                if (escaped) escaped = false;
                else if (inString && c == '\\') escaped = true;
                else if (c == '"') inString = !inString;
            }
            if (run < text.Length) parts.Add(GrammarExpression.Literal(text.Substring(run)));
            return parts.Count == 1 ? parts[0] : new SequenceExpression(parts);
        }

        private GrammarExpression Shared(string name, Func<GrammarExpression> build)
        {
            if (_names.Contains(name)) return GrammarExpression.Rule(name);
            _names.Add(name); // reserve before building: the body may refer to itself (json-value)
            int slot = _rules.Count;
            _rules.Add(new KeyValuePair<string, GrammarExpression>(name, GrammarExpression.Empty));
            _rules[slot] = new KeyValuePair<string, GrammarExpression>(name, build());
            return GrammarExpression.Rule(name);
        }

        /// <summary>Adds a rule under a fresh name derived from <paramref name="hint"/> and returns a reference to it.</summary>
        public GrammarExpression AddRule(string hint, GrammarExpression body)
        {
            string name = UniqueName(hint);
            _rules.Add(new KeyValuePair<string, GrammarExpression>(name, body));
            return GrammarExpression.Rule(name);
        }

        /// <summary>A rule name made of GBNF name characters, not used yet.</summary>
        public string UniqueName(string hint)
        {
            var sb = new StringBuilder();
            foreach (char c in hint)
                sb.Append((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ? c : '-');
            string baseName = sb.Length == 0 ? "rule" : sb.ToString();
            if (baseName.StartsWith("json-", StringComparison.Ordinal)) baseName = "x-" + baseName; // the shared rules' names
            string name = baseName;
            for (int i = 2; !_names.Add(name); i++) name = baseName + "-" + i.ToString(CultureInfo.InvariantCulture);
            return name;
        }

        private int ReadCount(SchemaJson schema, string keyword, string path, int fallback)
        {
            SchemaJson? v = schema[keyword];
            if (v == null) return fallback;
            if (v.Kind != SchemaJsonKind.Number || !int.TryParse(v.Text, NumberStyles.None, CultureInfo.InvariantCulture, out int n))
                throw Error(path + "/" + keyword, "must be a non-negative integer");
            if (n > 10000) throw Error(path + "/" + keyword, "values above 10000 are not supported");
            return n;
        }

        private double? ReadNumber(SchemaJson schema, string keyword, string path)
        {
            SchemaJson? v = schema[keyword];
            if (v == null) return null;
            if (v.Kind != SchemaJsonKind.Number) throw Error(path + "/" + keyword, "must be a number");
            return double.Parse(v.Text!, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        private GrammarFormatException Error(string path, string message) => new GrammarFormatException($"{_source}: schema {path}: {message}");
    }
}
