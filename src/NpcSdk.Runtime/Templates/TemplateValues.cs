using System;
using System.Collections;
using System.Collections.Generic;

namespace NpcSdk.Templates
{
    // The runtime values a chat template sees mirror Python's, because HF renders with Jinja2 in Python:
    // null is None, bool, long (int), double (float), string (str), PyList (list/tuple), PyDict (dict),
    // plus Jinja's own Undefined, namespace() objects, loop objects and callables.

    /// <summary>Jinja's default Undefined: prints as empty, is falsy and iterates as empty; using it as an object raises.</summary>
    internal sealed class Undefined
    {
        public static readonly Undefined Anonymous = new Undefined(null);

        public Undefined(string? hint) => Hint = hint;

        /// <summary>Why the value is undefined, as Jinja words it (e.g. "'foo' is undefined").</summary>
        public string? Hint { get; }

        public string Message => Hint ?? "value is undefined";

        public static Undefined Named(string name) => new Undefined("'" + name + "' is undefined");
    }

    /// <summary>A Python list, or a tuple when <see cref="IsTuple"/> (only printing differs).</summary>
    internal sealed class PyList : List<object?>
    {
        public PyList() { }

        public PyList(IEnumerable<object?> items) : base(items) { }

        public bool IsTuple { get; set; }

        public static PyList Tuple(params object?[] items) => new PyList(items) { IsTuple = true };
    }

    /// <summary>A Python dict: insertion-ordered, keys compared as Python compares them (1 == 1.0 == True).</summary>
    internal sealed class PyDict : IEnumerable<KeyValuePair<object, object?>>
    {
        private readonly List<object> _keys = new List<object>();
        private readonly Dictionary<object, object?> _values = new Dictionary<object, object?>(PyKeyComparer.Instance);

        public int Count => _keys.Count;

        public IReadOnlyList<object> Keys => _keys;

        public bool ContainsKey(object key) => _values.ContainsKey(key);

        public bool TryGetValue(object key, out object? value) => _values.TryGetValue(key, out value);

        public object? this[object key]
        {
            set
            {
                if (!_values.ContainsKey(key)) _keys.Add(key);
                _values[key] = value;
            }
        }

        public IEnumerator<KeyValuePair<object, object?>> GetEnumerator()
        {
            foreach (object k in _keys) yield return new KeyValuePair<object, object?>(k, _values[k]);
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Dictionary key equality with Python semantics for the hashable values templates use.</summary>
    internal sealed class PyKeyComparer : IEqualityComparer<object>
    {
        public static readonly PyKeyComparer Instance = new PyKeyComparer();

        public new bool Equals(object? x, object? y) => PyOps.Equal(x, y);

        public int GetHashCode(object obj)
        {
            switch (obj)
            {
                case string s: return StringComparer.Ordinal.GetHashCode(s);
                case bool b: return (b ? 1.0 : 0.0).GetHashCode();
                case long l: return ((double)l).GetHashCode();
                case double d: return d.GetHashCode();
                case PyList list:
                    int h = 17;
                    foreach (object? item in list) h = h * 31 + (item == null ? 0 : GetHashCode(item));
                    return h;
                default: return obj.GetHashCode();
            }
        }
    }

    /// <summary>A Jinja <c>namespace()</c>: the one object whose attributes <c>{% set ns.x = ... %}</c> may change.</summary>
    internal sealed class Namespace
    {
        public PyDict Attributes { get; } = new PyDict();
    }

    /// <summary>The <c>loop</c> variable of a for loop.</summary>
    internal sealed class LoopInfo
    {
        private readonly PyList _items;

        public LoopInfo(PyList items) => _items = items;

        public int Index0 { get; set; }

        public int Length => _items.Count;

        /// <summary>The last value <c>loop.changed(...)</c> saw.</summary>
        public object? LastChanged { get; set; } = Undefined.Anonymous;

        public object? Get(string name)
        {
            switch (name)
            {
                case "index": return (long)(Index0 + 1);
                case "index0": return (long)Index0;
                case "revindex": return (long)(Length - Index0);
                case "revindex0": return (long)(Length - Index0 - 1);
                case "first": return Index0 == 0;
                case "last": return Index0 == Length - 1;
                case "length": return (long)Length;
                case "depth": return 1L;
                case "depth0": return 0L;
                case "previtem": return Index0 > 0 ? _items[Index0 - 1] : new Undefined("there is no previous item");
                case "nextitem": return Index0 + 1 < Length ? _items[Index0 + 1] : new Undefined("there is no next item");
                case "cycle":
                    return new BuiltinFunction("loop.cycle", (args, r) =>
                    {
                        if (args.Positional.Count == 0) throw new TemplateError("no items for cycling given");
                        return args.Positional[Index0 % args.Positional.Count];
                    });
                case "changed":
                    return new BuiltinFunction("loop.changed", (args, r) =>
                    {
                        object? value = PyList.Tuple(args.Positional.ToArray());
                        if (LastChanged is Undefined || !PyOps.Equal(LastChanged, value))
                        {
                            LastChanged = value;
                            return true;
                        }
                        return false;
                    });
                default: return Undefined.Named("loop." + name);
            }
        }
    }

    /// <summary>Positional and keyword arguments of a call, bound the way Python binds them.</summary>
    internal sealed class CallArgs
    {
        public static readonly CallArgs Empty = new CallArgs(new List<object?>(), new List<KeyValuePair<string, object?>>());

        public CallArgs(List<object?> positional, List<KeyValuePair<string, object?>> keywords)
        {
            Positional = positional;
            Keywords = keywords;
        }

        public List<object?> Positional { get; }

        public List<KeyValuePair<string, object?>> Keywords { get; }

        /// <summary>The argument at <paramref name="index"/> or named <paramref name="name"/>, else <paramref name="fallback"/>.</summary>
        public object? Get(int index, string name, object? fallback)
        {
            if (index >= 0 && index < Positional.Count) return Positional[index];
            foreach (var kv in Keywords)
            {
                if (kv.Key == name) return kv.Value;
            }
            return fallback;
        }

        public bool Has(int index, string name)
        {
            if (index >= 0 && index < Positional.Count) return true;
            foreach (var kv in Keywords)
            {
                if (kv.Key == name) return true;
            }
            return false;
        }
    }

    /// <summary>Anything a template can call: globals, bound methods, macros.</summary>
    internal abstract class TemplateCallable
    {
        protected TemplateCallable(string name) => Name = name;

        public string Name { get; }

        public abstract object? Call(CallArgs args, TemplateRenderer renderer);
    }

    internal sealed class BuiltinFunction : TemplateCallable
    {
        private readonly Func<CallArgs, TemplateRenderer, object?> _body;

        public BuiltinFunction(string name, Func<CallArgs, TemplateRenderer, object?> body) : base(name) => _body = body;

        public override object? Call(CallArgs args, TemplateRenderer renderer) => _body(args, renderer);
    }

    /// <summary>An error raised while rendering, before the node that raised it adds its line and column.</summary>
    internal class TemplateError : Exception
    {
        public TemplateError(string message) : base(message) { }
    }

    /// <summary>A <c>raise_exception(msg)</c> call: the template rejected its input.</summary>
    internal sealed class TemplateRaisedError : TemplateError
    {
        public TemplateRaisedError(string message) : base(message) { }
    }
}
