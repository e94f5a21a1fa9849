using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;

namespace NpcSdk.Templates
{
    /// <summary>An expression node. Errors raised below it get the innermost node's line and column.</summary>
    internal abstract class Expr
    {
        protected Expr(int offset) => Offset = offset;

        public int Offset { get; }

        public object? Eval(TemplateRenderer r, Scope scope)
        {
            try
            {
                // Deep nesting times macro recursion could still exhaust a small thread stack: fail cleanly instead.
                RuntimeHelpers.EnsureSufficientExecutionStack();
                return EvalCore(r, scope);
            }
            catch (TemplateError e)
            {
                throw r.Locate(e, Offset);
            }
            catch (InsufficientExecutionStackException)
            {
                throw r.Locate(new TemplateError("template nested too deeply for the thread's stack"), Offset);
            }
        }

        protected abstract object? EvalCore(TemplateRenderer r, Scope scope);
    }

    internal sealed class ConstExpr : Expr
    {
        private readonly object? _value;

        public ConstExpr(int offset, object? value) : base(offset) => _value = value;

        protected override object? EvalCore(TemplateRenderer r, Scope scope) => _value;
    }

    internal sealed class NameExpr : Expr
    {
        public NameExpr(int offset, string name) : base(offset) => Name = name;

        public string Name { get; }

        protected override object? EvalCore(TemplateRenderer r, Scope scope) =>
            scope.TryLookup(Name, out object? value) ? value : Undefined.Named(Name);
    }

    internal sealed class ListExpr : Expr
    {
        private readonly List<Expr> _items;
        private readonly bool _tuple;

        public ListExpr(int offset, List<Expr> items, bool tuple) : base(offset)
        {
            _items = items;
            _tuple = tuple;
        }

        public IReadOnlyList<Expr> Items => _items;

        public bool IsTuple => _tuple;

        protected override object? EvalCore(TemplateRenderer r, Scope scope)
        {
            var list = new PyList { IsTuple = _tuple };
            foreach (Expr e in _items) list.Add(e.Eval(r, scope));
            return list;
        }
    }

    internal sealed class DictExpr : Expr
    {
        private readonly List<KeyValuePair<Expr, Expr>> _pairs;

        public DictExpr(int offset, List<KeyValuePair<Expr, Expr>> pairs) : base(offset) => _pairs = pairs;

        protected override object? EvalCore(TemplateRenderer r, Scope scope)
        {
            var dict = new PyDict();
            foreach (var kv in _pairs)
            {
                object? key = kv.Key.Eval(r, scope);
                if (key == null || key is Undefined || key is PyDict || (key is PyList l && !l.IsTuple)) throw new TemplateError($"unhashable type: '{PyOps.TypeName(key)}'");
                dict[key] = kv.Value.Eval(r, scope);
            }
            return dict;
        }
    }

    /// <summary><c>obj.name</c>: Python attribute first, then item (Jinja's getattr).</summary>
    internal sealed class GetAttrExpr : Expr
    {
        private readonly Expr _target;
        private readonly string _name;

        public GetAttrExpr(int offset, Expr target, string name) : base(offset)
        {
            _target = target;
            _name = name;
        }

        public Expr Target => _target;

        public string Name => _name;

        protected override object? EvalCore(TemplateRenderer r, Scope scope) => PyMembers.GetAttribute(_target.Eval(r, scope), _name);
    }

    /// <summary><c>obj[key]</c>: item first, then attribute when the key is a string (Jinja's getitem).</summary>
    internal sealed class GetItemExpr : Expr
    {
        private readonly Expr _target;
        private readonly Expr _key;

        public GetItemExpr(int offset, Expr target, Expr key) : base(offset)
        {
            _target = target;
            _key = key;
        }

        protected override object? EvalCore(TemplateRenderer r, Scope scope) => PyMembers.GetItem(_target.Eval(r, scope), _key.Eval(r, scope));
    }

    internal sealed class SliceExpr : Expr
    {
        private readonly Expr _target;
        private readonly Expr? _start, _stop, _step;

        public SliceExpr(int offset, Expr target, Expr? start, Expr? stop, Expr? step) : base(offset)
        {
            _target = target;
            _start = start;
            _stop = stop;
            _step = step;
        }

        private static long? Bound(Expr? e, TemplateRenderer r, Scope scope)
        {
            if (e == null) return null;
            object? v = e.Eval(r, scope);
            if (v == null) return null;
            return PyOps.AsInteger(v) ?? throw new TemplateError("slice indices must be integers or None");
        }

