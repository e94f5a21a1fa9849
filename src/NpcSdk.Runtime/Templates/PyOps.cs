using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace NpcSdk.Templates
{
    /// <summary>
    /// Python's semantics for the operations templates perform (truth, str, repr, ==, &lt;, arithmetic, in, len),
    /// so a template renders here exactly as Jinja2 renders it under transformers.
    /// </summary>
    internal static class PyOps
    {
        public static bool IsTrue(object? v)
        {
            switch (v)
            {
                case null: return false;
                case Undefined _: return false;
                case bool b: return b;
                case long l: return l != 0;
                case double d: return d != 0;
                case string s: return s.Length != 0;
                case PyList list: return list.Count != 0;
                case PyDict dict: return dict.Count != 0;
                default: return true;
            }
        }

        public static string TypeName(object? v)
        {
            switch (v)
            {
                case null: return "NoneType";
                case Undefined _: return "Undefined";
                case bool _: return "bool";
                case long _: return "int";
                case double _: return "float";
                case string _: return "str";
                case PyList list: return list.IsTuple ? "tuple" : "list";
                case PyDict _: return "dict";
                case Namespace _: return "Namespace";
                case LoopInfo _: return "LoopContext";
                case TemplateCallable _: return "function";
                default: return v.GetType().Name;
            }
        }

        /// <summary>Python's <c>str()</c>; Undefined is empty.</summary>
        public static string Str(object? v)
        {
            switch (v)
            {
                case string s: return s;
                case Undefined _: return "";
                case null: return "None";
                case bool b: return b ? "True" : "False";
                case long l: return l.ToString(CultureInfo.InvariantCulture);
                case double d: return FormatFloat(d);
                default: return Repr(v);
            }
        }

        /// <summary>Python's <c>repr()</c>.</summary>
        public static string Repr(object? v)
        {
            var sb = new StringBuilder();
            AppendRepr(sb, v);
            return sb.ToString();
        }

        private static void AppendRepr(StringBuilder sb, object? v)
        {
            switch (v)
            {
                case string s:
                    AppendStringRepr(sb, s);
                    return;
                case PyList list:
                    sb.Append(list.IsTuple ? '(' : '[');
                    for (int i = 0; i < list.Count; i++)
                    {
                        if (i > 0) sb.Append(", ");
                        AppendRepr(sb, list[i]);
                    }
                    if (list.IsTuple && list.Count == 1) sb.Append(',');
                    sb.Append(list.IsTuple ? ')' : ']');
                    return;
                case PyDict dict:
                    sb.Append('{');
                    bool first = true;
                    foreach (var kv in dict)
                    {
                        if (!first) sb.Append(", ");
                        first = false;
                        AppendRepr(sb, kv.Key);
                        sb.Append(": ");
                        AppendRepr(sb, kv.Value);
                    }
                    sb.Append('}');
                    return;
                case Namespace ns:
                    sb.Append("<Namespace ");
                    AppendRepr(sb, ns.Attributes);
                    sb.Append('>');
                    return;
                case TemplateCallable c:
                    sb.Append("<function ").Append(c.Name).Append('>');
                    return;
                case Undefined _:
                    sb.Append("Undefined");
                    return;
                case LoopInfo _:
                    sb.Append("<LoopContext>");
                    return;
                default:
                    sb.Append(Str(v));
                    return;
            }
        }

        private static void AppendStringRepr(StringBuilder sb, string s)
        {
            char quote = s.IndexOf('\'') >= 0 && s.IndexOf('"') < 0 ? '"' : '\'';
            sb.Append(quote);
            foreach (char c in s)
            {
                switch (c)
                {
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    default:
                        if (c == quote) sb.Append('\\').Append(c);
                        else if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append(quote);
        }

        /// <summary>Python's <c>repr(float)</c>: shortest round-trip digits, exponent form outside [1e-4, 1e16).</summary>
        public static string FormatFloat(double d)
        {
            if (double.IsNaN(d)) return "nan";
            if (double.IsPositiveInfinity(d)) return "inf";
            if (double.IsNegativeInfinity(d)) return "-inf";
            if (d == 0) return 1 / d < 0 ? "-0.0" : "0.0";
            string r = Math.Abs(d).ToString("R", CultureInfo.InvariantCulture);
            int exp = 0;
            int ePos = r.IndexOfAny(new[] { 'E', 'e' });
            string mantissa = r;
            if (ePos >= 0)
            {
                exp = int.Parse(r.Substring(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                mantissa = r.Substring(0, ePos);
            }
            int dot = mantissa.IndexOf('.');
            string intPart = dot < 0 ? mantissa : mantissa.Substring(0, dot);
            string digits = intPart + (dot < 0 ? "" : mantissa.Substring(dot + 1));
            int point = intPart.Length + exp; // value = 0.<digits> * 10^point
            int lead = 0;
            while (lead < digits.Length - 1 && digits[lead] == '0') lead++;
            digits = digits.Substring(lead);
            point -= lead;
            digits = digits.TrimEnd('0');
            if (digits.Length == 0) digits = "0";
            int exp10 = point - 1;
            var sb = new StringBuilder();
            if (d < 0) sb.Append('-');
            if (exp10 < -4 || exp10 >= 16)
            {
                sb.Append(digits[0]);
                if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
                sb.Append('e').Append(exp10 < 0 ? '-' : '+').Append(Math.Abs(exp10).ToString("00", CultureInfo.InvariantCulture));
            }
            else if (point <= 0)
            {
                sb.Append("0.").Append('0', -point).Append(digits);
            }
            else if (point >= digits.Length)
            {
                sb.Append(digits).Append('0', point - digits.Length).Append(".0");
            }
            else
            {
                sb.Append(digits, 0, point).Append('.').Append(digits, point, digits.Length - point);
            }
            return sb.ToString();
        }

        private static bool IsNumber(object? v) => v is long || v is double || v is bool;

        private static double ToDouble(object? v) => v switch
        {
            long l => l,
            double d => d,
            bool b => b ? 1 : 0,
            _ => throw new InvalidOperationException(),
        };

        private static long ToLong(object? v) => v switch
        {
            long l => l,
            bool b => b ? 1 : 0,
            _ => throw new InvalidOperationException(),
        };

        private static bool IsInt(object? v) => v is long || v is bool;

        public static bool Equal(object? a, object? b)
        {
            if (a == null || b == null) return a == null && b == null;
            if (IsNumber(a) && IsNumber(b))
            {
                if (IsInt(a) && IsInt(b)) return ToLong(a) == ToLong(b);
                return ToDouble(a) == ToDouble(b);
            }
            switch (a)
            {
                case string sa: return b is string sb && string.Equals(sa, sb, StringComparison.Ordinal);
                case Undefined _: return b is Undefined;
                case PyList la:
                    if (!(b is PyList lb) || la.IsTuple != lb.IsTuple || la.Count != lb.Count) return false;
                    for (int i = 0; i < la.Count; i++)
                    {
                        if (!Equal(la[i], lb[i])) return false;
                    }
                    return true;
                case PyDict da:
                    if (!(b is PyDict db) || da.Count != db.Count) return false;
                    foreach (var kv in da)
                    {
                        if (!db.TryGetValue(kv.Key, out object? other) || !Equal(kv.Value, other)) return false;
                    }
                    return true;
                default: return ReferenceEquals(a, b);
            }
        }

        /// <summary>Python's ordering (&lt;): numbers, strings by code point, lists lexicographically.</summary>
        public static int Compare(object? a, object? b, string op)
        {
            if (IsNumber(a) && IsNumber(b))
            {
                if (IsInt(a) && IsInt(b)) return ToLong(a).CompareTo(ToLong(b));
                return ToDouble(a).CompareTo(ToDouble(b));
            }
            if (a is string sa && b is string sb) return CompareCodePoints(sa, sb);
            if (a is PyList la && b is PyList lb && la.IsTuple == lb.IsTuple)
            {
                for (int i = 0; i < la.Count && i < lb.Count; i++)
                {
                    if (!Equal(la[i], lb[i])) return Compare(la[i], lb[i], op);
                }
                return la.Count.CompareTo(lb.Count);
            }
            if (a is Undefined ua) throw new TemplateError(ua.Message);
            if (b is Undefined ub) throw new TemplateError(ub.Message);
            throw new TemplateError($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
        }

        private static int CompareCodePoints(string a, string b)
        {
            int i = 0;
            while (i < a.Length && i < b.Length)
            {
                int ca = PyString.CodePointAt(a, i), cb = PyString.CodePointAt(b, i);
                if (ca != cb) return ca.CompareTo(cb);
                i += ca > 0xFFFF ? 2 : 1;
            }
            return (a.Length - i).CompareTo(b.Length - i);
        }

        private static TemplateError Unsupported(string op, object? a, object? b)
        {
            if (a is Undefined ua) return new TemplateError(ua.Message);
            if (b is Undefined ub) return new TemplateError(ub.Message);
            return new TemplateError($"unsupported operand type(s) for {op}: '{TypeName(a)}' and '{TypeName(b)}'");
        }

        public static object? Add(object? a, object? b)
        {
            if (IsNumber(a) && IsNumber(b))
            {
                if (IsInt(a) && IsInt(b)) return ToLong(a) + ToLong(b);
                return ToDouble(a) + ToDouble(b);
            }
            if (a is string sa && b is string sb) return sa + sb;
            if (a is PyList la && b is PyList lb && la.IsTuple == lb.IsTuple)
            {
                var result = new PyList(la) { IsTuple = la.IsTuple };
                result.AddRange(lb);
                return result;
            }
            throw Unsupported("+", a, b);
        }

        public static object? Subtract(object? a, object? b)
        {
            if (IsNumber(a) && IsNumber(b))
            {
                if (IsInt(a) && IsInt(b)) return ToLong(a) - ToLong(b);
                return ToDouble(a) - ToDouble(b);
            }
            throw Unsupported("-", a, b);
        }

        public static object? Multiply(object? a, object? b)
        {
            if (IsNumber(a) && IsNumber(b))
            {
                if (IsInt(a) && IsInt(b)) return ToLong(a) * ToLong(b);
                return ToDouble(a) * ToDouble(b);
            }
            if (IsInt(b) && (a is string || a is PyList)) return Repeat(a!, ToLong(b));
            if (IsInt(a) && (b is string || b is PyList)) return Repeat(b!, ToLong(a));
            throw Unsupported("*", a, b);
        }

        private static object Repeat(object seq, long times)
        {
            if (times > 1_000_000) throw new TemplateError("repetition count too large");
            if (seq is string s)
            {
                var sb = new StringBuilder();
                for (long i = 0; i < times; i++) sb.Append(s);
                return sb.ToString();
            }
            var list = (PyList)seq;
            var result = new PyList { IsTuple = list.IsTuple };
            for (long i = 0; i < times; i++) result.AddRange(list);
            return result;
        }

        public static object? Divide(object? a, object? b)
        {
            if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("/", a, b);
            double divisor = ToDouble(b);
            if (divisor == 0) throw new TemplateError("division by zero");
            return ToDouble(a) / divisor;
        }

        public static object? FloorDivide(object? a, object? b)
        {
            if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("//", a, b);
            if (IsInt(a) && IsInt(b))
            {
                long x = ToLong(a), y = ToLong(b);
                if (y == 0) throw new TemplateError("integer division or modulo by zero");
                long q = x / y;
                if ((x % y != 0) && ((x < 0) != (y < 0))) q--;
                return q;
            }
            double divisor = ToDouble(b);
            if (divisor == 0) throw new TemplateError("float floor division by zero");
            return Math.Floor(ToDouble(a) / divisor);
        }

        public static object? Modulo(object? a, object? b)
        {
            if (a is string format) return PercentFormat(format, b);
            if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("%", a, b);
            if (IsInt(a) && IsInt(b))
            {
                long x = ToLong(a), y = ToLong(b);
                if (y == 0) throw new TemplateError("integer division or modulo by zero");
                long m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) m += y;
                return m;
            }
            double dx = ToDouble(a), dy = ToDouble(b);
            if (dy == 0) throw new TemplateError("float modulo");
            double r = dx % dy;
            if (r != 0 && ((r < 0) != (dy < 0))) r += dy;
            return r;
        }

        public static object? Power(object? a, object? b)
        {
            if (!IsNumber(a) || !IsNumber(b)) throw Unsupported("**", a, b);
            if (IsInt(a) && IsInt(b) && ToLong(b) >= 0)
            {
                long result = 1, x = ToLong(a);
                for (long e = ToLong(b); e > 0; e--) result = checked(result * x);
                return result;
            }
            return Math.Pow(ToDouble(a), ToDouble(b));
        }

        public static object? Negate(object? a)
        {
            switch (a)
            {
                case long l: return -l;
                case double d: return -d;
                case bool b: return b ? -1L : 0L;
                case Undefined u: throw new TemplateError(u.Message);
                default: throw new TemplateError($"bad operand type for unary -: '{TypeName(a)}'");
            }
        }

        /// <summary>printf-style <c>'%s' % value</c> for the conversions templates use (%s %r %d %i %f %%).</summary>
        public static string PercentFormat(string format, object? values)
        {
            var args = values is PyList t && t.IsTuple ? t : new PyList { values };
            var sb = new StringBuilder();
            int next = 0;
            for (int i = 0; i < format.Length; i++)
            {
                char c = format[i];
                if (c != '%' || i + 1 >= format.Length)
                {
                    sb.Append(c);
                    continue;
                }
                char spec = format[++i];
                if (spec == '%')
                {
                    sb.Append('%');
                    continue;
                }
                if (next >= args.Count) throw new TemplateError("not enough arguments for format string");
                object? arg = args[next++];
                switch (spec)
                {
                    case 's': sb.Append(Str(arg)); break;
                    case 'r': sb.Append(Repr(arg)); break;
                    case 'd':
                    case 'i':
                        if (!IsNumber(arg)) throw new TemplateError($"%{spec} format: a real number is required, not {TypeName(arg)}");
                        sb.Append(((long)Math.Truncate(ToDouble(arg))).ToString(CultureInfo.InvariantCulture));
                        break;
                    case 'f':
                        if (!IsNumber(arg)) throw new TemplateError($"%f format: a real number is required, not {TypeName(arg)}");
                        sb.Append(ToDouble(arg).ToString("F6", CultureInfo.InvariantCulture));
                        break;
                    default: throw new TemplateError($"unsupported format character '{spec}'");
                }
            }
            if (next < args.Count) throw new TemplateError("not all arguments converted during string formatting");
            return sb.ToString();
        }

        /// <summary>Python's <c>in</c>.</summary>
        public static bool Contains(object? container, object? item)
        {
            switch (container)
            {
                case string s:
                    if (item is string sub) return s.IndexOf(sub, StringComparison.Ordinal) >= 0;
                    throw new TemplateError($"'in <string>' requires string as left operand, not {TypeName(item)}");
                case PyList list:
                    foreach (object? x in list)
                    {
                        if (Equal(x, item)) return true;
                    }
                    return false;
                case PyDict dict: return item != null && !(item is Undefined) && dict.ContainsKey(item);
                case Namespace ns: return item != null && ns.Attributes.ContainsKey(item);
                case Undefined _: return false;
                default: throw new TemplateError($"argument of type '{TypeName(container)}' is not iterable");
            }
        }

        /// <summary>Python's <c>len()</c>; Undefined has length 0.</summary>
        public static long Length(object? v)
        {
            switch (v)
            {
                case string s: return PyString.Length(s);
                case PyList list: return list.Count;
                case PyDict dict: return dict.Count;
                case Undefined _: return 0;
                case Namespace ns: return ns.Attributes.Count;
                default: throw new TemplateError($"object of type '{TypeName(v)}' has no len()");
            }
        }

        /// <summary>The items a for loop (or <c>list</c>) sees: characters of a string, keys of a dict.</summary>
        public static PyList Iterate(object? v)
        {
            switch (v)
            {
                case PyList list: return list;
                case string s:
                    var chars = new PyList();
                    foreach (string ch in PyString.CodePoints(s)) chars.Add(ch);
                    return chars;
                case PyDict dict:
                    var keys = new PyList();
                    foreach (object k in dict.Keys) keys.Add(k);
                    return keys;
                case Undefined _: return new PyList();
                default: throw new TemplateError($"'{TypeName(v)}' object is not iterable");
            }
        }

        /// <summary>Python's <c>int()</c> of a number, or null when <paramref name="v"/> is not an integer.</summary>
        public static long? AsInteger(object? v) => v switch
        {
            long l => l,
            bool b => b ? 1 : 0,
            _ => null,
        };

        public static double? AsDouble(object? v) => IsNumber(v) ? ToDouble(v) : (double?)null;

        public static bool IsInteger(object? v) => v is long;
    }
}
