using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace NpcSdk.Templates
{
    internal enum TokenKind
    {
        Data,
        VariableBegin,
        VariableEnd,
        BlockBegin,
        BlockEnd,
        Name,
        String,
        Integer,
        Float,
        Operator,
        End,
    }

    internal readonly struct Token
    {
        public Token(TokenKind kind, string text, int offset, object? value = null)
        {
            Kind = kind;
            Text = text;
            Offset = offset;
            Value = value;
        }

        public TokenKind Kind { get; }

        /// <summary>Name, operator, or the data text; a string literal's decoded value is in <see cref="Value"/>.</summary>
        public string Text { get; }

        public int Offset { get; }

        public object? Value { get; }

        public bool Is(TokenKind kind, string text) => Kind == kind && Text == text;

        public bool IsOperator(string op) => Kind == TokenKind.Operator && Text == op;

        public bool IsName(string name) => Kind == TokenKind.Name && Text == name;

        public string Describe() => Kind switch
        {
            TokenKind.End => "end of template",
            TokenKind.BlockEnd => "end of statement block",
            TokenKind.VariableEnd => "end of print statement",
            TokenKind.String => "string literal",
            TokenKind.Data => "template data",
            _ => "'" + Text + "'",
        };
    }

    /// <summary>
    /// Splits template source into data and tag tokens, applying Jinja's whitespace control exactly as
    /// Jinja2's lexer does with <c>trim_blocks=True, lstrip_blocks=True</c> (transformers' settings):
    /// <c>{%-</c>/<c>-%}</c> strip all whitespace on that side, <c>%}</c> and <c>#}</c> eat one following newline,
    /// a block or comment tag alone on its line loses the indentation before it, and <c>+</c> opts out.
    /// </summary>
    internal sealed class TemplateLexer
    {
        private static readonly string[] Operators =
        {
            "//", "**", "==", "!=", ">=", "<=",
            "+", "-", "/", "*", "%", "~", "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";",
        };

        private readonly string _src;
        private readonly List<Token> _tokens = new List<Token>();
        private readonly SourceMap _map;
        private int _pos;
        private bool _lineStarting = true;

        private TemplateLexer(string source, SourceMap map)
        {
            _src = source;
            _map = map;
        }

        /// <summary>Newlines normalized to "\n" and one trailing newline dropped, as Jinja2 does by default.</summary>
        public static string Normalize(string source)
        {
            string s = source.Replace("\r\n", "\n").Replace('\r', '\n');
            if (s.EndsWith("\n", StringComparison.Ordinal)) s = s.Substring(0, s.Length - 1);
            return s;
        }

        public static List<Token> Tokenize(string normalizedSource, SourceMap map)
        {
            var lexer = new TemplateLexer(normalizedSource, map);
            lexer.Run();
            return lexer._tokens;
        }

        private ChatTemplateException Error(int offset, string message)
        {
            var (line, column) = _map.Locate(offset);
            return new ChatTemplateException(message, line, column, raisedByTemplate: false);
        }

        private void Run()
        {
            while (_pos < _src.Length)
            {
                int open = FindOpener(_pos);
                if (open < 0)
                {
                    AddData(_src.Substring(_pos), _pos);
                    _pos = _src.Length;
                    break;
                }
                char kind = _src[open + 1];
                char sign = open + 2 < _src.Length && (_src[open + 2] == '-' || _src[open + 2] == '+') ? _src[open + 2] : '\0';
                string text = _src.Substring(_pos, open - _pos);
                if (sign == '-')
                {
                    text = PyString.Strip(text, null, false, true);
                }
                else if (sign != '+' && kind != '{')
                {
                    // lstrip_blocks: drop the indentation before a block or comment tag alone on its line.
                    int lineStart = text.LastIndexOf('\n') + 1;
                    if ((lineStart > 0 || _lineStarting) && lineStart < text.Length && AllSpace(text, lineStart))
                    {
                        text = text.Substring(0, lineStart);
                    }
                }
                AddData(text, _pos);
                int inner = open + 2 + (sign != '\0' ? 1 : 0);
                if (kind == '#')
                {
                    LexComment(open, inner);
                }
                else if (kind == '%' && TryLexRaw(open, inner))
                {
                    // raw block consumed
                }
                else
                {
                    LexTag(open, inner, kind == '{');
                }
            }
            _tokens.Add(new Token(TokenKind.End, "", _src.Length));
        }

        private int FindOpener(int from)
        {
            for (int i = from; i + 1 < _src.Length; i++)
            {
                if (_src[i] == '{' && (_src[i + 1] == '{' || _src[i + 1] == '%' || _src[i + 1] == '#')) return i;
            }
            return -1;
        }

        private static bool AllSpace(string s, int from)
        {
            for (int i = from; i < s.Length; i++)
            {
                if (!PyString.IsSpace(s[i])) return false;
            }
            return true;
        }

        private void AddData(string text, int offset)
        {
            if (text.Length > 0) _tokens.Add(new Token(TokenKind.Data, text, offset));
        }

        /// <summary>Consumes a tag end's trailing whitespace: all of it after '-', one newline after a block end.</summary>
        private void AfterTagEnd(int endOffset, char sign, bool trimNewline)
        {
            _pos = endOffset;
            if (sign == '-')
            {
                while (_pos < _src.Length && PyString.IsSpace(_src[_pos])) _pos++;
            }
            else if (sign != '+' && trimNewline && _pos < _src.Length && _src[_pos] == '\n')
            {
                _pos++;
            }
            _lineStarting = _pos > 0 && _src[_pos - 1] == '\n';
        }

        private void LexComment(int open, int inner)
        {
            int close = _src.IndexOf("#}", inner, StringComparison.Ordinal);
            if (close < 0) throw Error(open, "missing end of comment tag");
            char sign = close - 1 >= inner && (_src[close - 1] == '-' || _src[close - 1] == '+') ? _src[close - 1] : '\0';
            AfterTagEnd(close + 2, sign, trimNewline: true);
        }

        private bool TryLexRaw(int open, int inner)
        {
            int p = SkipSpace(inner);
            if (string.CompareOrdinal(_src, p, "raw", 0, 3) != 0) return false;
            p = SkipSpace(p + 3);
            char endSign = '\0';
            if (p < _src.Length && (_src[p] == '-' || _src[p] == '+'))
            {
                endSign = _src[p];
                p++;
            }
            if (string.CompareOrdinal(_src, p, "%}", 0, 2) != 0) return false;
            // The raw tag's own end never trims a newline (Jinja's raw_begin rule has no trim_blocks suffix).
            AfterTagEnd(p + 2, endSign == '-' ? '-' : '+', trimNewline: false);
            int search = _pos;
            while (true)
            {
                int endOpen = _src.IndexOf("{%", search, StringComparison.Ordinal);
                if (endOpen < 0) throw Error(open, "missing end of raw directive");
                int q = endOpen + 2;
                char sign = q < _src.Length && (_src[q] == '-' || _src[q] == '+') ? _src[q] : '\0';
                if (sign != '\0') q++;
                q = SkipSpace(q);
                if (string.CompareOrdinal(_src, q, "endraw", 0, 6) != 0)
                {
                    search = endOpen + 2;
                    continue;
                }
                q = SkipSpace(q + 6);
                char closeSign = '\0';
                if (q < _src.Length && (_src[q] == '-' || _src[q] == '+'))
                {
                    closeSign = _src[q];
                    q++;
                }
                if (string.CompareOrdinal(_src, q, "%}", 0, 2) != 0)
                {
                    search = endOpen + 2;
                    continue;
                }
                string text = _src.Substring(_pos, endOpen - _pos);
                if (sign == '-') text = PyString.Strip(text, null, false, true);
                AddData(text, _pos);
                AfterTagEnd(q + 2, closeSign, trimNewline: true);
                return true;
            }
        }

        private int SkipSpace(int p)
        {
            while (p < _src.Length && PyString.IsSpace(_src[p])) p++;
            return p;
        }

        private void LexTag(int open, int inner, bool isVariable)
        {
            _tokens.Add(new Token(isVariable ? TokenKind.VariableBegin : TokenKind.BlockBegin, isVariable ? "{{" : "{%", open));
            var brackets = new Stack<char>();
            int p = inner;
            while (true)
            {
                p = SkipSpace(p);
                if (p >= _src.Length) throw Error(open, isVariable ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'");
                if (brackets.Count == 0)
                {
                    string close = isVariable ? "}}" : "%}";
                    if ((_src[p] == '-' || (!isVariable && _src[p] == '+')) && string.CompareOrdinal(_src, p + 1, close, 0, 2) == 0)
                    {
                        _tokens.Add(new Token(isVariable ? TokenKind.VariableEnd : TokenKind.BlockEnd, close, p));
                        AfterTagEnd(p + 3, _src[p], trimNewline: !isVariable);
                        return;
                    }
                    if (string.CompareOrdinal(_src, p, close, 0, 2) == 0)
                    {
                        _tokens.Add(new Token(isVariable ? TokenKind.VariableEnd : TokenKind.BlockEnd, close, p));
                        AfterTagEnd(p + 2, '\0', trimNewline: !isVariable);
                        return;
                    }
                }
                p = LexToken(p, brackets);
            }
        }

        private int LexToken(int p, Stack<char> brackets)
        {
            char c = _src[p];
            if (c == '\'' || c == '"') return LexString(p);
            if (char.IsDigit(c)) return LexNumber(p);
            if (c == '_' || char.IsLetter(c))
            {
                int q = p + 1;
                while (q < _src.Length && (_src[q] == '_' || char.IsLetterOrDigit(_src[q]))) q++;
                _tokens.Add(new Token(TokenKind.Name, _src.Substring(p, q - p), p));
                return q;
            }
            foreach (string op in Operators)
            {
                if (string.CompareOrdinal(_src, p, op, 0, op.Length) != 0) continue;
                if (op == "(" || op == "[" || op == "{")
                {
                    brackets.Push(op[0]);
                }
                else if (op == ")" || op == "]" || op == "}")
                {
                    char expected = op == ")" ? '(' : op == "]" ? '[' : '{';
                    if (brackets.Count == 0 || brackets.Peek() != expected) throw Error(p, $"unexpected '{op}'");
                    brackets.Pop();
                }
                _tokens.Add(new Token(TokenKind.Operator, op, p));
                return p + op.Length;
            }
            throw Error(p, $"unexpected char '{c}'");
        }

        private int LexNumber(int p)
        {
            int q = p;
            while (q < _src.Length && (char.IsDigit(_src[q]) || (_src[q] == '_' && q + 1 < _src.Length && char.IsDigit(_src[q + 1])))) q++;
            bool isFloat = false;
            if (q + 1 < _src.Length && _src[q] == '.' && char.IsDigit(_src[q + 1]))
            {
                isFloat = true;
                q++;
                while (q < _src.Length && (char.IsDigit(_src[q]) || (_src[q] == '_' && q + 1 < _src.Length && char.IsDigit(_src[q + 1])))) q++;
            }
            if (q < _src.Length && (_src[q] == 'e' || _src[q] == 'E'))
            {
                int e = q + 1;
                if (e < _src.Length && (_src[e] == '+' || _src[e] == '-')) e++;
                if (e < _src.Length && char.IsDigit(_src[e]))
                {
                    isFloat = true;
                    q = e;
                    while (q < _src.Length && char.IsDigit(_src[q])) q++;
                }
            }
            string text = _src.Substring(p, q - p);
            string clean = text.Replace("_", "");
            if (isFloat)
            {
                _tokens.Add(new Token(TokenKind.Float, text, p, double.Parse(clean, NumberStyles.Float, CultureInfo.InvariantCulture)));
            }
            else
            {
                if (!long.TryParse(clean, NumberStyles.None, CultureInfo.InvariantCulture, out long value)) throw Error(p, $"integer literal too large: {text}");
                _tokens.Add(new Token(TokenKind.Integer, text, p, value));
            }
            return q;
        }

        private int LexString(int p)
        {
            char quote = _src[p];
            var sb = new StringBuilder();
            int q = p + 1;
            while (true)
            {
                if (q >= _src.Length) throw Error(p, "unexpected end of string literal");
                char c = _src[q];
                if (c == quote) break;
                if (c != '\\')
                {
                    sb.Append(c);
                    q++;
                    continue;
                }
                if (q + 1 >= _src.Length) throw Error(p, "unexpected end of string literal");
                q = AppendEscape(sb, q + 1);
            }
            _tokens.Add(new Token(TokenKind.String, _src.Substring(p, q + 1 - p), p, sb.ToString()));
            return q + 1;
        }

        /// <summary>Decodes one backslash escape the way Python's "unicode-escape" codec does; unknown escapes stay as written.</summary>
        private int AppendEscape(StringBuilder sb, int q)
        {
            char e = _src[q];
            switch (e)
            {
                case 'n': sb.Append('\n'); return q + 1;
                case 't': sb.Append('\t'); return q + 1;
                case 'r': sb.Append('\r'); return q + 1;
                case '\\': sb.Append('\\'); return q + 1;
                case '\'': sb.Append('\''); return q + 1;
                case '"': sb.Append('"'); return q + 1;
                case 'a': sb.Append('\a'); return q + 1;
                case 'b': sb.Append('\b'); return q + 1;
                case 'f': sb.Append('\f'); return q + 1;
                case 'v': sb.Append('\v'); return q + 1;
                case '\n': return q + 1;
                case 'x': return AppendHex(sb, q, 2);
                case 'u': return AppendHex(sb, q, 4);
                case 'U': return AppendHex(sb, q, 8);
                default:
                    if (e >= '0' && e <= '7')
                    {
                        int value = 0, n = 0;
                        while (n < 3 && q < _src.Length && _src[q] >= '0' && _src[q] <= '7')
                        {
                            value = value * 8 + (_src[q] - '0');
                            q++;
                            n++;
                        }
                        sb.Append((char)value);
                        return q;
                    }
                    sb.Append('\\').Append(e);
                    return q + 1;
            }
        }

        private int AppendHex(StringBuilder sb, int q, int digits)
        {
            string hex = _src.Substring(q + 1, Math.Min(digits, _src.Length - q - 1));
            if (hex.Length != digits || !int.TryParse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int cp))
            {
                throw Error(q, "truncated \\" + _src[q] + " escape");
            }
            if (cp <= 0xFFFF) sb.Append((char)cp);
            else if (cp <= 0x10FFFF) sb.Append(char.ConvertFromUtf32(cp));
            else throw Error(q, "illegal Unicode character in \\" + _src[q] + " escape");
            return q + 1 + digits;
        }
    }

    /// <summary>Offsets in the normalized source to 1-based line and column, for error messages.</summary>
    internal sealed class SourceMap
    {
        private readonly List<int> _lineStarts = new List<int> { 0 };

        public SourceMap(string source)
        {
            for (int i = 0; i < source.Length; i++)
            {
                if (source[i] == '\n') _lineStarts.Add(i + 1);
            }
        }

        public (int Line, int Column) Locate(int offset)
        {
            int lo = 0, hi = _lineStarts.Count - 1;
            while (lo < hi)
            {
                int mid = (lo + hi + 1) / 2;
                if (_lineStarts[mid] <= offset) lo = mid;
                else hi = mid - 1;
            }
            return (lo + 1, offset - _lineStarts[lo] + 1);
        }
    }
}
