using System;
using System.IO;

namespace NpcSdk.Tests
{
    /// <summary>Where the test data lives: tests/data (copied next to the test assembly) and the repository's models/ folder.</summary>
    internal static class TestPaths
    {
        public static string Data(params string[] parts) => Path.Combine(Path.Combine(AppContext.BaseDirectory, "data"), Path.Combine(parts));

        public static string RepoRoot => NpcSdk.Tests.Shared.RepoPaths.Root;

        /// <summary>A model by file name: models/ for the bundled one, tests/data/models or tests/data/fixtures otherwise.</summary>
        public static string Model(string fileName)
        {
            string bundled = Path.Combine(RepoRoot, "models", fileName);
            if (File.Exists(bundled)) return bundled;
            string model = Data("models", fileName);
            if (File.Exists(model)) return model;
            return Data("fixtures", fileName);
        }
    }
}
