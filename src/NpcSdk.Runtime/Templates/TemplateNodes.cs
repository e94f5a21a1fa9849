using System.Collections.Generic;
using System.Text;

namespace NpcSdk.Templates
{
    /// <summary>What a statement tells its enclosing loop.</summary>
    internal enum Flow
    {
        Normal,
        Break,
        Continue,
    }

    /// <summary>A statement node: text, output, or a tag.</summary>
    internal abstract class Node
    {
        protected Node(int offset) => Offset = offset;

        public int Offset { get; }

        public abstract Flow Render(TemplateRenderer r, Scope scope, StringBuilder output);

        public static Flow RenderAll(List<Node> body, TemplateRenderer r, Scope scope, StringBuilder output)
        {
            foreach (Node node in body)
            {
                Flow flow = node.Render(r, scope, output);
                if (flow != Flow.Normal) return flow;
            }
            return Flow.Normal;
        }
    }

    internal sealed class TextNode : Node
    {
        private readonly string _text;

        public TextNode(int offset, string text) : base(offset) => _text = text;

        public override Flow Render(TemplateRenderer r, Scope scope, StringBuilder output)
        {
            output.Append(_text);
            return Flow.Normal;
        }
    }

    /// <summary><c>{{ expr }}</c>: Python's str() of the value; Undefined prints nothing.</summary>
    internal sealed class OutputNode : Node
    {
        private readonly Expr _expr;

        public OutputNode(int offset, Expr expr) : base(offset) => _expr = expr;

        public override Flow Render(TemplateRenderer r, Scope scope, StringBuilder output)
        {
            output.Append(PyOps.Str(_expr.Eval(r, scope)));
            r.CheckOutput(output);
            return Flow.Normal;
        }
    }

    internal sealed class IfNode : Node
    {
        private readonly List<KeyValuePair<Expr, List<Node>>> _branches;
        private readonly List<Node>? _else;

        public IfNode(int offset, List<KeyValuePair<Expr, List<Node>>> branches, List<Node>? otherwise) : base(offset)
        {
            _branches = branches;
            _else = otherwise;
        }

        public override Flow Render(TemplateRenderer r, Scope scope, StringBuilder output)
        {
            // An if creates no scope: a set inside it is seen after it.
            foreach (var branch in _branches)
            {
                if (PyOps.IsTrue(branch.Key.Eval(r, scope))) return RenderAll(branch.Value, r, scope, output);
            }
            return _else == null ? Flow.Normal : RenderAll(_else, r, scope, output);
        }
    }

    /// <summary>An assignment target: a name, names to unpack, or <c>namespace.attribute</c>.</summary>
    internal sealed class AssignTarget
    {
        public AssignTarget(int offset, List<string> names, string? attribute)
        {
            Offset = offset;
            Names = names;
            Attribute = attribute;
        }

        public int Offset { get; }

        /// <summary>One name, several to unpack a sequence into, or the namespace's name when <see cref="Attribute"/> is set.</summary>
        public List<string> Names { get; }

        public string? Attribute { get; }

        public bool Unpacks => Names.Count > 1;

        public void Assign(TemplateRenderer r, Scope scope, object? value)
        {
            if (Attribute != null)
            {
                if (!scope.TryLookup(Names[0], out object? target) || !(target is Namespace ns))
                {
                    throw r.Locate(new TemplateError("cannot assign attribute on non-namespace object"), Offset);
                }
                ns.Attributes[Attribute] = value;
                return;
            }
            if (!Unpacks)
            {
                scope.Set(Names[0], value);
                return;
            }
            PyList items;
            try
            {
                items = PyOps.Iterate(value);
            }
            catch (TemplateError e)
            {
                throw r.Locate(new TemplateError("cannot unpack non-iterable " + PyOps.TypeName(value) + " object"), Offset, e);
            }
            if (items.Count != Names.Count)
            {
                string what = items.Count > Names.Count ? $"too many values to unpack (expected {Names.Count})" : $"not enough values to unpack (expected {Names.Count}, got {items.Count})";
                throw r.Locate(new TemplateError(what), Offset);
            }
            for (int i = 0; i < Names.Count; i++) scope.Set(Names[i], items[i]);
        }
    }

    internal sealed class ForNode : Node
    {
        private readonly AssignTarget _target;
        private readonly Expr _iterable;
        private readonly Expr? _filter;
        private readonly List<Node> _body;
        private readonly List<Node>? _else;

        public ForNode(int offset, AssignTarget target, Expr iterable, Expr? filter, List<Node> body, List<Node>? otherwise) : base(offset)
        {
            _target = target;
            _iterable = iterable;
            _filter = filter;
            _body = body;
            _else = otherwise;
        }

        public override Flow Render(TemplateRenderer r, Scope scope, StringBuilder output)
        {
            PyList source;
            try
            {
                source = PyOps.Iterate(_iterable.Eval(r, scope));
            }
            catch (TemplateError e)
            {
                throw r.Locate(e, Offset);
            }
            PyList items = source;
            if (_filter != null)
            {
                items = new PyList();
                foreach (object? item in source)
                {
                    var filterScope = new Scope(scope);
                    _target.Assign(r, filterScope, item);
                    if (PyOps.IsTrue(_filter.Eval(r, filterScope))) items.Add(item);
                }
            }
            if (items.Count == 0) return _else == null ? Flow.Normal : RenderAll(_else, r, scope, output);
            var loop = new LoopInfo(items);
            // Each iteration gets a fresh scope: a set in the body is neither seen by the next iteration nor after the loop.
            for (int i = 0; i < items.Count; i++)
            {
                loop.Index0 = i;
                var iteration = new Scope(scope);
                iteration.Set("loop", loop);
                _target.Assign(r, iteration, items[i]);
                if (RenderAll(_body, r, iteration, output) == Flow.Break) break;
            }
            return Flow.Normal;
        }
    }

