using System;
using System.IO;
using NpcSdk.Models;
using Xunit;

namespace NpcSdk.Extensions.AI.Tests
{
    /// <summary>The repository's models/ folder and the blacksmith prompt of models/README.md.</summary>
    internal static class TestModels
    {
        public static string RepoRoot => NpcSdk.Tests.Shared.RepoPaths.Root;

        public static string NpcModel => Path.Combine(RepoRoot, "models", "npc-q8_0.gguf");

        public static string EmbeddingModel => Path.Combine(RepoRoot, "models", "minilm-q8_0.gguf");

        /// <summary>Brom the blacksmith, without the Tools section (the client lists the declared tools).</summary>
        public const string BlacksmithWithoutTools =
            "You are Brom Ironhand, the blacksmith of Oakvale.\n" +
            "Personality: gruff, speaks in short, blunt sentences.\n" +
            "Location: the forge, Oakvale.\n" +
            "Player gold: 35\n" +
            "Inventory:\n" +
            "- iron sword: 12 gold\n" +
            "- horseshoe: 2 gold\n" +
            "Memories:\n" +
            "- The player's name is Aria.";
    }

    /// <summary>The bundled NPC model, loaded once for a test class.</summary>
    public sealed class NpcModelFixture : IDisposable
    {
        public NpcModelFixture() => Model = Model.Load(TestModels.NpcModel, new ModelOptions { Threads = 1 });

        public Model Model { get; }

        public void Dispose() => Model.Dispose();
    }

    /// <summary>A fact that needs models/minilm-q8_0.gguf; skipped, with the reason, while the file is missing.</summary>
    public sealed class EmbeddingModelFactAttribute : FactAttribute
    {
        public EmbeddingModelFactAttribute()
        {
            if (!File.Exists(TestModels.EmbeddingModel)) Skip = "models/minilm-q8_0.gguf is not in the repository yet";
        }
    }
}
