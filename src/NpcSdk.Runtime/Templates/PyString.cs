using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace NpcSdk.Templates
{
    /// <summary>
    /// Python <c>str</c> behaviour over .NET strings: lengths, indexes and slices count code points (not UTF-16
    /// units), whitespace is <c>str.isspace</c>, and the methods templates call (strip, split, title...).
    /// </summary>
    internal static class PyString
    {
        private static bool HasSurrogates(string s)
        {
            foreach (char c in s)
            {
                if (char.IsSurrogate(c)) return true;
            }
            return false;
        }

        public static int CodePointAt(string s, int i) =>
            char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]) ? char.ConvertToUtf32(s[i], s[i + 1]) : s[i];

        public static IEnumerable<string> CodePoints(string s)
        {
            for (int i = 0; i < s.Length; i++)
            {
                if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                {
                    yield return s.Substring(i, 2);
                    i++;
                }
                else
                {
                    yield return s[i].ToString();
                }
            }
        }

        private static List<string> CodePointList(string s) => new List<string>(CodePoints(s));

        public static int Length(string s) => HasSurrogates(s) ? CodePointList(s).Count : s.Length;

        /// <summary><c>s[index]</c>, or null when out of range.</summary>
        public static string? Index(string s, long index)
        {
            if (!HasSurrogates(s))
            {
                if (index < 0) index += s.Length;
                return index >= 0 && index < s.Length ? s[(int)index].ToString() : null;
            }
            var cps = CodePointList(s);
            if (index < 0) index += cps.Count;
            return index >= 0 && index < cps.Count ? cps[(int)index] : null;
        }

        public static string Slice(string s, long? start, long? stop, long? step)
        {
            if (!HasSurrogates(s))
            {
                var sb = new StringBuilder();
                foreach (int i in SliceIndexes(s.Length, start, stop, step)) sb.Append(s[i]);
                return sb.ToString();
            }
            var cps = CodePointList(s);
            var result = new StringBuilder();
            foreach (int i in SliceIndexes(cps.Count, start, stop, step)) result.Append(cps[i]);
            return result.ToString();
        }

        /// <summary>The indexes Python's <c>slice(start, stop, step).indices(length)</c> walks.</summary>
        public static IEnumerable<int> SliceIndexes(int length, long? start, long? stop, long? step)
        {
            long st = step ?? 1;
            if (st == 0) throw new TemplateError("slice step cannot be zero");
            long lo, hi;
            if (st > 0)
            {
                lo = Clamp(start ?? 0, length, 0, length);
                hi = Clamp(stop ?? length, length, 0, length);
                for (long i = lo; i < hi; i += st) yield return (int)i;
            }
            else
            {
                lo = Clamp(start ?? length - 1, length, -1, length - 1);
                hi = Clamp(stop ?? -length - 1, length, -1, length - 1);
                for (long i = lo; i > hi; i += st) yield return (int)i;
            }
        }

        private static long Clamp(long index, int length, long min, long max)
        {
            if (index < 0) index += length;
            if (index < min) return min;
            if (index > max) return max;
            return index;
        }

        /// <summary>Python's <c>str.isspace</c> for one character.</summary>
        public static bool IsSpace(char c) => char.IsWhiteSpace(c) || (c >= '\x1c' && c <= '\x1f');

        public static string Strip(string s, string? chars, bool left, bool right)
        {
            Func<char, bool> strip = chars == null ? (Func<char, bool>)IsSpace : c => chars.IndexOf(c) >= 0;
            int begin = 0, end = s.Length;
            if (left)
            {
                while (begin < end && strip(s[begin])) begin++;
            }
            if (right)
            {
                while (end > begin && strip(s[end - 1])) end--;
            }
            return s.Substring(begin, end - begin);
        }

        /// <summary>Python's <c>str.split(sep=None, maxsplit=-1)</c>.</summary>
        public static PyList Split(string s, string? sep, long maxSplit)
        {
            var parts = new PyList();
            if (sep == null)
            {
                int i = 0;
                while (true)
                {
                    while (i < s.Length && IsSpace(s[i])) i++;
                    if (i >= s.Length) break;
                    if (maxSplit >= 0 && parts.Count == maxSplit)
                    {
                        parts.Add(Strip(s.Substring(i), null, false, true));
                        break;
                    }
                    int j = i;
                    while (j < s.Length && !IsSpace(s[j])) j++;
                    parts.Add(s.Substring(i, j - i));
                    i = j;
                }
                return parts;
            }
            if (sep.Length == 0) throw new TemplateError("empty separator");
            int pos = 0;
            while (maxSplit < 0 || parts.Count < maxSplit)
            {
                int at = s.IndexOf(sep, pos, StringComparison.Ordinal);
                if (at < 0) break;
                parts.Add(s.Substring(pos, at - pos));
                pos = at + sep.Length;
            }
            parts.Add(s.Substring(pos));
            return parts;
        }

        /// <summary>Python's <c>str.rsplit(sep, maxsplit)</c> for an explicit separator.</summary>
        public static PyList RSplit(string s, string? sep, long maxSplit)
        {
            if (sep == null || maxSplit < 0) return Split(s, sep, maxSplit);
            var parts = new List<object?>();
            int end = s.Length;
            while (parts.Count < maxSplit)
            {
                int at = end - sep.Length < 0 ? -1 : s.LastIndexOf(sep, end - 1, end, StringComparison.Ordinal);
                if (at < 0 || at + sep.Length > end) break;
                parts.Add(s.Substring(at + sep.Length, end - at - sep.Length));
                end = at;
            }
            parts.Add(s.Substring(0, end));
            parts.Reverse();
            return new PyList(parts);
        }

        /// <summary>Python's <c>str.splitlines()</c>: every Unicode line boundary, "\r\n" as one.</summary>
        public static List<string> SplitLines(string s)
        {
            var lines = new List<string>();
            int start = 0;
            for (int i = 0; i < s.Length; i++)
            {
                char c = s[i];
                bool boundary = c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= '\x1c' && c <= '\x1e') || c == '\x85' || c == '\u2028' || c == '\u2029';
                if (!boundary) continue;
                lines.Add(s.Substring(start, i - start));
                if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n') i++;
                start = i + 1;
            }
            if (start < s.Length) lines.Add(s.Substring(start));
            return lines;
        }

        /// <summary>Python's <c>str.title()</c>: a letter after a non-letter is upper-cased, others lower-cased.</summary>
        public static string Title(string s)
        {
            var sb = new StringBuilder(s.Length);
            bool previousCased = false;
            foreach (char c in s)
            {
                bool cased = char.IsLetter(c);
                sb.Append(cased ? (previousCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)) : c);
                previousCased = cased;
            }
            return sb.ToString();
        }

        public static string Capitalize(string s) =>
            s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s.Substring(1).ToLowerInvariant();

        public static string Upper(string s) => s.ToUpperInvariant();

        public static string Lower(string s) => s.ToLowerInvariant();

        /// <summary>The UTF-16 index of code point <paramref name="cp"/> (negative counts from the end).</summary>
        public static int CharIndex(string s, long cp)
        {
            int len = Length(s);
            if (cp < 0) cp = Math.Max(0, cp + len);
            if (cp > len) cp = len;
            if (!HasSurrogates(s)) return (int)cp;
            int index = 0;
            for (long n = 0; n < cp; n++) index += char.IsHighSurrogate(s[index]) && index + 1 < s.Length ? 2 : 1;
            return index;
        }

        public static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
