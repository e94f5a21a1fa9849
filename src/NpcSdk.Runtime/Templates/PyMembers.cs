using System;
using System.Collections.Generic;
using System.Text;

namespace NpcSdk.Templates
{
    /// <summary>
    /// Attribute and item access as Jinja2's sandbox does it (<c>x.a</c> tries the attribute then the item,
    /// <c>x['a']</c> the item then the attribute; a miss is Undefined), and the Python methods templates call on
    /// strings, dicts and lists. Mutating methods (<c>list.append</c>, <c>dict.update</c>...) are unsafe in the
    /// immutable sandbox transformers uses, so they are Undefined here too.
    /// </summary>
    internal static class PyMembers
    {
        private static readonly HashSet<string> StringMethods = new HashSet<string>(StringComparer.Ordinal)
        {
            "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith", "endswith", "replace",
            "upper", "lower", "title", "capitalize", "swapcase", "find", "rfind", "index", "rindex", "count", "join",
            "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower", "isnumeric", "isdecimal", "istitle",
            "center", "ljust", "rjust", "zfill", "removeprefix", "removesuffix", "partition", "rpartition", "format",
        };

        private static readonly HashSet<string> DictMethods = new HashSet<string>(StringComparer.Ordinal) { "items", "keys", "values", "get", "copy" };

        private static readonly HashSet<string> UnsafeDictMethods = new HashSet<string>(StringComparer.Ordinal) { "pop", "popitem", "update", "setdefault", "clear" };

        private static readonly HashSet<string> ListMethods = new HashSet<string>(StringComparer.Ordinal) { "index", "count", "copy" };

        private static readonly HashSet<string> UnsafeListMethods = new HashSet<string>(StringComparer.Ordinal) { "append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear" };

        private static Undefined NoAttribute(object? target, string name) =>
            new Undefined($"'{PyOps.TypeName(target)} object' has no attribute '{name}'");

        public static object? GetAttribute(object? target, string name)
        {
            switch (target)
            {
                case Undefined u:
                    throw new TemplateError(u.Message);
                case PyDict dict:
                    if (DictMethods.Contains(name)) return new BoundMethod(dict, name);
                    if (UnsafeDictMethods.Contains(name)) return new Undefined($"access to attribute '{name}' of 'dict' object is unsafe");
                    return dict.TryGetValue(name, out object? value) ? value : NoAttribute(target, name);
                case string s:
                    return StringMethods.Contains(name) ? new BoundMethod(s, name) : NoAttribute(target, name);
                case PyList list:
                    if (ListMethods.Contains(name)) return new BoundMethod(list, name);
                    if (UnsafeListMethods.Contains(name)) return new Undefined($"access to attribute '{name}' of '{PyOps.TypeName(list)}' object is unsafe");
                    return NoAttribute(target, name);
                case Namespace ns:
                    return ns.Attributes.TryGetValue(name, out object? attr) ? attr : NoAttribute(target, name);
                case LoopInfo loop:
                    return loop.Get(name);
                default:
                    return NoAttribute(target, name);
            }
        }

        public static object? GetItem(object? target, object? key)
        {
            switch (target)
            {
                case Undefined u:
                    throw new TemplateError(u.Message);
                case PyDict dict:
                    if (key != null && !(key is Undefined) && !(key is PyDict) && !(key is PyList l && !l.IsTuple) && dict.TryGetValue(key, out object? value)) return value;
                    break;
                case PyList list:
                    if (PyOps.AsInteger(key) is long index)
                    {
                        if (index < 0) index += list.Count;
                        if (index >= 0 && index < list.Count) return list[(int)index];
                        return new Undefined($"{PyOps.TypeName(list)} object has no element {PyOps.Str(key)}");
                    }
                    break;
                case string s:
                    if (PyOps.AsInteger(key) is long charIndex)
                    {
                        return PyString.Index(s, charIndex) ?? (object)new Undefined($"str object has no element {PyOps.Str(key)}");
                    }
                    break;
            }
            if (key is string name) return GetAttribute(target, name);
            return new Undefined($"'{PyOps.TypeName(target)} object' has no attribute '{PyOps.Str(key)}'");
        }

