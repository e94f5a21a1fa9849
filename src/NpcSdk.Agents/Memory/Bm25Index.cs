using System;
using System.Collections.Generic;
using System.Linq;

namespace NpcSdk.Agents.Memory
{
    /// <summary>Okapi BM25 over memory texts: the relevance score when no embedder is configured.</summary>
    internal static class Bm25
    {
        private const double K1 = 1.2, B = 0.75;

        private static readonly HashSet<string> StopWords = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        {
            "the", "a", "an", "and", "or", "of", "to", "in", "on", "at", "is", "are", "was", "were", "be", "i", "you", "my", "your",
            "me", "it", "that", "this", "for", "with", "from", "about", "still", "do", "did", "does", "have", "has", "had", "will",
        };

        public static string[] Terms(string text) => ImportanceHeuristic.Words(text).Where(w => !StopWords.Contains(w)).Select(Stem).ToArray();

        /// <summary>Crude suffix stripping so "took"/"take" stay apart but "stalls"/"stall" match.</summary>
        private static string Stem(string w)
        {
            if (w.Length > 4 && w.EndsWith("ing")) return w.Substring(0, w.Length - 3);
            if (w.Length > 3 && w.EndsWith("es")) return w.Substring(0, w.Length - 2);
            if (w.Length > 3 && w.EndsWith("s")) return w.Substring(0, w.Length - 1);
            if (w.Length > 3 && w.EndsWith("ed")) return w.Substring(0, w.Length - 2);
            return w;
        }

        public static double[] Scores(string query, IReadOnlyList<string[]> docs)
        {
            var q = Terms(query).Distinct().ToArray();
            double avg = docs.Count == 0 ? 1 : Math.Max(1, docs.Average(d => d.Length));
            var scores = new double[docs.Count];
            foreach (var term in q)
            {
                int df = docs.Count(d => d.Contains(term));
                if (df == 0) continue;
                double idf = Math.Log(1 + (docs.Count - df + 0.5) / (df + 0.5));
                for (int i = 0; i < docs.Count; i++)
                {
                    int tf = docs[i].Count(t => t == term);
                    if (tf == 0) continue;
                    scores[i] += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * docs[i].Length / avg));
                }
            }
            return scores;
        }
    }
}
