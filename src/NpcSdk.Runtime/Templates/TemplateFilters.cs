using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace NpcSdk.Templates
{
    /// <summary>Jinja2's built-in filters (as its <c>filters.py</c> defines them), with transformers' <c>tojson</c>.</summary>
    internal static class TemplateFilters
    {
        public static object? Apply(TemplateRenderer r, string name, object? value, CallArgs a)
        {
            switch (name)
            {
                case "abs":
                    if (value is long l) return Math.Abs(l);
                    if (value is double d) return Math.Abs(d);
                    if (value is bool b) return b ? 1L : 0L;
                    throw new TemplateError($"bad operand type for abs(): '{PyOps.TypeName(value)}'");
                case "attr":
                {
                    // Python's getattr only: a dict's keys are not attributes.
                    string attribute = PyOps.Str(a.Get(0, "name", ""));
                    object? found = PyMembers.GetAttribute(value, attribute);
                    if (value is PyDict dict && dict.TryGetValue(attribute, out object? item) && ReferenceEquals(found, item)) return new Undefined($"'dict object' has no attribute '{attribute}'");
                    return found;
                }
                case "capitalize":
                    return PyString.Capitalize(PyOps.Str(value));
                case "center":
                {
                    string s = PyOps.Str(value);
                    int width = (int)(PyOps.AsInteger(a.Get(0, "width", 80L)) ?? 80);
                    int pad = width - PyString.Length(s);
                    if (pad <= 0) return s;
                    int left = pad / 2 + (pad & width & 1);
                    return new string(' ', left) + s + new string(' ', pad - left);
                }
                case "count":
                case "length":
                    return PyOps.Length(value);
                case "d":
                case "default":
                {
                    object? fallback = a.Get(0, "default_value", "");
                    bool boolean = PyOps.IsTrue(a.Get(1, "boolean", false));
                    if (value is Undefined || (boolean && !PyOps.IsTrue(value))) return fallback;
                    return value;
                }
                case "dictsort":
                    return DictSort(value, a);
                case "e":
                case "escape":
                case "forceescape":
                    return Escape(PyOps.Str(value));
                case "first":
                {
                    PyList items = PyOps.Iterate(value);
                    return items.Count > 0 ? items[0] : new Undefined("No first item, sequence was empty.");
                }
                case "float":
                    return ToFloat(value, a.Get(0, "default", 0.0));
                case "format":
                {
                    var args = new PyList(a.Positional) { IsTuple = true };
                    return PyOps.PercentFormat(PyOps.Str(value), args);
                }
                case "indent":
                    return Indent(PyOps.Str(value), a.Get(0, "width", 4L), PyOps.IsTrue(a.Get(1, "first", false)), PyOps.IsTrue(a.Get(2, "blank", false)));
                case "int":
                    return ToInt(value, a.Get(0, "default", 0L), PyOps.AsInteger(a.Get(1, "base", 10L)) ?? 10);
                case "items":
                {
                    if (value is Undefined) return new PyList();
                    if (!(value is PyDict dict)) throw new TemplateError("Can only get item pairs from a mapping.");
                    var pairs = new PyList();
                    foreach (var kv in dict) pairs.Add(PyList.Tuple(kv.Key, kv.Value));
                    return pairs;
                }
                case "join":
                {
                    string separator = PyOps.Str(a.Get(0, "d", ""));
                    object? attribute = a.Get(1, "attribute", null);
                    var sb = new StringBuilder();
                    bool first = true;
                    foreach (object? item in PyOps.Iterate(value))
                    {
                        if (!first) sb.Append(separator);
                        first = false;
                        sb.Append(PyOps.Str(attribute == null ? item : GetPath(item, attribute)));
                    }
                    return sb.ToString();
                }
                case "last":
                {
                    PyList items = PyOps.Iterate(value);
                    return items.Count > 0 ? items[items.Count - 1] : new Undefined("No last item, sequence was empty.");
                }
                case "list":
                    return new PyList(PyOps.Iterate(value));
                case "lower":
                    return PyString.Lower(PyOps.Str(value));
                case "map":
                    return Map(r, value, a);
                case "max":
                case "min":
                    return MinMax(value, a, name == "max");
                case "reject":
                case "select":
                    return Select(r, value, a, attributeMode: false, keep: name == "select");
                case "rejectattr":
                case "selectattr":
                    return Select(r, value, a, attributeMode: true, keep: name == "selectattr");
                case "replace":
                {
                    string s = PyOps.Str(value);
                    long count = PyOps.AsInteger(a.Get(2, "count", null)) ?? -1;
                    return PyMembers.Replace(s, PyOps.Str(a.Get(0, "old", "")), PyOps.Str(a.Get(1, "new", "")), count);
                }
                case "reverse":
                {
                    if (value is string s)
                    {
                        var chars = new List<string>(PyString.CodePoints(s));
                        chars.Reverse();
                        return string.Concat(chars);
                    }
                    var reversed = new PyList(PyOps.Iterate(value));
                    reversed.Reverse();
                    return reversed;
                }
                case "round":
                    return Round(value, a);
                case "safe":
                    return value;
                case "sort":
                    return Sort(value, a);
                case "string":
                    return PyOps.Str(value);
                case "sum":
                {
                    object? attribute = a.Get(0, "attribute", null);
                    object? total = a.Get(1, "start", 0L);
                    foreach (object? item in PyOps.Iterate(value)) total = PyOps.Add(total, attribute == null ? item : GetPath(item, attribute));
                    return total;
                }
                case "title":
                    return JinjaTitle(PyOps.Str(value));
                case "tojson":
                    return ToJson(value, a);
                case "trim":
                    return PyString.Strip(PyOps.Str(value), a.Get(0, "chars", null) is string trimChars ? trimChars : null, true, true);
                case "truncate":
                    return Truncate(PyOps.Str(value), a);
                case "unique":
                {
                    bool caseSensitive = PyOps.IsTrue(a.Get(0, "case_sensitive", false));
                    object? attribute = a.Get(1, "attribute", null);
                    var seen = new List<object?>();
                    var result = new PyList();
                    foreach (object? item in PyOps.Iterate(value))
                    {
                        object? key = SortKey(attribute == null ? item : GetPath(item, attribute), caseSensitive);
                        if (seen.Exists(x => PyOps.Equal(x, key))) continue;
                        seen.Add(key);
                        result.Add(item);
                    }
                    return result;
                }
                case "upper":
                    return PyString.Upper(PyOps.Str(value));
                case "wordcount":
                    return (long)PyString.Split(PyOps.Str(value), null, -1).Count;
                default:
                    throw new TemplateError($"No filter named '{name}'.");
            }
        }

        private static readonly HashSet<string> Names = new HashSet<string>(StringComparer.Ordinal)
        {
            "abs", "attr", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
            "forceescape", "format", "indent", "int", "items", "join", "last", "length", "list", "lower", "map", "max",
            "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "sort",
            "string", "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "wordcount",
        };

        public static bool Exists(string name) => Names.Contains(name);

        /// <summary>An attribute path as Jinja's attrgetter reads it: "a.b.0", item first then attribute.</summary>
        public static object? GetPath(object? item, object? attribute)
        {
            if (PyOps.AsInteger(attribute) is long index) return PyMembers.GetItem(item, index);
            foreach (string part in PyOps.Str(attribute).Split('.'))
            {
                object key = long.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out long n) ? n : (object)part;
                item = PyMembers.GetItem(item, key);
            }
            return item;
        }

        private static string Escape(string s) =>
            s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&#34;").Replace("'", "&#39;");

        /// <summary>Jinja's <c>title</c> filter: capitalizes words split at whitespace, '-', and opening brackets.</summary>
        private static string JinjaTitle(string s)
        {
            var sb = new StringBuilder();
            int i = 0;
            while (i < s.Length)
            {
                int start = i;
                while (i < s.Length && IsTitleSeparator(s[i])) i++;
                sb.Append(s, start, i - start);
                start = i;
                while (i < s.Length && !IsTitleSeparator(s[i])) i++;
                if (i > start) sb.Append(PyString.Capitalize(s.Substring(start, i - start)));
            }
            return sb.ToString();
        }

        private static bool IsTitleSeparator(char c) => c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || PyString.IsSpace(c);

        private static string Indent(string s, object? width, bool first, bool blank)
        {
            string indention = width is string w ? w : new string(' ', (int)(PyOps.AsInteger(width) ?? 4));
            List<string> lines = PyString.SplitLines(s + "\n");
            var sb = new StringBuilder();
            if (blank)
            {
                sb.Append(string.Join("\n" + indention, lines));
            }
            else
            {
                sb.Append(lines[0]);
                for (int i = 1; i < lines.Count; i++)
                {
                    sb.Append('\n');
                    if (lines[i].Length > 0) sb.Append(indention);
                    sb.Append(lines[i]);
                }
            }
            return first ? indention + sb : sb.ToString();
        }

        private static object? ToInt(object? value, object? fallback, long numberBase)
        {
            switch (value)
            {
                case long l: return l;
                case bool b: return b ? 1L : 0L;
                case double d: return double.IsNaN(d) || double.IsInfinity(d) ? fallback : (object)(long)Math.Truncate(d);
                case string s:
                    string t = s.Trim().Replace("_", "");
                    try
                    {
                        if (numberBase == 10 && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long parsed)) return parsed;
                        if (numberBase != 10 && t.Length > 0) return Convert.ToInt64(t, (int)numberBase);
                    }
                    catch (Exception e) when (e is FormatException || e is ArgumentException || e is OverflowException)
                    {
                        return fallback;
                    }
                    if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double asFloat) && !double.IsInfinity(asFloat)) return (long)Math.Truncate(asFloat);
                    return fallback;
                default: return fallback;
            }
        }

        private static object? ToFloat(object? value, object? fallback)
        {
            switch (value)
            {
                case long l: return (double)l;
                case double d: return d;
                case bool b: return b ? 1.0 : 0.0;
                case string s:
                    string t = s.Trim();
                    if (t == "inf" || t == "+inf" || t == "infinity") return double.PositiveInfinity;
                    if (t == "-inf" || t == "-infinity") return double.NegativeInfinity;
                    if (t == "nan") return double.NaN;
                    return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed) ? parsed : fallback;
                default: return fallback;
            }
        }

        private static object? Round(object? value, CallArgs a)
        {
            int precision = (int)(PyOps.AsInteger(a.Get(0, "precision", 0L)) ?? 0);
            string method = PyOps.Str(a.Get(1, "method", "common"));
            double x = PyOps.AsDouble(value) ?? throw new TemplateError($"type {PyOps.TypeName(value)} doesn't define __round__ method");
            double scale = Math.Pow(10, precision);
            switch (method)
            {
                case "common": return precision >= 0 && precision <= 15 ? Math.Round(x, precision, MidpointRounding.ToEven) : Math.Round(x * scale, MidpointRounding.ToEven) / scale;
                case "ceil": return Math.Ceiling(x * scale) / scale;
                case "floor": return Math.Floor(x * scale) / scale;
                default: throw new TemplateError("method must be common, ceil or floor");
            }
        }

        private static string Truncate(string s, CallArgs a)
        {
            int length = (int)(PyOps.AsInteger(a.Get(0, "length", 255L)) ?? 255);
            bool killwords = PyOps.IsTrue(a.Get(1, "killwords", false));
            string end = PyOps.Str(a.Get(2, "end", "..."));
            int leeway = (int)(PyOps.AsInteger(a.Get(3, "leeway", 5L)) ?? 5);
            if (PyString.Length(s) <= length + leeway) return s;
            string head = PyString.Slice(s, 0, length - PyString.Length(end), null);
            if (killwords) return head + end;
            int space = head.LastIndexOf(' ');
            return (space >= 0 ? head.Substring(0, space) : head) + end;
        }

        private static object? SortKey(object? v, bool caseSensitive) => !caseSensitive && v is string s ? PyString.Lower(s) : v;

        private static PyList Sort(object? value, CallArgs a)
        {
            bool reverse = PyOps.IsTrue(a.Get(0, "reverse", false));
            bool caseSensitive = PyOps.IsTrue(a.Get(1, "case_sensitive", false));
            object? attribute = a.Get(2, "attribute", null);
            var items = new List<object?>(PyOps.Iterate(value));
            var keys = items.ConvertAll(x => SortKey(attribute == null ? x : GetPath(x, attribute), caseSensitive));
            return new PyList(StableSort(items, keys, reverse));
        }

        private static List<object?> StableSort(List<object?> items, List<object?> keys, bool reverse)
        {
            var order = new List<int>();
            for (int i = 0; i < items.Count; i++) order.Add(i);
            // Insertion-stable merge via List.Sort with the index as tie-breaker.
            order.Sort((x, y) =>
            {
                int c = PyOps.Compare(keys[x], keys[y], "<");
                if (reverse) c = -c;
                return c != 0 ? c : x.CompareTo(y);
            });
            return order.ConvertAll(i => items[i]);
        }

        private static PyList DictSort(object? value, CallArgs a)
        {
            if (!(value is PyDict dict)) throw new TemplateError("You can only sort by either \"key\" or \"value\"");
            bool caseSensitive = PyOps.IsTrue(a.Get(0, "case_sensitive", false));
            string by = PyOps.Str(a.Get(1, "by", "key"));
            bool reverse = PyOps.IsTrue(a.Get(2, "reverse", false));
            var items = new List<object?>();
            var keys = new List<object?>();
            foreach (var kv in dict)
            {
                items.Add(PyList.Tuple(kv.Key, kv.Value));
                keys.Add(SortKey(by == "value" ? kv.Value : kv.Key, caseSensitive));
            }
            return new PyList(StableSort(items, keys, reverse));
        }

        private static object? MinMax(object? value, CallArgs a, bool max)
        {
            bool caseSensitive = PyOps.IsTrue(a.Get(0, "case_sensitive", false));
            object? attribute = a.Get(1, "attribute", null);
            PyList items = PyOps.Iterate(value);
            if (items.Count == 0) return new Undefined($"No aggregated item, sequence was empty.");
            object? best = items[0];
            object? bestKey = SortKey(attribute == null ? best : GetPath(best, attribute), caseSensitive);
            for (int i = 1; i < items.Count; i++)
            {
                object? key = SortKey(attribute == null ? items[i] : GetPath(items[i], attribute), caseSensitive);
                int c = PyOps.Compare(key, bestKey, max ? ">" : "<");
                if (max ? c > 0 : c < 0)
                {
                    best = items[i];
                    bestKey = key;
                }
            }
            return best;
        }

        private static PyList Map(TemplateRenderer r, object? value, CallArgs a)
        {
            var result = new PyList();
            object? attribute = a.Get(-1, "attribute", null);
            if (attribute != null || a.Positional.Count == 0)
            {
                object? fallback = a.Get(-1, "default", Undefined.Anonymous);
                foreach (object? item in PyOps.Iterate(value))
                {
                    object? v = GetPath(item, attribute);
                    result.Add(v is Undefined && !(fallback is Undefined) ? fallback : v);
                }
                return result;
            }
            string filter = PyOps.Str(a.Positional[0]);
            var rest = new CallArgs(a.Positional.GetRange(1, a.Positional.Count - 1), a.Keywords);
            foreach (object? item in PyOps.Iterate(value)) result.Add(Apply(r, filter, item, rest));
            return result;
        }

        private static PyList Select(TemplateRenderer r, object? value, CallArgs a, bool attributeMode, bool keep)
        {
            int next = 0;
            object? attribute = null;
            if (attributeMode) attribute = a.Positional.Count > next ? a.Positional[next++] : throw new TemplateError("Missing parameter for attribute name");
            string? test = a.Positional.Count > next ? PyOps.Str(a.Positional[next++]) : null;
            var testArgs = new CallArgs(a.Positional.GetRange(next, a.Positional.Count - next), a.Keywords);
            var result = new PyList();
            foreach (object? item in PyOps.Iterate(value))
            {
                object? subject = attributeMode ? GetPath(item, attribute) : item;
                bool passed = test == null ? PyOps.IsTrue(subject) : TemplatePredicates.Apply(r, test, subject, testArgs);
                if (passed == keep) result.Add(item);
            }
            return result;
        }

        private static string ToJson(object? value, CallArgs a)
        {
            // transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False) over json.dumps.
            bool ensureAscii = PyOps.IsTrue(a.Get(0, "ensure_ascii", false));
            object? indent = a.Get(1, "indent", null);
            object? separators = a.Get(2, "separators", null);
            bool sortKeys = PyOps.IsTrue(a.Get(3, "sort_keys", false));
            string? indentText = indent switch
            {
                null => null,
                string s => s,
                _ => new string(' ', (int)Math.Max(0, PyOps.AsInteger(indent) ?? 0)),
            };
            string itemSeparator = indentText == null ? ", " : ",", keySeparator = ": ";
            if (separators is PyList seps && seps.Count == 2)
            {
                itemSeparator = PyOps.Str(seps[0]);
                keySeparator = PyOps.Str(seps[1]);
            }
            return PyJson.Serialize(value, ensureAscii, indentText, itemSeparator, keySeparator, sortKeys);
        }
    }
}
