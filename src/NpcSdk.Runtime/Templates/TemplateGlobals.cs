using System;
using System.Globalization;
using System.Text;

namespace NpcSdk.Templates
{
    /// <summary>
    /// The functions every template sees: Jinja2's defaults (<c>range</c>, <c>namespace</c>, <c>dict</c>,
    /// <c>joiner</c>, <c>cycler</c>) plus those transformers adds (<c>raise_exception</c>, <c>strftime_now</c>).
    /// </summary>
    internal static class TemplateGlobals
    {
        /// <summary>Longest list <c>range()</c> may build, so a hostile template cannot exhaust memory.</summary>
        private const long MaxRange = 1_000_000;

        public static Scope Create(Func<DateTime> clock)
        {
            var scope = new Scope(null);
            scope.Set("range", new BuiltinFunction("range", (a, r) => Range(a)));
            scope.Set("namespace", new BuiltinFunction("namespace", (a, r) =>
            {
                var ns = new Namespace();
                foreach (object? init in a.Positional)
                {
                    if (!(init is PyDict d)) throw new TemplateError("namespace() positional argument must be a mapping");
                    foreach (var kv in d) ns.Attributes[kv.Key] = kv.Value;
                }
                foreach (var kv in a.Keywords) ns.Attributes[kv.Key] = kv.Value;
                return ns;
            }));
            scope.Set("dict", new BuiltinFunction("dict", (a, r) =>
            {
                var d = new PyDict();
                foreach (object? init in a.Positional)
                {
                    if (init is PyDict other)
                    {
                        foreach (var kv in other) d[kv.Key] = kv.Value;
                    }
                }
                foreach (var kv in a.Keywords) d[kv.Key] = kv.Value;
                return d;
            }));
            scope.Set("raise_exception", new BuiltinFunction("raise_exception", (a, r) =>
                throw new TemplateRaisedError(PyOps.Str(a.Get(0, "message", "")))));
            scope.Set("strftime_now", new BuiltinFunction("strftime_now", (a, r) =>
                Strftime(clock(), PyOps.Str(a.Get(0, "format", "")))));
            scope.Set("joiner", new BuiltinFunction("joiner", (a, r) =>
            {
                string separator = PyOps.Str(a.Get(0, "sep", ", "));
                bool used = false;
                return new BuiltinFunction("joiner", (x, y) =>
                {
                    if (used) return separator;
                    used = true;
                    return "";
                });
            }));
            return scope;
        }

        private static PyList Range(CallArgs a)
        {
            long start = 0, stop, step = 1;
            long Int(object? v) => PyOps.AsInteger(v) ?? throw new TemplateError($"'{PyOps.TypeName(v)}' object cannot be interpreted as an integer");
            switch (a.Positional.Count)
            {
                case 1: stop = Int(a.Positional[0]); break;
                case 2: start = Int(a.Positional[0]); stop = Int(a.Positional[1]); break;
                case 3: start = Int(a.Positional[0]); stop = Int(a.Positional[1]); step = Int(a.Positional[2]); break;
                default: throw new TemplateError($"range expected 1 to 3 arguments, got {a.Positional.Count}");
            }
            if (step == 0) throw new TemplateError("range() arg 3 must not be zero");
            var list = new PyList();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step)
            {
                if (list.Count >= MaxRange) throw new TemplateError($"range too big, maximum size is {MaxRange}");
                list.Add(i);
            }
            return list;
        }

        /// <summary>Python's <c>datetime.strftime</c> for the C89 directives (English names, as the C locale gives).</summary>
        public static string Strftime(DateTime t, string format)
        {
            var inv = CultureInfo.InvariantCulture;
            var sb = new StringBuilder();
            for (int i = 0; i < format.Length; i++)
            {
                if (format[i] != '%' || i + 1 >= format.Length)
                {
                    sb.Append(format[i]);
                    continue;
                }
                char d = format[++i];
                switch (d)
                {
                    case 'a': sb.Append(t.ToString("ddd", inv)); break;
                    case 'A': sb.Append(t.ToString("dddd", inv)); break;
                    case 'b':
                    case 'h': sb.Append(t.ToString("MMM", inv)); break;
                    case 'B': sb.Append(t.ToString("MMMM", inv)); break;
                    case 'd': sb.Append(t.ToString("dd", inv)); break;
                    case 'e': sb.Append(t.Day.ToString(inv).PadLeft(2)); break;
                    case 'm': sb.Append(t.ToString("MM", inv)); break;
                    case 'y': sb.Append(t.ToString("yy", inv)); break;
                    case 'Y': sb.Append(t.Year.ToString(inv)); break;
                    case 'H': sb.Append(t.ToString("HH", inv)); break;
                    case 'I': sb.Append(t.ToString("hh", inv)); break;
                    case 'M': sb.Append(t.ToString("mm", inv)); break;
                    case 'S': sb.Append(t.ToString("ss", inv)); break;
                    case 'p': sb.Append(t.Hour < 12 ? "AM" : "PM"); break;
                    case 'j': sb.Append(t.DayOfYear.ToString("000", inv)); break;
                    case 'w': sb.Append(((int)t.DayOfWeek).ToString(inv)); break;
                    case 'f': sb.Append((t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", inv)); break;
                    case 'D': sb.Append(t.ToString("MM/dd/yy", inv)); break;
                    case 'F': sb.Append(t.ToString("yyyy-MM-dd", inv)); break;
                    case 'T': sb.Append(t.ToString("HH:mm:ss", inv)); break;
                    case 'Z': break;
                    case 'z': break;
                    case '%': sb.Append('%'); break;
                    default: sb.Append('%').Append(d); break;
                }
            }
            return sb.ToString();
        }
    }
}