    internal sealed class SetNode : Node
    {
        private readonly AssignTarget _target;
        private readonly Expr _value;

        public SetNode(int offset, AssignTarget target, Expr value) : base(offset)
        {
            _target = target;
            _value = value;
        }

        public override Flow Render(TemplateRenderer r, Scope scope, StringBuilder output)
        {
            _target.Assign(r, scope, _value.Eval(r, scope));
            return Flow.Normal;
        }
    }

    /// <summary><c>{% set name %}...{% endset %}</c>, optionally through filters.</summary>
    internal sealed class SetBlockNode : Node
    {
        private readonly AssignTarget _target;
        private readonly List<FilterExpr> _filters;
        private readonly List<Node> _body;

        public SetBlockNode(int offset, AssignTarget target, List<FilterExpr> filters, List<Node> body) : base(offset)
        {
            _target = target;
            _filters = filters;
            _body = body;
        }

        public override Flow Render(TemplateRenderer r, Scope scope, StringBuilder output)
        {
            var captured = new StringBuilder();
            RenderAll(_body, r, new Scope(scope), captured);
            object? value = captured.ToString();
            foreach (FilterExpr f in _filters) value = f.Apply(r, scope, value);
            _target.Assign(r, scope, value);
            return Flow.Normal;
        }
    }

    /// <summary><c>{% filter name %}...{% endfilter %}</c>.</summary>
    internal sealed class FilterBlockNode : Node
    {
        private readonly List<FilterExpr> _filters;
        private readonly List<Node> _body;

        public FilterBlockNode(int offset, List<FilterExpr> filters, List<Node> body) : base(offset)
        {
            _filters = filters;
            _body = body;
        }

        public override Flow Render(TemplateRenderer r, Scope scope, StringBuilder output)
        {
            var captured = new StringBuilder();
            RenderAll(_body, r, new Scope(scope), captured);
            object? value = captured.ToString();
            foreach (FilterExpr f in _filters) value = f.Apply(r, scope, value);
            output.Append(PyOps.Str(value));
            return Flow.Normal;
        }
    }

    /// <summary>A body rendered in its own scope: <c>{% with %}</c>, and transformers' <c>{% generation %}</c> marker.</summary>
    internal sealed class ScopedBlockNode : Node
    {
        private readonly List<KeyValuePair<AssignTarget, Expr>> _assignments;
        private readonly List<Node> _body;
        private readonly bool _newScope;

        public ScopedBlockNode(int offset, List<KeyValuePair<AssignTarget, Expr>> assignments, List<Node> body, bool newScope) : base(offset)
        {
            _assignments = assignments;
            _body = body;
            _newScope = newScope;
        }

        public override Flow Render(TemplateRenderer r, Scope scope, StringBuilder output)
        {
            Scope inner = _newScope ? new Scope(scope) : scope;
            foreach (var a in _assignments) a.Key.Assign(r, inner, a.Value.Eval(r, scope));
            return RenderAll(_body, r, inner, output);
        }
    }

    internal sealed class LoopControlNode : Node
    {
        private readonly Flow _flow;

        public LoopControlNode(int offset, Flow flow) : base(offset) => _flow = flow;

        public override Flow Render(TemplateRenderer r, Scope scope, StringBuilder output) => _flow;
    }

    internal sealed class MacroNode : Node
    {
        public MacroNode(int offset, string name, List<KeyValuePair<string, Expr?>> parameters, List<Node> body) : base(offset)
        {
            Name = name;
            Parameters = parameters;
            Body = body;
        }

        public string Name { get; }

        public List<KeyValuePair<string, Expr?>> Parameters { get; }

        public List<Node> Body { get; }

        public override Flow Render(TemplateRenderer r, Scope scope, StringBuilder output)
        {
            scope.Set(Name, new Macro(this, scope));
            return Flow.Normal;
        }
    }

    /// <summary>A macro value: calling it renders its body with the arguments bound, in the scope it was defined in.</summary>
    internal sealed class Macro : TemplateCallable
    {
        private readonly MacroNode _node;
        private readonly Scope _closure;

        public Macro(MacroNode node, Scope closure) : base(node.Name)
        {
            _node = node;
            _closure = closure;
        }

        public override object? Call(CallArgs args, TemplateRenderer renderer)
        {
            var scope = new Scope(_closure);
            var parameters = _node.Parameters;
            if (args.Positional.Count > parameters.Count)
            {
                throw new TemplateError($"macro '{Name}' takes not more than {parameters.Count} argument(s)");
            }
            var bound = new HashSet<string>();
            for (int i = 0; i < args.Positional.Count; i++)
            {
                scope.Set(parameters[i].Key, args.Positional[i]);
                bound.Add(parameters[i].Key);
            }
            foreach (var kv in args.Keywords)
            {
                if (!parameters.Exists(p => p.Key == kv.Key)) throw new TemplateError($"macro '{Name}' takes no keyword argument '{kv.Key}'");
                scope.Set(kv.Key, kv.Value);
                bound.Add(kv.Key);
            }
            foreach (var p in parameters)
            {
                if (bound.Contains(p.Key)) continue;
                scope.Set(p.Key, p.Value == null ? Undefined.Named(p.Key) : p.Value.Eval(renderer, scope));
            }
            var output = new StringBuilder();
            renderer.EnterCall(Name);
            try
            {
                Node.RenderAll(_node.Body, renderer, scope, output);
            }
            finally
            {
                renderer.ExitCall();
            }
            return output.ToString();
        }
    }
}
