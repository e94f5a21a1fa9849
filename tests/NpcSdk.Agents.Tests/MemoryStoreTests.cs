using System;
using System.Linq;
using NpcSdk.Agents.Memory;
using NpcSdk.Saves;
using Xunit;

namespace NpcSdk.Agents.Tests
{
    public sealed class MemoryStoreTests
    {
        internal static readonly string[] Mundane =
        {
            "The weather was sunny this morning.", "A cart rolled past the market.", "The baker opened early today.",
            "Children played near the well.", "The church bell rang at noon.", "A cat slept on the windowsill.",
            "The river looked high after the rain.", "Someone swept the tavern floor.", "The mayor wore a blue coat.",
            "A merchant counted crates of apples.", "The blacksmith's fire crackled.", "Fog covered the hills at dawn.",
            "A farmer passed with a load of hay.", "The inn's sign creaked in the wind.", "Candles burned in the chapel.",
            "A dog barked at a passing horse.", "The market smelled of fresh herbs.", "Clouds gathered over the forest.",
            "The well's rope was replaced.", "Travelers asked for directions to the coast.",
        };

        internal static MemoryStore WithUnrelated(IEmbedder? embedder, out MemoryRecord bread)
        {
            var store = new MemoryStore(embedder);
            bread = store.Add("The player stole bread from my stall.", 1.0, MemoryKind.Observation);
            for (int i = 0; i < 100; i++) store.Add($"{Mundane[i % Mundane.Length]} ({i})", 2.0 + i * 0.5, MemoryKind.Observation);
            return store;
        }

        [Fact]
        public void The_Bread_Theft_Is_Retrieved_First_After_100_Unrelated_Memories()
        {
            var store = WithUnrelated(null, out var bread);
            var top = store.Retrieve("Are you still angry about the bread I took?", 60.0, 3);
            Assert.Same(bread, top[0].Record);
            Assert.Equal(1.0, top[0].Relevance, 6);
        }

        [Fact]
        public void Weights_Move_The_Ranking_As_Configured()
        {
            var store = WithUnrelated(null, out var bread);
            // Only recency: the newest memory wins, the old theft is last.
            store.Weights.Relevance = 0;
            store.Weights.Importance = 0;
            var byRecency = store.Retrieve("Are you still angry about the bread I took?", 60.0, 101, touch: false);
            Assert.Equal(store.Records.Last(), byRecency[0].Record);
            Assert.Same(bread, byRecency.Last().Record);
            // Only importance: the theft (a memorable event) wins even without relevance.
            store.Weights.Recency = 0;
            store.Weights.Importance = 1;
            Assert.Same(bread, store.Retrieve("What's the weather like?", 60.0, 1, touch: false)[0].Record);
            // Importance outweighed by recency with a heavy recency weight.
            store.Weights.Recency = 5;
            Assert.NotSame(bread, store.Retrieve("What's the weather like?", 60.0, 1, touch: false)[0].Record);
        }

        [Fact]
        public void Retrieval_Refreshes_Recency_With_Decay_Per_Game_Hour()
        {
            var store = new MemoryStore();
            var a = store.Add("The player bought a sword.", 0);
            store.Retrieve("sword", 10.0, 1);
            Assert.Equal(10.0, a.LastAccessHours);
            Assert.Equal(Math.Pow(0.995, 5), Math.Pow(store.Weights.DecayPerHour, 15.0 - a.LastAccessHours), 12);
        }

        [Fact]
        public void Importance_Heuristic_Marks_Memorable_Events()
        {
            Assert.True(ImportanceHeuristic.Score("The player stole bread from my stall.") >= 5);
            Assert.True(ImportanceHeuristic.Score("The wolves attacked and killed the farmer's son.") >= 9);
            Assert.Equal(1, ImportanceHeuristic.Score("A cat slept on the windowsill."));
        }

        [Fact]
        public void Reflection_Triggers_When_Summed_Importance_Passes_The_Threshold()
        {
            var store = new MemoryStore { ReflectionThreshold = 12 };
            store.Add("A cat slept on the windowsill.", 0);
            Assert.False(store.ShouldReflect);
            store.Add("The player stole bread from my stall.", 1);
            store.Add("The player attacked the guard.", 2);
            Assert.True(store.ShouldReflect);
            store.ReflectionDone();
            Assert.False(store.ShouldReflect);
        }

        [Fact]
        public void Saves_Round_Trip_And_Corruption_Is_A_Typed_Error()
        {
            var store = WithUnrelated(null, out _);
            store.Retrieve("bread", 70, 2);
            byte[] bytes = store.Serialize();
            var back = MemoryStore.Deserialize(bytes);
            Assert.Equal(store.Records.Select(r => (r.Id, r.Text, r.Kind, r.CreatedHours, r.LastAccessHours, r.Importance)),
                         back.Records.Select(r => (r.Id, r.Text, r.Kind, r.CreatedHours, r.LastAccessHours, r.Importance)));
            Assert.Equal(store.ImportanceSinceReflection, back.ImportanceSinceReflection);
            for (int i = 0; i < 16; i++)
                Assert.Throws<SaveCorruptException>(() => MemoryStore.Deserialize(bytes.AsSpan(0, bytes.Length * i / 16).ToArray()));
            var rng = new Random(4);
            for (int i = 0; i < 100; i++)
            {
                var bad = (byte[])bytes.Clone();
                bad[rng.Next(bad.Length)] ^= (byte)(1 << rng.Next(8));
                Assert.Throws<SaveCorruptException>(() => MemoryStore.Deserialize(bad));
            }
        }
    }
}

namespace NpcSdk.Agents.Tests
{
    /// <summary>Memory retrieval with real MiniLM embeddings from models/minilm-q8_0.gguf.</summary>
    public sealed class EmbeddedMemoryTests
    {
        [Fact]
        public void With_MiniLM_The_Bread_Theft_Is_Retrieved_First_And_Relevance_Is_Semantic()
        {
            using var embedder = NpcSdk.Agents.Local.LocalEmbedder.Load(System.IO.Path.Combine(TestData.RepoRoot, "models", "minilm-q8_0.gguf"));
            var store = MemoryStoreTests.WithUnrelated(embedder, out var bread);
            var top = store.Retrieve("Are you still angry about the bread I took?", 60.0, 3);
            Assert.Same(bread, top[0].Record);
            // Semantic, not lexical: no word in common with the memory.
            var semantic = new MemoryStore(embedder);
            var theft = semantic.Add("The player stole bread from my stall.", 0);
            semantic.Add("The mayor wore a blue coat.", 0);
            semantic.Add("Fog covered the hills at dawn.", 0);
            semantic.Weights.Recency = 0;
            semantic.Weights.Importance = 0;
            Assert.Same(theft, semantic.Retrieve("Somebody robbed a market vendor of a loaf.", 1, 1)[0].Record);
        }
    }
}
