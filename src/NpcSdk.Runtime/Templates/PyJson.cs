using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NpcSdk.Templates
{
    /// <summary>
    /// JSON in and out of template values. Output is byte-for-byte Python's <c>json.dumps</c> (what transformers'
    /// <c>tojson</c> calls): key order kept, <c>", "</c>/<c>": "</c> separators, Python float repr, non-ASCII kept
    /// unless <c>ensure_ascii</c>. Input keeps object key order and tells ints from floats as <c>json.loads</c> does.
    /// </summary>
    internal static class PyJson
    {
        public static string Serialize(object? value, bool ensureAscii, string? indent, string itemSeparator, string keySeparator, bool sortKeys)
        {
            var sb = new StringBuilder();
            Write(sb, value, ensureAscii, indent, itemSeparator, keySeparator, sortKeys, 0);
            return sb.ToString();
        }

        private static void NewLine(StringBuilder sb, string? indent, int depth)
        {
            if (indent == null) return;
            sb.Append('\n');
            for (int i = 0; i < depth; i++) sb.Append(indent);
        }

        private static void Write(StringBuilder sb, object? value, bool ascii, string? indent, string itemSep, string keySep, bool sortKeys, int depth)
        {
            switch (value)
            {
                case null: sb.Append("null"); return;
                case bool b: sb.Append(b ? "true" : "false"); return;
                case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); return;
                case double d: sb.Append(Float(d)); return;
                case string s: WriteString(sb, s, ascii); return;
                case PyList list:
                    if (list.Count == 0)
                    {
                        sb.Append("[]");
                        return;
                    }
                    sb.Append('[');
                    for (int i = 0; i < list.Count; i++)
                    {
                        if (i > 0) sb.Append(itemSep);
                        NewLine(sb, indent, depth + 1);
                        Write(sb, list[i], ascii, indent, itemSep, keySep, sortKeys, depth + 1);
                    }
                    NewLine(sb, indent, depth);
                    sb.Append(']');
                    return;
                case PyDict dict:
                    if (dict.Count == 0)
                    {
                        sb.Append("{}");
                        return;
                    }
                    var entries = new List<KeyValuePair<string, object?>>();
                    foreach (var kv in dict) entries.Add(new KeyValuePair<string, object?>(KeyText(kv.Key), kv.Value));
                    if (sortKeys)
                    {
                        var sorted = new List<int>();
                        for (int i = 0; i < entries.Count; i++) sorted.Add(i);
                        sorted.Sort((x, y) =>
                        {
                            int c = string.CompareOrdinal(entries[x].Key, entries[y].Key);
                            return c != 0 ? c : x.CompareTo(y);
                        });
                        entries = sorted.ConvertAll(i => entries[i]);
                    }
                    sb.Append('{');
                    for (int i = 0; i < entries.Count; i++)
                    {
                        if (i > 0) sb.Append(itemSep);
                        NewLine(sb, indent, depth + 1);
                        WriteString(sb, entries[i].Key, ascii);
                        sb.Append(keySep);
                        Write(sb, entries[i].Value, ascii, indent, itemSep, keySep, sortKeys, depth + 1);
                    }
                    NewLine(sb, indent, depth);
                    sb.Append('}');
                    return;
                default:
                    throw new TemplateError($"Object of type {PyOps.TypeName(value)} is not JSON serializable");
            }
        }

        private static string KeyText(object key) => key switch
        {
            string s => s,
            bool b => b ? "true" : "false",
            long l => l.ToString(CultureInfo.InvariantCulture),
            double d => Float(d),
            _ => throw new TemplateError($"keys must be str, int, float, bool or None, not {PyOps.TypeName(key)}"),
        };

        private static string Float(double d)
        {
            if (double.IsNaN(d)) return "NaN";
            if (double.IsPositiveInfinity(d)) return "Infinity";
            if (double.IsNegativeInfinity(d)) return "-Infinity";
            return PyOps.FormatFloat(d);
        }

        private static void WriteString(StringBuilder sb, string s, bool ascii)
        {
            sb.Append('"');
            foreach (char c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\r': sb.Append("\\r"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\b': sb.Append("\\b"); break;
                    case '\f': sb.Append("\\f"); break;
                    default:
                        if (c < 0x20 || (ascii && c > 0x7e)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            sb.Append('"');
        }

        /// <summary>Parses JSON text into template values; throws <see cref="JsonException"/> when it is not JSON.</summary>
        public static object? Parse(string json)
        {
            using var doc = JsonDocument.Parse(json);
            return FromElement(doc.RootElement);
        }

        public static object? FromElement(JsonElement e)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object:
                    var dict = new PyDict();
                    foreach (JsonProperty p in e.EnumerateObject()) dict[p.Name] = FromElement(p.Value);
                    return dict;
                case JsonValueKind.Array:
                    var list = new PyList();
                    foreach (JsonElement item in e.EnumerateArray()) list.Add(FromElement(item));
                    return list;
                case JsonValueKind.String: return e.GetString();
                case JsonValueKind.Number:
                    string raw = e.GetRawText();
                    bool integral = raw.IndexOfAny(new[] { '.', 'e', 'E' }) < 0;
                    if (integral && e.TryGetInt64(out long l)) return l;
                    return e.GetDouble();
                case JsonValueKind.True: return true;
                case JsonValueKind.False: return false;
                default: return null;
            }
        }
    }
}