        /// <summary>A method bound to its receiver, e.g. <c>message.content.strip</c>.</summary>
        private sealed class BoundMethod : TemplateCallable
        {
            private readonly object _receiver;

            public BoundMethod(object receiver, string name) : base(name) => _receiver = receiver;

            public override object? Call(CallArgs args, TemplateRenderer renderer) => _receiver switch
            {
                string s => CallString(s, Name, args),
                PyDict d => CallDict(d, Name, args),
                PyList l => CallList(l, Name, args),
                _ => throw new TemplateError($"'{Name}' is not callable"),
            };
        }

        private static string? OptionalString(object? v, string method)
        {
            if (v == null) return null;
            if (v is string s) return s;
            throw new TemplateError($"{method} arg must be None or str");
        }

        private static string RequireString(object? v, string method)
        {
            if (v is string s) return s;
            throw new TemplateError($"{method}() argument must be str, not {PyOps.TypeName(v)}");
        }

        private static long OptionalInt(object? v, long fallback)
        {
            if (v == null) return fallback;
            return PyOps.AsInteger(v) ?? throw new TemplateError($"'{PyOps.TypeName(v)}' object cannot be interpreted as an integer");
        }

        private static object? CallString(string s, string name, CallArgs a)
        {
            switch (name)
            {
                case "strip": return PyString.Strip(s, OptionalString(a.Get(0, "chars", null), "strip"), true, true);
                case "lstrip": return PyString.Strip(s, OptionalString(a.Get(0, "chars", null), "lstrip"), true, false);
                case "rstrip": return PyString.Strip(s, OptionalString(a.Get(0, "chars", null), "rstrip"), false, true);
                case "split": return PyString.Split(s, OptionalString(a.Get(0, "sep", null), "split"), OptionalInt(a.Get(1, "maxsplit", null), -1));
                case "rsplit": return PyString.RSplit(s, OptionalString(a.Get(0, "sep", null), "rsplit"), OptionalInt(a.Get(1, "maxsplit", null), -1));
                case "splitlines": return new PyList(PyString.SplitLines(s).ConvertAll(x => (object?)x));
                case "startswith":
                case "endswith":
                {
                    object? affix = a.Get(0, "prefix", null);
                    string subject = s;
                    if (a.Has(1, "start"))
                    {
                        int from = PyString.CharIndex(s, OptionalInt(a.Get(1, "start", null), 0));
                        int to = a.Has(2, "end") ? PyString.CharIndex(s, OptionalInt(a.Get(2, "end", null), s.Length)) : s.Length;
                        subject = to > from ? s.Substring(from, to - from) : "";
                    }
                    var candidates = affix is PyList tuple && tuple.IsTuple ? tuple : new PyList { affix };
                    foreach (object? c in candidates)
                    {
                        string text = RequireString(c, name);
                        bool hit = name == "startswith" ? subject.StartsWith(text, StringComparison.Ordinal) : subject.EndsWith(text, StringComparison.Ordinal);
                        if (hit) return true;
                    }
                    return false;
                }
                case "replace":
                {
                    string old = RequireString(a.Get(0, "old", null), "replace"), replacement = RequireString(a.Get(1, "new", null), "replace");
                    return Replace(s, old, replacement, OptionalInt(a.Get(2, "count", null), -1));
                }
                case "upper": return PyString.Upper(s);
                case "lower": return PyString.Lower(s);
                case "title": return PyString.Title(s);
                case "capitalize": return PyString.Capitalize(s);
                case "swapcase":
                {
                    var sb = new StringBuilder(s.Length);
                    foreach (char c in s) sb.Append(char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
                    return sb.ToString();
                }
                case "find":
                case "index":
                {
                    int at = s.IndexOf(RequireString(a.Get(0, "sub", null), name), StringComparison.Ordinal);
                    if (at < 0 && name == "index") throw new TemplateError("substring not found");
                    return (long)(at < 0 ? -1 : PyString.Length(s.Substring(0, at)));
                }
                case "rfind":
                case "rindex":
                {
                    int at = s.LastIndexOf(RequireString(a.Get(0, "sub", null), name), StringComparison.Ordinal);
                    if (at < 0 && name == "rindex") throw new TemplateError("substring not found");
                    return (long)(at < 0 ? -1 : PyString.Length(s.Substring(0, at)));
                }
                case "count":
                {
                    string sub = RequireString(a.Get(0, "sub", null), "count");
                    if (sub.Length == 0) return (long)(PyString.Length(s) + 1);
                    long n = 0;
                    for (int at = s.IndexOf(sub, StringComparison.Ordinal); at >= 0; at = s.IndexOf(sub, at + sub.Length, StringComparison.Ordinal)) n++;
                    return n;
                }
                case "join":
                {
                    var sb = new StringBuilder();
                    bool first = true;
                    foreach (object? item in PyOps.Iterate(a.Get(0, "iterable", null)))
                    {
                        if (!first) sb.Append(s);
                        first = false;
                        if (!(item is string text)) throw new TemplateError($"sequence item: expected str instance, {PyOps.TypeName(item)} found");
                        sb.Append(text);
                    }
                    return sb.ToString();
                }
                case "isdigit":
                case "isnumeric":
                case "isdecimal": return s.Length > 0 && All(s, char.IsDigit);
                case "isalpha": return s.Length > 0 && All(s, char.IsLetter);
                case "isalnum": return s.Length > 0 && All(s, char.IsLetterOrDigit);
                case "isspace": return s.Length > 0 && All(s, PyString.IsSpace);
                case "isupper": return HasCased(s) && !Any(s, char.IsLower);
                case "islower": return HasCased(s) && !Any(s, char.IsUpper);
                case "istitle": return HasCased(s) && PyString.Title(s) == s;
                case "center":
                case "ljust":
                case "rjust":
                {
                    int width = (int)OptionalInt(a.Get(0, "width", null), 0);
                    string fill = a.Has(1, "fillchar") ? RequireString(a.Get(1, "fillchar", null), name) : " ";
                    int pad = width - PyString.Length(s);
                    if (pad <= 0) return s;
                    if (name == "ljust") return s + Repeat(fill, pad);
                    if (name == "rjust") return Repeat(fill, pad) + s;
                    int left = pad / 2 + (pad & width & 1);
                    return Repeat(fill, left) + s + Repeat(fill, pad - left);
                }
                case "zfill":
                {
                    int width = (int)OptionalInt(a.Get(0, "width", null), 0);
                    int pad = width - PyString.Length(s);
                    if (pad <= 0) return s;
                    bool signed = s.Length > 0 && (s[0] == '-' || s[0] == '+');
                    return signed ? s[0] + Repeat("0", pad) + s.Substring(1) : Repeat("0", pad) + s;
                }
                case "removeprefix":
                {
                    string prefix = RequireString(a.Get(0, "prefix", null), name);
                    return s.StartsWith(prefix, StringComparison.Ordinal) ? s.Substring(prefix.Length) : s;
                }
                case "removesuffix":
                {
                    string suffix = RequireString(a.Get(0, "suffix", null), name);
                    return suffix.Length > 0 && s.EndsWith(suffix, StringComparison.Ordinal) ? s.Substring(0, s.Length - suffix.Length) : s;
                }
                case "partition":
                case "rpartition":
                {
                    string sep = RequireString(a.Get(0, "sep", null), name);
                    int at = name == "partition" ? s.IndexOf(sep, StringComparison.Ordinal) : s.LastIndexOf(sep, StringComparison.Ordinal);
                    if (at < 0) return name == "partition" ? PyList.Tuple(s, "", "") : PyList.Tuple("", "", s);
                    return PyList.Tuple(s.Substring(0, at), sep, s.Substring(at + sep.Length));
                }
                case "format": return Format(s, a);
                default: throw new TemplateError($"'str' object has no attribute '{name}'");
            }
        }

