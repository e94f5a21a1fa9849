using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace NpcSdk.Templates
{
    /// <summary>
    /// Recursive-descent parser from tokens to the statement tree, with Jinja2's grammar and operator precedence
    /// (lowest first): <c>x if c else y</c>, <c>or</c>, <c>and</c>, <c>not</c>, comparisons and <c>in</c>,
    /// <c>+ -</c>, <c>~</c>, <c>* / // %</c>, <c>**</c>, unary <c>- +</c>, then postfix <c>.a [i] (args)</c>,
    /// filters <c>|f</c> and tests <c>is t</c>.
    /// </summary>
    internal sealed class TemplateParser
    {
        private static readonly HashSet<string> CompareOps = new HashSet<string> { "==", "!=", "<", "<=", ">", ">=" };

        private readonly List<Token> _tokens;
        private readonly SourceMap _map;
        /// <summary>Deepest nesting of blocks, sub-expressions and operator chains: real templates stay far below,
        /// and a hostile template in a GGUF file must fail with an exception, not overflow the stack.</summary>
        private const int MaxNesting = 200;

        private int _pos;
        private int _loopDepth;
        private int _nesting;

        private TemplateParser(List<Token> tokens, SourceMap map)
        {
            _tokens = tokens;
            _map = map;
        }

        public static List<Node> Parse(List<Token> tokens, SourceMap map)
        {
            var parser = new TemplateParser(tokens, map);
            var body = parser.ParseBody(Array.Empty<string>(), out _);
            return body;
        }

        private Token Current => _tokens[_pos];

        private Token Peek(int ahead = 1) => _tokens[Math.Min(_pos + ahead, _tokens.Count - 1)];

        private Token Next() => _tokens[_pos++];

        private ChatTemplateException Error(Token at, string message)
        {
            var (line, column) = _map.Locate(at.Offset);
            return new ChatTemplateException(message, line, column, raisedByTemplate: false);
        }

        private void Nest(Token at)
        {
            if (++_nesting > MaxNesting || !RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw Error(at, $"template nested deeper than {MaxNesting} levels");
        }

        private Token Expect(TokenKind kind, string? text = null)
        {
            Token t = Current;
            if (t.Kind != kind || (text != null && t.Text != text))
            {
                string wanted = text != null ? "'" + text + "'" : kind == TokenKind.Name ? "a name" : kind.ToString();
                throw Error(t, $"expected {wanted}, got {t.Describe()}");
            }
            _pos++;
            return t;
        }

        private bool SkipOperator(string op)
        {
            if (!Current.IsOperator(op)) return false;
            _pos++;
            return true;
        }

        private bool SkipName(string name)
        {
            if (!Current.IsName(name)) return false;
            _pos++;
            return true;
        }

        /// <summary>Parses statements until a block tag named in <paramref name="endTags"/>; leaves the stream on that tag's name.</summary>
        private List<Node> ParseBody(string[] endTags, out string endTag)
        {
            var body = new List<Node>();
            while (true)
            {
                Token t = Current;
                switch (t.Kind)
                {
                    case TokenKind.End:
                        if (endTags.Length > 0) throw Error(t, $"unexpected end of template, expected {string.Join(" or ", Array.ConvertAll(endTags, e => "'" + e + "'"))}");
                        endTag = "";
                        return body;
                    case TokenKind.Data:
                        _pos++;
                        body.Add(new TextNode(t.Offset, t.Text));
                        break;
                    case TokenKind.VariableBegin:
                        _pos++;
                        Expr e = ParseTuple();
                        Expect(TokenKind.VariableEnd);
                        body.Add(new OutputNode(t.Offset, e));
                        break;
                    case TokenKind.BlockBegin:
                        Token name = Peek();
                        if (name.Kind == TokenKind.Name && Array.IndexOf(endTags, name.Text) >= 0)
                        {
                            _pos++;
                            endTag = name.Text;
                            return body;
                        }
                        _pos++;
                        body.Add(ParseStatement(t));
                        break;
                    default:
                        throw Error(t, $"unexpected {t.Describe()}");
                }
            }
        }

        private Node ParseStatement(Token begin)
        {
            Token keyword = Current;
            if (keyword.Kind != TokenKind.Name) throw Error(keyword, "tag name expected");
            _pos++;
            Nest(keyword);
            Node statement = ParseStatementBody(begin, keyword);
            _nesting--;
            return statement;
        }

        private Node ParseStatementBody(Token begin, Token keyword)
        {
            switch (keyword.Text)
            {
                case "if": return ParseIf(begin);
                case "for": return ParseFor(begin);
                case "set": return ParseSet(begin);
                case "macro": return ParseMacro(begin);
                case "filter": return ParseFilterBlock(begin);
                case "with": return ParseWith(begin);
                case "generation":
                    // transformers' AssistantTracker extension: marks assistant text, renders its body unchanged.
                    Expect(TokenKind.BlockEnd);
                    var body = ParseBody(new[] { "endgeneration" }, out _);
                    EndTag();
                    return new ScopedBlockNode(begin.Offset, new List<KeyValuePair<AssignTarget, Expr>>(), body, newScope: false);
                case "break":
                case "continue":
                    if (_loopDepth == 0) throw Error(keyword, $"'{keyword.Text}' outside a loop");
                    Expect(TokenKind.BlockEnd);
                    return new LoopControlNode(begin.Offset, keyword.Text == "break" ? Flow.Break : Flow.Continue);
                case "elif":
                case "else":
                case "endif":
                case "endfor":
                case "endset":
                case "endmacro":
                case "endfilter":
                case "endwith":
                    throw Error(keyword, $"unexpected '{keyword.Text}'");
                default:
                    throw Error(keyword, $"unknown tag '{keyword.Text}'");
            }
        }

        /// <summary>Finishes an end tag whose name <see cref="ParseBody"/> stopped on.</summary>
        private void EndTag()
        {
            _pos++; // the end tag's name
            Expect(TokenKind.BlockEnd);
        }

        private Node ParseIf(Token begin)
        {
            var branches = new List<KeyValuePair<Expr, List<Node>>>();
            List<Node>? otherwise = null;
            Expr condition = ParseTuple();
            while (true)
            {
                Expect(TokenKind.BlockEnd);
                var body = ParseBody(new[] { "elif", "else", "endif" }, out string end);
                branches.Add(new KeyValuePair<Expr, List<Node>>(condition, body));
                _pos++;
                if (end == "elif")
                {
                    condition = ParseTuple();
                    continue;
                }
                if (end == "else")
                {
                    Expect(TokenKind.BlockEnd);
                    otherwise = ParseBody(new[] { "endif" }, out _);
                    _pos++;
                }
                Expect(TokenKind.BlockEnd);
                return new IfNode(begin.Offset, branches, otherwise);
            }
        }

        private AssignTarget ParseAssignTarget(bool allowAttribute)
        {
            Token first = Expect(TokenKind.Name);
            if (allowAttribute && Current.IsOperator(".") && Peek().Kind == TokenKind.Name)
            {
                _pos++;
                string attribute = Next().Text;
                return new AssignTarget(first.Offset, new List<string> { first.Text }, attribute);
            }
            var names = new List<string> { first.Text };
            while (SkipOperator(","))
            {
                if (Current.Kind != TokenKind.Name || Current.IsName("in")) break;
                names.Add(Next().Text);
            }
            return new AssignTarget(first.Offset, names, null);
        }

        private Node ParseFor(Token begin)
        {
            AssignTarget target = ParseAssignTarget(allowAttribute: false);
            Expect(TokenKind.Name, "in");
            Expr iterable = ParseTuple(withCondition: false);
            Expr? filter = null;
            if (SkipName("if")) filter = ParseExpression();
            if (Current.IsName("recursive")) throw Error(Current, "recursive for loops are not supported");
            Expect(TokenKind.BlockEnd);
            _loopDepth++;
            var body = ParseBody(new[] { "endfor", "else" }, out string end);
            _loopDepth--;
            List<Node>? otherwise = null;
            if (end == "else")
            {
                _pos++;
                Expect(TokenKind.BlockEnd);
                otherwise = ParseBody(new[] { "endfor" }, out _);
            }
            EndTag();
            return new ForNode(begin.Offset, target, iterable, filter, body, otherwise);
        }

        private Node ParseSet(Token begin)
        {
            AssignTarget target = ParseAssignTarget(allowAttribute: true);
            if (SkipOperator("="))
            {
                Expr value = ParseTuple();
                Expect(TokenKind.BlockEnd);
                return new SetNode(begin.Offset, target, value);
            }
            var filters = ParseFilterChain();
            Expect(TokenKind.BlockEnd);
            var body = ParseBody(new[] { "endset" }, out _);
            EndTag();
            return new SetBlockNode(begin.Offset, target, filters, body);
        }

        private List<FilterExpr> ParseFilterChain()
        {
            var filters = new List<FilterExpr>();
            while (SkipOperator("|"))
            {
                Token name = Expect(TokenKind.Name);
                ArgList args = Current.IsOperator("(") ? ParseCallArgs() : ArgList.None;
                filters.Add(new FilterExpr(name.Offset, null, name.Text, args));
            }
            return filters;
        }

        private Node ParseFilterBlock(Token begin)
        {
            Token name = Expect(TokenKind.Name);
            ArgList args = Current.IsOperator("(") ? ParseCallArgs() : ArgList.None;
            var filters = new List<FilterExpr> { new FilterExpr(name.Offset, null, name.Text, args) };
            filters.AddRange(ParseFilterChain());
            Expect(TokenKind.BlockEnd);
            var body = ParseBody(new[] { "endfilter" }, out _);
            EndTag();
            return new FilterBlockNode(begin.Offset, filters, body);
        }

        private Node ParseWith(Token begin)
        {
            var assignments = new List<KeyValuePair<AssignTarget, Expr>>();
            while (Current.Kind != TokenKind.BlockEnd)
            {
                if (assignments.Count > 0) Expect(TokenKind.Operator, ",");
                AssignTarget target = ParseAssignTarget(allowAttribute: false);
                Expect(TokenKind.Operator, "=");
                assignments.Add(new KeyValuePair<AssignTarget, Expr>(target, ParseExpression()));
            }
            Expect(TokenKind.BlockEnd);
            var body = ParseBody(new[] { "endwith" }, out _);
            EndTag();
            return new ScopedBlockNode(begin.Offset, assignments, body, newScope: true);
        }

        private Node ParseMacro(Token begin)
        {
            Token name = Expect(TokenKind.Name);
            Expect(TokenKind.Operator, "(");
            var parameters = new List<KeyValuePair<string, Expr?>>();
            while (!SkipOperator(")"))
            {
                if (parameters.Count > 0) Expect(TokenKind.Operator, ",");
                if (SkipOperator(")")) break;
                Token p = Expect(TokenKind.Name);
                Expr? fallback = SkipOperator("=") ? ParseExpression() : null;
                if (fallback == null && parameters.Exists(x => x.Value != null)) throw Error(p, "non-default argument follows default argument");
                parameters.Add(new KeyValuePair<string, Expr?>(p.Text, fallback));
            }
            Expect(TokenKind.BlockEnd);
            int savedLoopDepth = _loopDepth;
            _loopDepth = 0;
            var body = ParseBody(new[] { "endmacro" }, out _);
            _loopDepth = savedLoopDepth;
            EndTag();
            return new MacroNode(begin.Offset, name.Text, parameters, body);
        }

        // ---- expressions ----

        /// <summary>An expression, or a tuple when commas follow (<c>{% set a, b = 1, 2 %}</c>, <c>{{ 1, 2 }}</c>).</summary>
        private Expr ParseTuple(bool withCondition = true)
        {
            Token start = Current;
            Expr first = withCondition ? ParseExpression() : ParseOr();
            if (!Current.IsOperator(",")) return first;
            var items = new List<Expr> { first };
            while (SkipOperator(","))
            {
                if (IsTupleEnd()) break;
                items.Add(withCondition ? ParseExpression() : ParseOr());
            }
            return new ListExpr(start.Offset, items, tuple: true);
        }

        private bool IsTupleEnd()
        {
            Token t = Current;
            return t.Kind == TokenKind.BlockEnd || t.Kind == TokenKind.VariableEnd || t.IsOperator(")") || t.IsName("if") || t.IsName("in") || t.IsOperator("=");
        }

        private Expr ParseExpression()
        {
            Token start = Current;
            int nesting = _nesting;
            Nest(start);
            Expr e = ParseOr();
            while (SkipName("if"))
            {
                Nest(start);
                Expr condition = ParseOr();
                Expr? otherwise = SkipName("else") ? ParseExpression() : null;
                e = new ConditionalExpr(start.Offset, condition, e, otherwise);
            }
            _nesting = nesting;
            return e;
        }

        private Expr ParseOr()
        {
            int nesting = _nesting;
            Expr left = ParseAnd();
            while (Current.IsName("or"))
            {
                Token op = Next();
                Nest(op);
                left = new LogicalExpr(op.Offset, isAnd: false, left, ParseAnd());
            }
            _nesting = nesting;
            return left;
        }

        private Expr ParseAnd()
        {
            int nesting = _nesting;
            Expr left = ParseNot();
            while (Current.IsName("and"))
            {
                Token op = Next();
                Nest(op);
                left = new LogicalExpr(op.Offset, isAnd: true, left, ParseNot());
            }
            _nesting = nesting;
            return left;
        }

        private Expr ParseNot()
        {
            if (Current.IsName("not"))
            {
                Token op = Next();
                Nest(op);
                Expr operand = ParseNot();
                _nesting--;
                return new NotExpr(op.Offset, operand);
            }
            return ParseCompare();
        }

        private Expr ParseCompare()
        {
            Token start = Current;
            Expr left = ParseMath1();
            List<KeyValuePair<BinaryOp, Expr>>? chain = null;
            while (true)
            {
                Token t = Current;
                BinaryOp op;
                if (t.Kind == TokenKind.Operator && CompareOps.Contains(t.Text))
                {
                    _pos++;
                    op = t.Text switch
                    {
                        "==" => BinaryOp.Equal,
                        "!=" => BinaryOp.NotEqual,
                        "<" => BinaryOp.Less,
                        "<=" => BinaryOp.LessEqual,
                        ">" => BinaryOp.Greater,
                        _ => BinaryOp.GreaterEqual,
                    };
                }
                else if (t.IsName("in"))
                {
                    _pos++;
                    op = BinaryOp.In;
                }
                else if (t.IsName("not") && Peek().IsName("in"))
                {
                    _pos += 2;
                    op = BinaryOp.NotIn;
                }
                else
                {
                    break;
                }
                chain ??= new List<KeyValuePair<BinaryOp, Expr>>();
                chain.Add(new KeyValuePair<BinaryOp, Expr>(op, ParseMath1()));
            }
            if (chain == null) return left;
            // Python chains a < b < c as (a < b) and (b < c), evaluating b once.
            return chain.Count == 1 ? new BinaryExpr(start.Offset, chain[0].Key, left, chain[0].Value) : (Expr)new CompareChainExpr(start.Offset, left, chain);
        }

        private Expr ParseMath1()
        {
            int nesting = _nesting;
            Expr left = ParseConcat();
            while (Current.IsOperator("+") || Current.IsOperator("-"))
            {
                Token op = Next();
                Nest(op);
                left = new BinaryExpr(op.Offset, op.Text == "+" ? BinaryOp.Add : BinaryOp.Subtract, left, ParseConcat());
            }
            _nesting = nesting;
            return left;
        }

        private Expr ParseConcat()
        {
            int nesting = _nesting;
            Expr left = ParseMath2();
            while (Current.IsOperator("~"))
            {
                Token op = Next();
                Nest(op);
                left = new BinaryExpr(op.Offset, BinaryOp.Concat, left, ParseMath2());
            }
            _nesting = nesting;
            return left;
        }

        private Expr ParseMath2()
        {
            int nesting = _nesting;
            Expr left = ParsePow();
            while (true)
            {
                Token t = Current;
                BinaryOp op;
                if (t.IsOperator("*")) op = BinaryOp.Multiply;
                else if (t.IsOperator("/")) op = BinaryOp.Divide;
                else if (t.IsOperator("//")) op = BinaryOp.FloorDivide;
                else if (t.IsOperator("%")) op = BinaryOp.Modulo;
                else break;
                _pos++;
                Nest(t);
                left = new BinaryExpr(t.Offset, op, left, ParsePow());
            }
            _nesting = nesting;
            return left;
        }

        private Expr ParsePow()
        {
            int nesting = _nesting;
            Expr left = ParseUnary(withFilter: true);
            while (Current.IsOperator("**"))
            {
                Token op = Next();
                Nest(op);
                left = new BinaryExpr(op.Offset, BinaryOp.Power, left, ParseUnary(withFilter: true));
            }
            _nesting = nesting;
            return left;
        }

        private Expr ParseUnary(bool withFilter)
        {
            Token t = Current;
            Expr e;
            if (t.IsOperator("-") || t.IsOperator("+"))
            {
                _pos++;
                Nest(t);
                e = new NegateExpr(t.Offset, ParseUnary(withFilter: false), minus: t.Text == "-");
                _nesting--;
            }
            else
            {
                e = ParsePrimary();
            }
            e = ParsePostfix(e);
            if (withFilter) e = ParseFilterExpr(e);
            return e;
        }

        private Expr ParsePrimary()
        {
            Token t = Next();
            switch (t.Kind)
            {
                case TokenKind.Name:
                    switch (t.Text)
                    {
                        case "true":
                        case "True": return new ConstExpr(t.Offset, true);
                        case "false":
                        case "False": return new ConstExpr(t.Offset, false);
                        case "none":
                        case "None": return new ConstExpr(t.Offset, null);
                        default: return new NameExpr(t.Offset, t.Text);
                    }
                case TokenKind.String:
                    string s = (string)t.Value!;
                    while (Current.Kind == TokenKind.String) s += (string)Next().Value!; // adjacent literals concatenate
                    return new ConstExpr(t.Offset, s);
                case TokenKind.Integer:
                case TokenKind.Float:
                    return new ConstExpr(t.Offset, t.Value);
                case TokenKind.Operator:
                    if (t.Text == "(")
                    {
                        if (SkipOperator(")")) return new ListExpr(t.Offset, new List<Expr>(), tuple: true);
                        Expr inner = ParseTuple();
                        Expect(TokenKind.Operator, ")");
                        return inner;
                    }
                    if (t.Text == "[")
                    {
                        var items = new List<Expr>();
                        while (!SkipOperator("]"))
                        {
                            if (items.Count > 0) Expect(TokenKind.Operator, ",");
                            if (SkipOperator("]")) break;
                            items.Add(ParseExpression());
                        }
                        return new ListExpr(t.Offset, items, tuple: false);
                    }
                    if (t.Text == "{")
                    {
                        var pairs = new List<KeyValuePair<Expr, Expr>>();
                        while (!SkipOperator("}"))
                        {
                            if (pairs.Count > 0) Expect(TokenKind.Operator, ",");
                            if (SkipOperator("}")) break;
                            Expr key = ParseExpression();
                            Expect(TokenKind.Operator, ":");
                            pairs.Add(new KeyValuePair<Expr, Expr>(key, ParseExpression()));
                        }
                        return new DictExpr(t.Offset, pairs);
                    }
                    break;
            }
            throw Error(t, $"unexpected {t.Describe()}");
        }

        private Expr ParsePostfix(Expr e)
        {
            int nesting = _nesting;
            while (true)
            {
                Token t = Current;
                if (t.IsOperator(".") || t.IsOperator("[") || t.IsOperator("(")) Nest(t);
                if (t.IsOperator("."))
                {
                    _pos++;
                    Token attr = Next();
                    if (attr.Kind == TokenKind.Name) e = new GetAttrExpr(attr.Offset, e, attr.Text);
                    else if (attr.Kind == TokenKind.Integer) e = new GetItemExpr(attr.Offset, e, new ConstExpr(attr.Offset, attr.Value));
                    else throw Error(attr, $"expected an attribute name after '.', got {attr.Describe()}");
                }
                else if (t.IsOperator("["))
                {
                    _pos++;
                    e = ParseSubscript(t, e);
                }
                else if (t.IsOperator("("))
                {
                    e = new CallExpr(e.Offset, e, ParseCallArgs());
                }
                else
                {
                    _nesting = nesting;
                    return e;
                }
            }
        }

        private Expr ParseSubscript(Token open, Expr target)
        {
            Expr? start = null, stop = null, step = null;
            bool isSlice = false;
            if (!Current.IsOperator(":")) start = ParseExpression();
            if (SkipOperator(":"))
            {
                isSlice = true;
                if (!Current.IsOperator("]") && !Current.IsOperator(":")) stop = ParseExpression();
                if (SkipOperator(":") && !Current.IsOperator("]")) step = ParseExpression();
            }
            else if (Current.IsOperator(","))
            {
                var items = new List<Expr> { start! };
                while (SkipOperator(","))
                {
                    if (Current.IsOperator("]")) break;
                    items.Add(ParseExpression());
                }
                start = new ListExpr(open.Offset, items, tuple: true);
            }
            Expect(TokenKind.Operator, "]");
            return isSlice ? new SliceExpr(open.Offset, target, start, stop, step) : (Expr)new GetItemExpr(open.Offset, target, start!);
        }

        private ArgList ParseCallArgs()
        {
            Expect(TokenKind.Operator, "(");
            var args = new ArgList();
            bool first = true;
            while (!SkipOperator(")"))
            {
                if (!first) Expect(TokenKind.Operator, ",");
                first = false;
                if (SkipOperator(")")) break;
                if (SkipOperator("**"))
                {
                    args.StarStarArgs = ParseExpression();
                }
                else if (SkipOperator("*"))
                {
                    args.StarArgs = ParseExpression();
                }
                else if (Current.Kind == TokenKind.Name && Peek().IsOperator("="))
                {
                    string name = Next().Text;
                    _pos++;
                    args.Keywords.Add(new KeyValuePair<string, Expr>(name, ParseExpression()));
                }
                else
                {
                    if (args.Keywords.Count > 0) throw Error(Current, "positional argument follows keyword argument");
                    args.Positional.Add(ParseExpression());
                }
            }
            return args;
        }

        private Expr ParseFilterExpr(Expr e)
        {
            int nesting = _nesting;
            while (true)
            {
                Token t = Current;
                if (t.IsOperator("|") || t.IsName("is") || t.IsOperator("(")) Nest(t);
                if (t.IsOperator("|"))
                {
                    _pos++;
                    Token name = Expect(TokenKind.Name);
                    string filterName = name.Text;
                    while (Current.IsOperator(".") && Peek().Kind == TokenKind.Name)
                    {
                        _pos++;
                        filterName += "." + Next().Text;
                    }
                    ArgList args = Current.IsOperator("(") ? ParseCallArgs() : ArgList.None;
                    e = new FilterExpr(name.Offset, e, filterName, args);
                }
                else if (t.IsName("is"))
                {
                    _pos++;
                    bool negated = SkipName("not");
                    Token name = Expect(TokenKind.Name);
                    string testName = name.Text;
                    while (Current.IsOperator(".") && Peek().Kind == TokenKind.Name)
                    {
                        _pos++;
                        testName += "." + Next().Text;
                    }
                    ArgList args = ArgList.None;
                    Token next = Current;
                    if (next.IsOperator("("))
                    {
                        args = ParseCallArgs();
                    }
                    else if ((next.Kind == TokenKind.Name || next.Kind == TokenKind.String || next.Kind == TokenKind.Integer || next.Kind == TokenKind.Float
                              || next.IsOperator("[") || next.IsOperator("{"))
                             && !next.IsName("else") && !next.IsName("or") && !next.IsName("and"))
                    {
                        if (next.IsName("is")) throw Error(next, "You cannot chain multiple tests with is");
                        // A test takes one bare argument: "is divisibleby 3", "is sameas false".
                        args = new ArgList();
                        args.Positional.Add(ParsePostfix(ParsePrimary()));
                    }
                    e = new TestExpr(name.Offset, e, testName, args, negated);
                }
                else if (t.IsOperator("("))
                {
                    e = new CallExpr(e.Offset, e, ParseCallArgs());
                }
                else
                {
                    _nesting = nesting;
                    return e;
                }
            }
        }
    }
}
