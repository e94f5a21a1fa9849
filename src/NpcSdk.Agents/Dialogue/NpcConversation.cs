using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace NpcSdk.Agents.Dialogue
{
    /// <summary>One line of an NPC-to-NPC conversation.</summary>
    public sealed class ConversationLine
    {
        internal ConversationLine(string speaker, string text, AgentReply? reply)
        {
            Speaker = speaker;
            Text = text;
            Reply = reply;
        }

        /// <summary>Who spoke.</summary>
        public string Speaker { get; }

        /// <summary>What they said.</summary>
        public string Text { get; }

        /// <summary>The agent reply behind it (null for the opening line).</summary>
        public AgentReply? Reply { get; }
    }

    /// <summary>Two NPCs talking to each other for a number of turns; each keeps its own memory of it.</summary>
    public static class NpcConversation
    {
        /// <summary>
        /// <paramref name="first"/> opens with <paramref name="opening"/>; then the NPCs answer each other in turn.
        /// Each hears the other's lines as lines said to it by that NPC.
        /// </summary>
        public static async Task<IReadOnlyList<ConversationLine>> RunAsync(NpcAgent first, NpcAgent second, string opening, int turns, double gameHours, CancellationToken cancellationToken = default)
        {
            if (turns < 1) throw new ArgumentOutOfRangeException(nameof(turns));
            var lines = new List<ConversationLine> { new ConversationLine(first.Character.Name, opening, null) };
            first.Memory.Add($"You said to {second.Character.Name}: \"{opening}\"", gameHours, Memory.MemoryKind.Dialogue);
            string last = opening;
            NpcAgent speaker = first, listener = second;
            for (int t = 0; t < turns; t++)
            {
                var reply = await listener.RespondAsync(last, gameHours, speaker.Character.Name, cancellationToken).ConfigureAwait(true);
                last = reply.Text.Length > 0 ? reply.Text : "...";
                lines.Add(new ConversationLine(listener.Character.Name, last, reply));
                (speaker, listener) = (listener, speaker);
            }
            return lines;
        }
    }
}