        protected override object? EvalCore(TemplateRenderer r, Scope scope)
        {
            object? target = _target.Eval(r, scope);
            long? start = Bound(_start, r, scope), stop = Bound(_stop, r, scope), step = Bound(_step, r, scope);
            switch (target)
            {
                case string s: return PyString.Slice(s, start, stop, step);
                case PyList list:
                    var result = new PyList { IsTuple = list.IsTuple };
                    foreach (int i in PyString.SliceIndexes(list.Count, start, stop, step)) result.Add(list[i]);
                    return result;
                case Undefined u: throw new TemplateError(u.Message);
                default: return new Undefined($"'{PyOps.TypeName(target)}' object is not subscriptable");
            }
        }
    }

    internal sealed class CallExpr : Expr
    {
        private readonly Expr _callee;
        private readonly ArgList _args;

        public CallExpr(int offset, Expr callee, ArgList args) : base(offset)
        {
            _callee = callee;
            _args = args;
        }

        protected override object? EvalCore(TemplateRenderer r, Scope scope)
        {
            object? callee = _callee.Eval(r, scope);
            CallArgs args = _args.Eval(r, scope);
            switch (callee)
            {
                case TemplateCallable f: return f.Call(args, r);
                case Undefined u: throw new TemplateError(u.Message);
                default: throw new TemplateError($"'{PyOps.TypeName(callee)}' object is not callable");
            }
        }
    }

    /// <summary>The arguments written in a call, filter or test: positional, <c>name=value</c>, <c>*list</c>, <c>**dict</c>.</summary>
    internal sealed class ArgList
    {
        public static readonly ArgList None = new ArgList();

        public List<Expr> Positional { get; } = new List<Expr>();

        public List<KeyValuePair<string, Expr>> Keywords { get; } = new List<KeyValuePair<string, Expr>>();

        public Expr? StarArgs { get; set; }

        public Expr? StarStarArgs { get; set; }

        public CallArgs Eval(TemplateRenderer r, Scope scope)
        {
            if (Positional.Count == 0 && Keywords.Count == 0 && StarArgs == null && StarStarArgs == null) return CallArgs.Empty;
            var positional = new List<object?>();
            foreach (Expr e in Positional) positional.Add(e.Eval(r, scope));
            if (StarArgs != null) positional.AddRange(PyOps.Iterate(StarArgs.Eval(r, scope)));
            var keywords = new List<KeyValuePair<string, object?>>();
            foreach (var kv in Keywords) keywords.Add(new KeyValuePair<string, object?>(kv.Key, kv.Value.Eval(r, scope)));
            if (StarStarArgs != null)
            {
                if (!(StarStarArgs.Eval(r, scope) is PyDict extra)) throw new TemplateError("argument after ** must be a mapping");
                foreach (var kv in extra) keywords.Add(new KeyValuePair<string, object?>(PyOps.Str(kv.Key), kv.Value));
            }
            return new CallArgs(positional, keywords);
        }
    }

    internal sealed class FilterExpr : Expr
    {
        private readonly Expr? _value;
        private readonly string _name;
        private readonly ArgList _args;

        // value: the filtered expression; null in a {% filter %} or {% set %} block, which supplies the value.
        public FilterExpr(int offset, Expr? value, string name, ArgList args) : base(offset)
        {
            _value = value;
            _name = name;
            _args = args;
        }

        public object? Apply(TemplateRenderer r, Scope scope, object? value)
        {
            try
            {
                return TemplateFilters.Apply(r, _name, value, _args.Eval(r, scope));
            }
            catch (TemplateError e)
            {
                throw r.Locate(e, Offset);
            }
        }

        protected override object? EvalCore(TemplateRenderer r, Scope scope) =>
            TemplateFilters.Apply(r, _name, _value!.Eval(r, scope), _args.Eval(r, scope));
    }

    internal sealed class TestExpr : Expr
    {
        private readonly Expr _value;
        private readonly string _name;
        private readonly ArgList _args;
        private readonly bool _negated;

        public TestExpr(int offset, Expr value, string name, ArgList args, bool negated) : base(offset)
        {
            _value = value;
            _name = name;
            _args = args;
            _negated = negated;
        }

        protected override object? EvalCore(TemplateRenderer r, Scope scope)
        {
            bool result = TemplatePredicates.Apply(r, _name, _value.Eval(r, scope), _args.Eval(r, scope));
            return _negated ? !result : result;
        }
    }

    internal enum BinaryOp
    {
        Add,
        Subtract,
        Multiply,
        Divide,
        FloorDivide,
        Modulo,
        Power,
        Concat,
        Equal,
        NotEqual,
        Less,
        LessEqual,
        Greater,
        GreaterEqual,
        In,
        NotIn,
    }

    internal sealed class BinaryExpr : Expr
    {
        private readonly BinaryOp _op;
        private readonly Expr _left, _right;

        public BinaryExpr(int offset, BinaryOp op, Expr left, Expr right) : base(offset)
        {
            _op = op;
            _left = left;
            _right = right;
        }