        private static bool All(string s, Func<char, bool> predicate)
        {
            foreach (char c in s)
            {
                if (!predicate(c)) return false;
            }
            return true;
        }

        private static bool Any(string s, Func<char, bool> predicate) => !All(s, c => !predicate(c));

        private static bool HasCased(string s) => Any(s, c => char.IsUpper(c) || char.IsLower(c));

        private static string Repeat(string s, int times)
        {
            var sb = new StringBuilder();
            for (int i = 0; i < times; i++) sb.Append(s);
            return sb.ToString();
        }

        public static string Replace(string s, string old, string replacement, long count)
        {
            if (count < 0) return old.Length == 0 ? InsertEverywhere(s, replacement) : s.Replace(old, replacement);
            var sb = new StringBuilder();
            int pos = 0;
            for (long n = 0; n < count; n++)
            {
                int at = old.Length == 0 ? (pos <= s.Length ? pos : -1) : s.IndexOf(old, pos, StringComparison.Ordinal);
                if (at < 0) break;
                sb.Append(s, pos, at - pos).Append(replacement);
                if (old.Length == 0)
                {
                    if (at < s.Length) sb.Append(s[at]);
                    pos = at + 1;
                }
                else
                {
                    pos = at + old.Length;
                }
            }
            if (pos < s.Length) sb.Append(s, pos, s.Length - pos);
            return sb.ToString();
        }

