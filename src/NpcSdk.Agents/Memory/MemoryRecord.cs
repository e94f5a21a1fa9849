using System;

namespace NpcSdk.Agents.Memory
{
    /// <summary>What kind of memory a record is.</summary>
    public enum MemoryKind
    {
        /// <summary>Something the NPC saw happen.</summary>
        Observation,
        /// <summary>A line heard or said.</summary>
        Dialogue,
        /// <summary>An action the NPC took (a tool call).</summary>
        Action,
        /// <summary>An insight the NPC drew from other memories.</summary>
        Reflection,
        /// <summary>A lesson learned at the end of an episode.</summary>
        Lesson,
        /// <summary>A fact the NPC chose to remember.</summary>
        Fact,
    }

    /// <summary>One entry of an NPC's memory stream (Generative Agents): text, time, importance and embedding.</summary>
    public sealed class MemoryRecord
    {
        /// <summary>Creates a record.</summary>
        public MemoryRecord(long id, string text, MemoryKind kind, double createdHours, int importance, float[]? embedding)
        {
            if (importance < 1 || importance > 10) throw new ArgumentOutOfRangeException(nameof(importance), importance, "importance is 1..10");
            Id = id;
            Text = text;
            Kind = kind;
            CreatedHours = createdHours;
            LastAccessHours = createdHours;
            Importance = importance;
            Embedding = embedding;
        }

        /// <summary>Unique within its store.</summary>
        public long Id { get; }

        /// <summary>The memory, in the NPC's words ("The player stole bread from my stall.").</summary>
        public string Text { get; }

        /// <summary>Kind.</summary>
        public MemoryKind Kind { get; }

        /// <summary>Game time (hours) when it was made.</summary>
        public double CreatedHours { get; }

        /// <summary>Game time (hours) when it was last retrieved.</summary>
        public double LastAccessHours { get; internal set; }

        /// <summary>Poignancy 1 (mundane) .. 10 (life-changing).</summary>
        public int Importance { get; }

        /// <summary>Unit-length embedding, or null without an embedder.</summary>
        public float[]? Embedding { get; internal set; }

        /// <inheritdoc/>
        public override string ToString() => $"[{Kind} {CreatedHours:F1}h i={Importance}] {Text}";
    }

    /// <summary>A retrieved memory with its score parts (each min-max normalised to 0..1).</summary>
    public sealed class ScoredMemory
    {
        internal ScoredMemory(MemoryRecord record, double score, double recency, double importance, double relevance)
        {
            Record = record;
            Score = score;
            Recency = recency;
            Importance = importance;
            Relevance = relevance;
        }

        /// <summary>The memory.</summary>
        public MemoryRecord Record { get; }

        /// <summary>Weighted sum of the parts.</summary>
        public double Score { get; }

        /// <summary>Normalised recency.</summary>
        public double Recency { get; }

        /// <summary>Normalised importance.</summary>
        public double Importance { get; }

        /// <summary>Normalised relevance.</summary>
        public double Relevance { get; }
    }

    /// <summary>Weights of the retrieval score parts, and the recency decay.</summary>
    public sealed class MemoryWeights
    {
        /// <summary>Weight of recency.</summary>
        public double Recency { get; set; } = 1.0;

        /// <summary>Weight of importance.</summary>
        public double Importance { get; set; } = 1.0;

        /// <summary>Weight of relevance.</summary>
        public double Relevance { get; set; } = 1.0;

        /// <summary>Recency = DecayPerHour ^ (game hours since last access).</summary>
        public double DecayPerHour { get; set; } = 0.995;
    }
}