        protected override object? EvalCore(TemplateRenderer r, Scope scope) => Apply(_op, _left.Eval(r, scope), _right.Eval(r, scope));

        public static object? Apply(BinaryOp op, object? a, object? b)
        {
            switch (op)
            {
                case BinaryOp.Add: return PyOps.Add(a, b);
                case BinaryOp.Subtract: return PyOps.Subtract(a, b);
                case BinaryOp.Multiply: return PyOps.Multiply(a, b);
                case BinaryOp.Divide: return PyOps.Divide(a, b);
                case BinaryOp.FloorDivide: return PyOps.FloorDivide(a, b);
                case BinaryOp.Modulo: return PyOps.Modulo(a, b);
                case BinaryOp.Power: return PyOps.Power(a, b);
                case BinaryOp.Concat: return PyOps.Str(a) + PyOps.Str(b);
                case BinaryOp.Equal: return PyOps.Equal(a, b);
                case BinaryOp.NotEqual: return !PyOps.Equal(a, b);
                case BinaryOp.Less: return PyOps.Compare(a, b, "<") < 0;
                case BinaryOp.LessEqual: return PyOps.Compare(a, b, "<=") <= 0;
                case BinaryOp.Greater: return PyOps.Compare(a, b, ">") > 0;
                case BinaryOp.GreaterEqual: return PyOps.Compare(a, b, ">=") >= 0;
                case BinaryOp.In: return PyOps.Contains(b, a);
                case BinaryOp.NotIn: return !PyOps.Contains(b, a);
                default: throw new InvalidOperationException(op.ToString());
            }
        }
    }

    internal sealed class CompareChainExpr : Expr
    {
        private readonly Expr _first;
        private readonly List<KeyValuePair<BinaryOp, Expr>> _rest;

        public CompareChainExpr(int offset, Expr first, List<KeyValuePair<BinaryOp, Expr>> rest) : base(offset)
        {
            _first = first;
            _rest = rest;
        }

        protected override object? EvalCore(TemplateRenderer r, Scope scope)
        {
            object? left = _first.Eval(r, scope);
            foreach (var step in _rest)
            {
                object? right = step.Value.Eval(r, scope);
                if (!PyOps.IsTrue(BinaryExpr.Apply(step.Key, left, right))) return false;
                left = right;
            }
            return true;
        }
    }

    /// <summary><c>and</c>/<c>or</c>: short-circuit, yielding an operand as Python does.</summary>
    internal sealed class LogicalExpr : Expr
    {
        private readonly bool _isAnd;
        private readonly Expr _left, _right;

        public LogicalExpr(int offset, bool isAnd, Expr left, Expr right) : base(offset)
        {
            _isAnd = isAnd;
            _left = left;
            _right = right;
        }

        protected override object? EvalCore(TemplateRenderer r, Scope scope)
        {
            object? a = _left.Eval(r, scope);
            if (_isAnd ? !PyOps.IsTrue(a) : PyOps.IsTrue(a)) return a;
            return _right.Eval(r, scope);
        }
    }

    internal sealed class NotExpr : Expr
    {
        private readonly Expr _operand;

        public NotExpr(int offset, Expr operand) : base(offset) => _operand = operand;

        protected override object? EvalCore(TemplateRenderer r, Scope scope) => !PyOps.IsTrue(_operand.Eval(r, scope));
    }

    internal sealed class NegateExpr : Expr
    {
        private readonly Expr _operand;
        private readonly bool _minus;

        public NegateExpr(int offset, Expr operand, bool minus) : base(offset)
        {
            _operand = operand;
            _minus = minus;
        }

        protected override object? EvalCore(TemplateRenderer r, Scope scope)
        {
            object? v = _operand.Eval(r, scope);
            if (_minus) return PyOps.Negate(v);
            if (v is long || v is double) return v;
            if (v is bool b) return b ? 1L : 0L;
            if (v is Undefined u) throw new TemplateError(u.Message);
            throw new TemplateError($"bad operand type for unary +: '{PyOps.TypeName(v)}'");
        }
    }

    /// <summary><c>a if cond else b</c>; without <c>else</c> a false condition yields Undefined.</summary>
    internal sealed class ConditionalExpr : Expr
    {
        private readonly Expr _condition, _then;
        private readonly Expr? _else;

        public ConditionalExpr(int offset, Expr condition, Expr then, Expr? otherwise) : base(offset)
        {
            _condition = condition;
            _then = then;
            _else = otherwise;
        }

        protected override object? EvalCore(TemplateRenderer r, Scope scope)
        {
            if (PyOps.IsTrue(_condition.Eval(r, scope))) return _then.Eval(r, scope);
            return _else == null ? new Undefined("the inline if-expression evaluated to false and no else section was defined") : _else.Eval(r, scope);
        }
    }
}
