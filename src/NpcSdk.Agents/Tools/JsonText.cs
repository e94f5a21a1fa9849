using System.Collections.Generic;
using System.Linq;
using System.Text.Json;

namespace NpcSdk.Agents.Tools
{
    /// <summary>JSON literals written without the reflection serializer, so the code stays trimming- and AOT-safe.</summary>
    internal static class JsonText
    {
        /// <summary><paramref name="s"/> as a JSON string, escaped as <see cref="JsonSerializer"/> escapes it by default.</summary>
        public static string Quote(string s) => "\"" + JsonEncodedText.Encode(s).ToString() + "\"";

        /// <summary>A JSON array of strings, written as <see cref="JsonSerializer"/> writes one by default.</summary>
        public static string Array(IEnumerable<string> items) => "[" + string.Join(",", items.Select(Quote)) + "]";
    }
}
