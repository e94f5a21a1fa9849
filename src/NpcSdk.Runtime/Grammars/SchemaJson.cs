using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace NpcSdk.Grammars
{
    /// <summary>The kinds of <see cref="SchemaJson"/> values.</summary>
    internal enum SchemaJsonKind
    {
        Null,
        False,
        True,
        Number,
        String,
        Array,
        Object,
    }

    /// <summary>
    /// A parsed JSON value, as much as the schema compiler needs: object members keep their order (property order is the
    /// order the model writes them), numbers keep their text. A small reader of our own, because the runtime also targets
    /// netstandard2.1 where System.Text.Json is not part of the framework.
    /// </summary>
    internal sealed class SchemaJson
    {
        private SchemaJson(SchemaJsonKind kind, string? text = null, List<SchemaJson>? items = null, List<KeyValuePair<string, SchemaJson>>? members = null)
        {
            Kind = kind;
            Text = text;
            Items = items;
            Members = members;
        }

        public SchemaJsonKind Kind { get; }

        /// <summary>The string value, or a number's literal text.</summary>
        public string? Text { get; }

        public List<SchemaJson>? Items { get; }

        public List<KeyValuePair<string, SchemaJson>>? Members { get; }

        /// <summary>The member called <paramref name="name"/> of an object, or null.</summary>
        public SchemaJson? this[string name]
        {
            get
            {
                if (Members == null) return null;
                foreach (var m in Members)
                    if (m.Key == name) return m.Value;
                return null;
            }
        }

        /// <summary>Writes the value as JSON in the style the NPC model writes (<c>", "</c> and <c>": "</c>).</summary>
        public void WriteJson(StringBuilder sb)
        {
            switch (Kind)
            {
                case SchemaJsonKind.Null: sb.Append("null"); break;
                case SchemaJsonKind.False: sb.Append("false"); break;
                case SchemaJsonKind.True: sb.Append("true"); break;
                case SchemaJsonKind.Number: sb.Append(Text); break;
                case SchemaJsonKind.String: WriteString(sb, Text!); break;
                case SchemaJsonKind.Array:
                    sb.Append('[');
                    for (int i = 0; i < Items!.Count; i++)
                    {
                        if (i > 0) sb.Append(", ");
                        Items[i].WriteJson(sb);
                    }
                    sb.Append(']');
                    break;
                default:
                    sb.Append('{');
                    for (int i = 0; i < Members!.Count; i++)
                    {
                        if (i > 0) sb.Append(", ");
                        WriteString(sb, Members[i].Key);
                        sb.Append(": ");
                        Members[i].Value.WriteJson(sb);
                    }
                    sb.Append('}');
                    break;
            }
        }

        /// <summary>A JSON string literal with the escapes JSON requires (other characters raw).</summary>
        public static void WriteString(StringBuilder sb, string s)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }

        public override string ToString()
        {
            var sb = new StringBuilder();
            WriteJson(sb);
            return sb.ToString();
        }

        /// <summary>Parses JSON text.</summary>
        /// <exception cref="GrammarFormatException">The text is not valid JSON (the message names the offset).</exception>
        public static SchemaJson Parse(string json, string what)
        {
            if (json == null) throw new ArgumentNullException(nameof(json));
            var reader = new Reader(json, what);
            reader.SkipSpace();
            SchemaJson value = reader.ReadValue(0);
            reader.SkipSpace();
            if (reader.Position < json.Length) throw reader.Error("unexpected text after the JSON value");
            return value;
        }

        private sealed class Reader
        {
            private const int MaxDepth = 64;
            private readonly string _s;
            private readonly string _what;

            public Reader(string s, string what)
            {
                _s = s;
                _what = what;
            }

            public int Position { get; private set; }

            public GrammarFormatException Error(string message) => new GrammarFormatException($"{_what}: invalid JSON at offset {Position}: {message}");

            public void SkipSpace()
            {
                while (Position < _s.Length && (_s[Position] == ' ' || _s[Position] == '\t' || _s[Position] == '\n' || _s[Position] == '\r')) Position++;
            }

            public SchemaJson ReadValue(int depth)
            {
                if (depth > MaxDepth) throw Error("nested too deeply");
                if (Position >= _s.Length) throw Error("unexpected end");
                char c = _s[Position];
                switch (c)
                {
                    case '{': return ReadObject(depth);
                    case '[': return ReadArray(depth);
                    case '"': return new SchemaJson(SchemaJsonKind.String, ReadString());
                    case 't': Expect("true"); return new SchemaJson(SchemaJsonKind.True);
                    case 'f': Expect("false"); return new SchemaJson(SchemaJsonKind.False);
                    case 'n': Expect("null"); return new SchemaJson(SchemaJsonKind.Null);
                    default:
                        if (c == '-' || (c >= '0' && c <= '9')) return new SchemaJson(SchemaJsonKind.Number, ReadNumber());
                        throw Error($"unexpected character '{c}'");
                }
            }

            private void Expect(string word)
            {
                if (string.CompareOrdinal(_s, Position, word, 0, word.Length) != 0) throw Error($"expected '{word}'");
                Position += word.Length;
            }

            private SchemaJson ReadObject(int depth)
            {
                Position++;
                var members = new List<KeyValuePair<string, SchemaJson>>();
                SkipSpace();
                if (Position < _s.Length && _s[Position] == '}')
                {
                    Position++;
                    return new SchemaJson(SchemaJsonKind.Object, members: members);
                }
                while (true)
                {
                    SkipSpace();
                    if (Position >= _s.Length || _s[Position] != '"') throw Error("expected a property name");
                    string key = ReadString();
                    SkipSpace();
                    if (Position >= _s.Length || _s[Position] != ':') throw Error("expected ':'");
                    Position++;
                    SkipSpace();
                    foreach (var m in members)
                        if (m.Key == key) throw Error($"duplicate property '{key}'");
                    members.Add(new KeyValuePair<string, SchemaJson>(key, ReadValue(depth + 1)));
                    SkipSpace();
                    if (Position >= _s.Length) throw Error("unexpected end in object");
                    if (_s[Position] == ',') { Position++; continue; }
                    if (_s[Position] == '}') { Position++; break; }
                    throw Error("expected ',' or '}'");
                }
                return new SchemaJson(SchemaJsonKind.Object, members: members);
            }

            private SchemaJson ReadArray(int depth)
            {
                Position++;
                var items = new List<SchemaJson>();
                SkipSpace();
                if (Position < _s.Length && _s[Position] == ']')
                {
                    Position++;
                    return new SchemaJson(SchemaJsonKind.Array, items: items);
                }
                while (true)
                {
                    SkipSpace();
                    items.Add(ReadValue(depth + 1));
                    SkipSpace();
                    if (Position >= _s.Length) throw Error("unexpected end in array");
                    if (_s[Position] == ',') { Position++; continue; }
                    if (_s[Position] == ']') { Position++; break; }
                    throw Error("expected ',' or ']'");
                }
                return new SchemaJson(SchemaJsonKind.Array, items: items);
            }

            private string ReadString()
            {
                Position++;
                var sb = new StringBuilder();
                while (true)
                {
                    if (Position >= _s.Length) throw Error("unterminated string");
                    char c = _s[Position++];
                    if (c == '"') return sb.ToString();
                    if (c < 0x20) throw Error("control character in string");
                    if (c != '\\')
                    {
                        sb.Append(c);
                        continue;
                    }
                    if (Position >= _s.Length) throw Error("unterminated escape");
                    char e = _s[Position++];
                    switch (e)
                    {
                        case '"': sb.Append('"'); break;
                        case '\\': sb.Append('\\'); break;
                        case '/': sb.Append('/'); break;
                        case 'b': sb.Append('\b'); break;
                        case 'f': sb.Append('\f'); break;
                        case 'n': sb.Append('\n'); break;
                        case 'r': sb.Append('\r'); break;
                        case 't': sb.Append('\t'); break;
                        case 'u':
                            if (Position + 4 > _s.Length || !int.TryParse(_s.Substring(Position, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                                throw Error("bad \\u escape");
                            Position += 4;
                            sb.Append((char)code);
                            break;
                        default: throw Error($"unknown escape '\\{e}'");
                    }
                }
            }

            private string ReadNumber()
            {
                int start = Position;
                if (_s[Position] == '-') Position++;
                int digits = Digits();
                if (digits == 0) throw Error("expected digits");
                if (digits > 1 && _s[Position - digits] == '0') throw Error("leading zero");
                if (Position < _s.Length && _s[Position] == '.')
                {
                    Position++;
                    if (Digits() == 0) throw Error("expected digits after '.'");
                }
                if (Position < _s.Length && (_s[Position] == 'e' || _s[Position] == 'E'))
                {
                    Position++;
                    if (Position < _s.Length && (_s[Position] == '+' || _s[Position] == '-')) Position++;
                    if (Digits() == 0) throw Error("expected exponent digits");
                }
                return _s.Substring(start, Position - start);
            }

            private int Digits()
            {
                int start = Position;
                while (Position < _s.Length && _s[Position] >= '0' && _s[Position] <= '9') Position++;
                return Position - start;
            }
        }
    }
}
