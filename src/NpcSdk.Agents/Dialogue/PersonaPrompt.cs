using System.Collections.Generic;
using System.Linq;
using System.Text;
using NpcSdk.Agents.Characters;
using NpcSdk.Agents.Tools;

namespace NpcSdk.Agents.Dialogue
{
    /// <summary>Renders a character sheet into the system prompt, in the exact layout the bundled NPC model was trained on.</summary>
    public static class PersonaPrompt
    {
        /// <summary>The system prompt text.</summary>
        public static string Render(Character c, PlayerState player, IEnumerable<string> memories, IReadOnlyList<ToolDefinition> tools)
        {
            var sb = new StringBuilder();
            sb.Append("You are ").Append(c.Name).Append(", the ").Append(c.Role);
            if (!string.IsNullOrWhiteSpace(c.Town)) sb.Append(" of ").Append(c.Town);
            sb.Append(".\n");
            if (!string.IsNullOrWhiteSpace(c.Personality)) sb.Append("Personality: ").Append(Sentence(c.Personality)).Append('\n');
            if (!string.IsNullOrWhiteSpace(c.Location)) sb.Append("Location: ").Append(Sentence(c.Location)).Append('\n');
            sb.Append("Player gold: ").Append(player.Gold).Append('\n');
            if (c.Inventory.Count == 0) sb.Append("Inventory: none\n");
            else
            {
                sb.Append("Inventory:\n");
                foreach (var i in c.Inventory) sb.Append("- ").Append(i.Name).Append(": ").Append(i.Price).Append(" gold\n");
            }
            if (c.Quests.Count > 0)
            {
                sb.Append("Quests:\n");
                foreach (var q in c.Quests) sb.Append("- ").Append(q.Id).Append(": ").Append(Sentence(q.Description)).Append(" Reward: ").Append(q.Reward).Append(" gold\n");
            }
            if (c.Doors.Count > 0) sb.Append("Doors: ").Append(string.Join(", ", c.Doors)).Append('\n');
            if (c.Songs.Count > 0) sb.Append("Songs: ").Append(string.Join(", ", c.Songs)).Append('\n');
            var lines = new List<string>();
            if (!string.IsNullOrWhiteSpace(player.Name)) lines.Add($"The player's name is {player.Name}.");
            lines.AddRange(c.Facts.Select(Sentence));
            lines.AddRange(memories.Select(Sentence));
            if (lines.Count == 0) sb.Append("Memories: none\n");
            else
            {
                sb.Append("Memories:\n");
                foreach (var m in lines.Distinct()) sb.Append("- ").Append(m).Append('\n');
            }
            if (tools.Count > 0)
            {
                sb.Append("Tools:\n");
                foreach (var t in tools) sb.Append("- ").Append(t.PromptLine).Append('\n');
            }
            return sb.ToString().TrimEnd('\n');
        }

        private static string Sentence(string s)
        {
            s = s.Trim();
            return s.Length == 0 || ".!?".IndexOf(s[s.Length - 1]) >= 0 ? s : s + ".";
        }
    }
}
