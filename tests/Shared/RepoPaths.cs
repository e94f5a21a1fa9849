using System;
using System.IO;

namespace NpcSdk.Tests.Shared
{
    /// <summary>The repository the tests run from (the folder holding NpcSdk.sln), found once. Linked into every test project.</summary>
    internal static class RepoPaths
    {
        private static readonly Lazy<string> RootPath = new Lazy<string>(() =>
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "NpcSdk.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new DirectoryNotFoundException("NpcSdk.sln not found above " + AppContext.BaseDirectory);
        });

        /// <summary>The repository root.</summary>
        public static string Root => RootPath.Value;
    }
}
