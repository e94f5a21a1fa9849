using System.Collections.Generic;

namespace NpcSdk.Sampling
{
    /// <summary>How the next token is chosen. Temperature 0 means greedy (argmax, lowest id on ties).</summary>
    public sealed class SamplingOptions
    {
        /// <summary>Greedy decoding.</summary>
        public static SamplingOptions Greedy => new SamplingOptions { Temperature = 0f };

        /// <summary>Softmax temperature; 0 = greedy.</summary>
        public float Temperature { get; set; } = 0.8f;
        /// <summary>Keep the K most likely tokens (0 = off).</summary>
        public int TopK { get; set; } = 40;
        /// <summary>Nucleus threshold (1 = off).</summary>
        public float TopP { get; set; } = 0.95f;
        /// <summary>Minimum probability relative to the best token (0 = off).</summary>
        public float MinP { get; set; } = 0.05f;
        /// <summary>Repetition penalty (1 = off).</summary>
        public float RepeatPenalty { get; set; } = 1.0f;
        /// <summary>Presence penalty (0 = off).</summary>
        public float PresencePenalty { get; set; }
        /// <summary>Frequency penalty (0 = off).</summary>
        public float FrequencyPenalty { get; set; }
        /// <summary>How many recent tokens the penalties look at (-1 = all).</summary>
        public int PenaltyLastN { get; set; } = 64;
        /// <summary>Added to the logits of the given token ids.</summary>
        public IReadOnlyDictionary<int, float>? LogitBias { get; set; }
        /// <summary>Random seed; the same seed, prompt and model give the same tokens.</summary>
        public ulong Seed { get; set; } = 0x5EED;
    }
}