        private static string InsertEverywhere(string s, string insert)
        {
            var sb = new StringBuilder(insert);
            foreach (string cp in PyString.CodePoints(s)) sb.Append(cp).Append(insert);
            return sb.ToString();
        }

        /// <summary><c>str.format</c> with <c>{}</c>, <c>{0}</c> and <c>{name}</c> fields (no format specs).</summary>
        private static string Format(string s, CallArgs a)
        {
            var sb = new StringBuilder();
            int auto = 0;
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                if (c == '{' && i + 1 < s.Length && s[i + 1] == '{')
                {
                    sb.Append('{');
                    i++;
                    continue;
                }
                if (c == '}' && i + 1 < s.Length && s[i + 1] == '}')
                {
                    sb.Append('}');
                    i++;
                    continue;
                }
                if (c != '{')
                {
                    sb.Append(c);
                    continue;
                }
                int close = s.IndexOf('}', i);
                if (close < 0) throw new TemplateError("Single '{' encountered in format string");
                string field = s.Substring(i + 1, close - i - 1);
                object? value;
                if (field.Length == 0) value = a.Get(auto++, "\0", Undefined.Anonymous);
                else if (int.TryParse(field, out int index)) value = a.Get(index, "\0", Undefined.Anonymous);
                else value = a.Get(-1, field, Undefined.Anonymous);
                if (value is Undefined) throw new TemplateError($"format field '{field}' has no argument");
                sb.Append(PyOps.Str(value));
                i = close;
            }
            return sb.ToString();
        }

        private static object? CallDict(PyDict d, string name, CallArgs a)
        {
            switch (name)
            {
                case "items":
                    var items = new PyList();
                    foreach (var kv in d) items.Add(PyList.Tuple(kv.Key, kv.Value));
                    return items;
                case "keys":
                    var keys = new PyList();
                    foreach (object k in d.Keys) keys.Add(k);
                    return keys;
                case "values":
                    var values = new PyList();
                    foreach (var kv in d) values.Add(kv.Value);
                    return values;
                case "get":
                    object? key = a.Get(0, "key", null);
                    object? fallback = a.Get(1, "default", null);
                    return key != null && !(key is Undefined) && d.TryGetValue(key, out object? v) ? v : fallback;
                case "copy":
                    var copy = new PyDict();
                    foreach (var kv in d) copy[kv.Key] = kv.Value;
                    return copy;
                default: throw new TemplateError($"'dict' object has no attribute '{name}'");
            }
        }

        private static object? CallList(PyList l, string name, CallArgs a)
        {
            switch (name)
            {
                case "index":
                    object? x = a.Get(0, "value", null);
                    for (int i = 0; i < l.Count; i++)
                    {
                        if (PyOps.Equal(l[i], x)) return (long)i;
                    }
                    throw new TemplateError(PyOps.Repr(x) + " is not in list");
                case "count":
                    long n = 0;
                    foreach (object? item in l)
                    {
                        if (PyOps.Equal(item, a.Get(0, "value", null))) n++;
                    }
                    return n;
                case "copy":
                    return new PyList(l) { IsTuple = l.IsTuple };
                default: throw new TemplateError($"'list' object has no attribute '{name}'");
            }
        }
    }
}
