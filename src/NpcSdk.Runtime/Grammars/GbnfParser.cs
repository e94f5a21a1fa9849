using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// Reads llama.cpp's GBNF: <c>name ::= alternatives</c> rules; string literals, character classes (<c>[a-z]</c>,
    /// <c>[^"]</c>) and <c>.</c> over Unicode code points; groups; <c>*</c> <c>+</c> <c>?</c> <c>{m}</c> <c>{m,}</c>
    /// <c>{m,n}</c>; <c>#</c> comments; escapes <c>\n \r \t \\ \" \[ \] \- \xHH \uHHHH \UHHHHHHHH</c>. A rule runs until
    /// the next <c>name ::=</c>, so alternatives may continue on following lines.
    /// </summary>
    internal sealed class GbnfParser
    {
        private const int MaxRepetition = 10000;
        private readonly string _text;
        private int _pos;

        private GbnfParser(string text) => _text = text;

        public static List<KeyValuePair<string, GrammarExpression>> Parse(string text)
        {
            if (text == null) throw new ArgumentNullException(nameof(text));
            var parser = new GbnfParser(text);
            var rules = new List<KeyValuePair<string, GrammarExpression>>();
            parser.SkipSpace();
            while (!parser.Eof)
            {
                int at = parser._pos;
                string name = parser.ParseName();
                parser.SkipSpace();
                if (!parser.TryConsume("::=")) throw parser.Error("expected '::=' after rule name '" + name + "'");
                parser.SkipSpace();
                GrammarExpression body = parser.ParseAlternatives(topLevel: true);
                foreach (var existing in rules)
                    if (existing.Key == name) throw parser.ErrorAt(at, $"rule '{name}' is defined twice");
                rules.Add(new KeyValuePair<string, GrammarExpression>(name, body));
                parser.SkipSpace();
                if (!parser.Eof && parser.Peek == ')') throw parser.Error("unbalanced ')'");
            }
            if (rules.Count == 0) throw new GrammarFormatException("GBNF: the grammar has no rules");
            return rules;
        }

        private bool Eof => _pos >= _text.Length;

        private char Peek => _text[_pos];

        private GrammarExpression ParseAlternatives(bool topLevel)
        {
            var alternatives = new List<GrammarExpression> { ParseSequence(topLevel) };
            while (!Eof && Peek == '|')
            {
                _pos++;
                SkipSpace();
                alternatives.Add(ParseSequence(topLevel));
            }
            return alternatives.Count == 1 ? alternatives[0] : new ChoiceExpression(alternatives);
        }

        private GrammarExpression ParseSequence(bool topLevel)
        {
            var items = new List<GrammarExpression>();
            while (true)
            {
                SkipSpace();
                if (Eof || Peek == '|' || Peek == ')') break;
                if (topLevel && AtRuleStart()) break;
                items.Add(ParsePostfix(ParsePrimary()));
            }
            return items.Count == 1 ? items[0] : new SequenceExpression(items);
        }

        private GrammarExpression ParsePrimary()
        {
            char c = Peek;
            if (c == '"')
            {
                _pos++;
                var sb = new StringBuilder();
                while (true)
                {
                    if (Eof) throw Error("unterminated string literal");
                    if (Peek == '"')
                    {
                        _pos++;
                        break;
                    }
                    AppendCodePoint(sb, ReadChar());
                }
                return new LiteralExpression(sb.ToString());
            }
            if (c == '[')
            {
                _pos++;
                bool negated = false;
                if (!Eof && Peek == '^')
                {
                    negated = true;
                    _pos++;
                }
                var ranges = new List<(int First, int Last)>();
                while (true)
                {
                    if (Eof) throw Error("unterminated character class");
                    if (Peek == ']')
                    {
                        _pos++;
                        break;
                    }
                    int first = ReadChar();
                    int last = first;
                    if (_pos + 1 < _text.Length && Peek == '-' && _text[_pos + 1] != ']')
                    {
                        _pos++;
                        last = ReadChar();
                        if (last < first) throw Error($"character range {first:X}-{last:X} is reversed");
                    }
                    ranges.Add((first, last));
                }
                return new CharClassExpression(ranges, negated);
            }
            if (c == '.')
            {
                _pos++;
                return new CharClassExpression(new[] { (0, Utf8Sequences.MaxCodePoint) }, negated: false);
            }
            if (c == '(')
            {
                _pos++;
                SkipSpace();
                GrammarExpression inner = ParseAlternatives(topLevel: false);
                SkipSpace();
                if (Eof || Peek != ')') throw Error("expected ')'");
                _pos++;
                return inner;
            }
            if (IsNameChar(c)) return new RuleReference(ParseName());
            throw Error($"unexpected character '{c}'");
        }

        private GrammarExpression ParsePostfix(GrammarExpression item)
        {
            while (true)
            {
                int save = _pos;
                SkipSpace();
                if (Eof)
                {
                    _pos = save;
                    return item;
                }
                char c = Peek;
                if (c == '*') { _pos++; item = new RepeatExpression(item, 0, -1); }
                else if (c == '+') { _pos++; item = new RepeatExpression(item, 1, -1); }
                else if (c == '?') { _pos++; item = new RepeatExpression(item, 0, 1); }
                else if (c == '{')
                {
                    _pos++;
                    SkipSpace();
                    int min = ParseInt();
                    int max = min;
                    SkipSpace();
                    if (!Eof && Peek == ',')
                    {
                        _pos++;
                        SkipSpace();
                        max = !Eof && char.IsDigit(Peek) ? ParseInt() : -1;
                        SkipSpace();
                    }
                    if (Eof || Peek != '}') throw Error("expected '}' after repetition count");
                    _pos++;
                    if (max >= 0 && max < min) throw Error($"repetition {{{min},{max}}}: maximum below minimum");
                    if (min > MaxRepetition || max > MaxRepetition) throw Error($"repetition counts above {MaxRepetition} are not supported");
                    item = new RepeatExpression(item, min, max);
                }
                else
                {
                    _pos = save;
                    return item;
                }
            }
        }

        private int ParseInt()
        {
            int start = _pos;
            while (!Eof && char.IsDigit(Peek)) _pos++;
            if (start == _pos) throw Error("expected a number");
            if (!int.TryParse(_text.Substring(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture, out int value))
                throw ErrorAt(start, "repetition count too large");
            return value;
        }

        private string ParseName()
        {
            int start = _pos;
            while (!Eof && IsNameChar(Peek)) _pos++;
            if (start == _pos) throw Error(Eof ? "expected a rule name" : $"expected a rule name, found '{Peek}'");
            return _text.Substring(start, _pos - start);
        }

        private bool AtRuleStart()
        {
            if (!IsNameChar(Peek)) return false;
            int save = _pos;
            while (!Eof && IsNameChar(Peek)) _pos++;
            SkipSpace();
            bool rule = TryConsume("::=");
            _pos = save;
            return rule;
        }

        /// <summary>One code point of a literal or class, escapes resolved.</summary>
        private int ReadChar()
        {
            char c = _text[_pos];
            if (c != '\\')
            {
                if (char.IsHighSurrogate(c) && _pos + 1 < _text.Length && char.IsLowSurrogate(_text[_pos + 1]))
                {
                    int cp = char.ConvertToUtf32(c, _text[_pos + 1]);
                    _pos += 2;
                    return cp;
                }
                _pos++;
                return c;
            }
            int at = _pos;
            _pos++;
            if (Eof) throw Error("escape at end of grammar");
            char e = _text[_pos++];
            switch (e)
            {
                case 'n': return '\n';
                case 'r': return '\r';
                case 't': return '\t';
                case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/': return e;
                case 'x': return ReadHex(2, at);
                case 'u': return ReadHex(4, at);
                case 'U': return ReadHex(8, at);
                default: throw ErrorAt(at, $"unknown escape '\\{e}'");
            }
        }

        private int ReadHex(int digits, int at)
        {
            if (_pos + digits > _text.Length) throw ErrorAt(at, "truncated hex escape");
            string hex = _text.Substring(_pos, digits);
            if (!int.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int value))
                throw ErrorAt(at, $"bad hex escape '{hex}'");
            _pos += digits;
            if (value > Utf8Sequences.MaxCodePoint || (value >= 0xD800 && value <= 0xDFFF))
                throw ErrorAt(at, $"escape \\{hex} is not a Unicode scalar value");
            return value;
        }

        private static void AppendCodePoint(StringBuilder sb, int cp)
        {
            if (cp > 0xFFFF) sb.Append(char.ConvertFromUtf32(cp));
            else sb.Append((char)cp);
        }

        private bool TryConsume(string token)
        {
            if (string.CompareOrdinal(_text, _pos, token, 0, token.Length) != 0) return false;
            _pos += token.Length;
            return true;
        }

        private void SkipSpace()
        {
            while (!Eof)
            {
                char c = Peek;
                if (c == '#')
                {
                    while (!Eof && Peek != '\n') _pos++;
                }
                else if (char.IsWhiteSpace(c))
                {
                    _pos++;
                }
                else
                {
                    break;
                }
            }
        }

        private static bool IsNameChar(char c) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';

        private GrammarFormatException Error(string message) => ErrorAt(_pos, message);

        private GrammarFormatException ErrorAt(int offset, string message)
        {
            int line = 1, column = 1;
            for (int i = 0; i < offset && i < _text.Length; i++)
            {
                if (_text[i] == '\n') { line++; column = 1; }
                else column++;
            }
            return new GrammarFormatException($"GBNF line {line}, column {column}: {message}");
        }
    }
}
