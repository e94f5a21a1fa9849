using System;
using System.Collections.Generic;
using System.Linq;

namespace NpcSdk.Agents.Memory
{
    /// <summary>
    /// A cheap importance score (1..10) from words that mark memorable events: theft, violence, debts, quests, strong
    /// feelings. The model can score instead (<see cref="MemoryStore.ImportanceScorer"/>); this is the default.
    /// </summary>
    public static class ImportanceHeuristic
    {
        private static readonly Dictionary<string, int> Weights = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase)
        {
            ["stole"] = 5, ["steal"] = 5, ["stolen"] = 5, ["thief"] = 5, ["took"] = 2, ["robbed"] = 6,
            ["killed"] = 7, ["kill"] = 5, ["murder"] = 8, ["attacked"] = 6, ["attack"] = 4, ["hurt"] = 4, ["fight"] = 4, ["wolves"] = 2, ["dragon"] = 4,
            ["owes"] = 3, ["debt"] = 3, ["paid"] = 2, ["bought"] = 2, ["sold"] = 2, ["gold"] = 1, ["reward"] = 2,
            ["quest"] = 3, ["promised"] = 4, ["promise"] = 3, ["betrayed"] = 7, ["lied"] = 5, ["secret"] = 4,
            ["angry"] = 4, ["furious"] = 5, ["love"] = 5, ["hate"] = 5, ["afraid"] = 3, ["saved"] = 6, ["died"] = 8, ["dead"] = 6,
            ["name"] = 2, ["guards"] = 3, ["rude"] = 3, ["gift"] = 3, ["friend"] = 2, ["married"] = 7, ["birthday"] = 3,
        };

        /// <summary>Scores a memory text.</summary>
        public static int Score(string text)
        {
            int score = 1;
            foreach (var w in Words(text))
                if (Weights.TryGetValue(w, out int s)) score += s;
            return Math.Max(1, Math.Min(10, score));
        }

        internal static IEnumerable<string> Words(string text) =>
            text.Split(new[] { ' ', '\t', '\n', '\r', '.', ',', '!', '?', ';', ':', '"', '\'', '(', ')', '-' }, StringSplitOptions.RemoveEmptyEntries)
                .Select(w => w.ToLowerInvariant());
    }
}
