using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using NpcSdk.Agents.Dialogue;

namespace NpcSdk.Extensions.AI
{
    /// <summary>
    /// Lists granted tools in the system prompt the way the NPC model was trained to read them
    /// (<c>Tools:</c> then <c>- sell_item(item, price): description</c>), for callers that pass tools only as
    /// declarations. Tools the prompt already lists are left as they are.
    /// </summary>
    internal static class ToolPromptSection
    {
        /// <summary>The prompt line of a tool: <c>sell_item(item, price): sell an item from your inventory to the player</c>.</summary>
        public static string Line(ToolSpec tool) => $"{tool.Name}({string.Join(", ", ParameterNames(tool.ParametersSchemaJson))}): {tool.Description}";

        /// <summary>Returns <paramref name="systemPrompt"/> with a line for each tool it does not list yet.</summary>
        public static string AddMissing(string systemPrompt, IReadOnlyList<ToolSpec> tools)
        {
            var missing = tools.Where(t => !Lists(systemPrompt, t.Name)).ToList();
            if (missing.Count == 0) return systemPrompt;
            var sb = new StringBuilder(systemPrompt.TrimEnd('\n'));
            bool hasSection = systemPrompt.StartsWith("Tools:\n") || systemPrompt.Contains("\nTools:\n");
            if (sb.Length > 0) sb.Append('\n');
            if (!hasSection) sb.Append("Tools:\n");
            foreach (var t in missing) sb.Append("- ").Append(Line(t)).Append('\n');
            return sb.ToString().TrimEnd('\n');
        }

        private static bool Lists(string prompt, string toolName) => prompt.StartsWith("- " + toolName + "(") || prompt.Contains("\n- " + toolName + "(");

        /// <summary>Property names of an arguments schema, in the order written.</summary>
        private static IEnumerable<string> ParameterNames(string schemaJson)
        {
            var names = new List<string>();
            try
            {
                using var doc = JsonDocument.Parse(schemaJson);
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("properties", out var props) && props.ValueKind == JsonValueKind.Object)
                    foreach (var p in props.EnumerateObject()) names.Add(p.Name);
            }
            catch (JsonException)
            {
                // A schema that is not JSON lists no parameters; the caller validated what it could.
            }
            return names;
        }
    }
}
