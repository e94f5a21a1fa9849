using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace NpcSdk.Agents.Tests
{
    /// <summary>The Unity package's manifest and assembly definition are valid UPM/Unity JSON.</summary>
    public sealed class UnityPackageTests
    {
        private static string Package => Path.Combine(TestData.RepoRoot, "Packages", "com.npcsdk.core");

        [Fact]
        public void Package_Json_Follows_The_Upm_Schema()
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Package, "package.json")));
            var p = doc.RootElement;
            Assert.Matches(new Regex(@"^com(\.[a-z0-9-]+){2,}$"), p.GetProperty("name").GetString());
            Assert.Matches(new Regex(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$"), p.GetProperty("version").GetString());
            Assert.Matches(new Regex(@"^\d{4}\.\d+$"), p.GetProperty("unity").GetString());
            Assert.False(string.IsNullOrWhiteSpace(p.GetProperty("displayName").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(p.GetProperty("description").GetString()));
            Assert.Equal("MIT", p.GetProperty("license").GetString());
            Assert.False(string.IsNullOrWhiteSpace(p.GetProperty("author").GetProperty("name").GetString()));
            foreach (var s in p.GetProperty("samples").EnumerateArray())
            {
                string path = s.GetProperty("path").GetString()!;
                Assert.StartsWith("Samples~/", path);
                Assert.True(Directory.Exists(Path.Combine(Package, path)), path);
                Assert.NotEmpty(Directory.GetFiles(Path.Combine(Package, path)));
            }
            Assert.True(File.Exists(Path.Combine(Package, "Documentation~", "index.md")));
        }

        [Fact]
        public void Assembly_Definition_References_The_Netstandard_Builds()
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Package, "Runtime", "NpcSdk.Unity.asmdef")));
            var a = doc.RootElement;
            Assert.Equal("NpcSdk.Unity", a.GetProperty("name").GetString());
            Assert.True(a.GetProperty("overrideReferences").GetBoolean());
            var refs = a.GetProperty("precompiledReferences").EnumerateArray().Select(e => e.GetString()).ToArray();
            Assert.Contains("NpcSdk.Runtime.dll", refs);
            Assert.Contains("NpcSdk.Agents.dll", refs);
            // The script that fills Runtime/ publishes exactly these assemblies from src/.
            string script = File.ReadAllText(Path.Combine(TestData.RepoRoot, "Packages", "build-package.sh"));
            Assert.Contains("-f netstandard2.1", script);
            Assert.Contains("src/NpcSdk.Agents/NpcSdk.Agents.csproj", script);
        }

        [Fact]
        public void Native_Plugins_Have_Import_Settings_Per_Platform()
        {
            foreach (var (folder, cpu) in new[] { ("x86_64", "x86_64"), ("arm64", "ARM64") })
            {
                string meta = File.ReadAllText(Path.Combine(Package, "Runtime", "Plugins", folder, "libnpcsdk_native.so.meta"));
                Assert.Contains("PluginImporter:", meta);
                Assert.Contains($"CPU: {cpu}", meta);
                Assert.Matches(new Regex(@"guid: [0-9a-f]{32}"), meta);
            }
        }
    }
}
