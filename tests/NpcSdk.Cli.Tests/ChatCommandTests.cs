using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;

namespace NpcSdk.Cli.Tests
{
    public sealed class ChatCommandTests
    {
        private static readonly string NpcModel = Path.Combine(CliRunner.RepoRoot, "models", "npc-q8_0.gguf");

        [Fact]
        public void Greedy_Chat_With_A_Reference_System_Prompt_Replies_What_LlamaCpp_Generated()
        {
            var reference = JsonDocument.Parse(File.ReadAllBytes(CliRunner.Data("reference", "logits_npc-q8_0.json"))).RootElement;
            var plain = reference.GetProperty("greedy").EnumerateArray().Where(g => !g.GetProperty("generated_text").GetString()!.StartsWith("<tool_call>")).ToArray();
            Assert.NotEmpty(plain);
            foreach (var greedy in plain)
            {
                // The reference prompt is one system message and one user line in ChatML, what chat renders from them.
                string prompt = greedy.GetProperty("prompt").GetString()!;
                string system = prompt.Split("<|im_start|>system\n")[1].Split("<|im_end|>")[0];
                string user = prompt.Split("<|im_start|>user\n")[1].Split("<|im_end|>")[0];
                var r = CliRunner.RunWithInput(user + "\n/exit\n", "chat", "-m", NpcModel, "--system", system, "--temp", "0", "-t", "1");
                Assert.True(r.ExitCode == 0, r.StdErr);
                string expected = greedy.GetProperty("generated_text").GetString()!.Replace("<|im_end|>", "");
                Assert.Equal("model: " + expected + "\n", r.StdOut);
            }
        }

        [Fact]
        public void Character_Chat_Answers_In_Character_Forgets_On_Reset_And_Ends_At_End_Of_Input()
        {
            string character = Path.Combine(CliRunner.RepoRoot, "samples", "Tavern", "characters", "blacksmith.json");
            string name = JsonDocument.Parse(File.ReadAllText(character), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }).RootElement.GetProperty("name").GetString()!;
            var r = CliRunner.RunWithInput("Hello! Who are you?\n\n/reset\nWhat do you sell?\n", "chat", "-m", NpcModel, "-c", character, "-t", "1");
            Assert.True(r.ExitCode == 0, r.StdErr);
            var lines = r.StdOut.Split('\n', System.StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(2, lines.Length);
            Assert.All(lines, l => Assert.StartsWith(name + ": ", l));
            Assert.All(lines, l => Assert.True(l.Length > name.Length + 2, "an empty reply"));
            Assert.Contains("(conversation forgotten)", r.StdErr);
        }

        [Fact]
        public void A_Malformed_Character_File_Is_A_Clear_Error_Naming_It()
        {
            string file = Path.GetTempFileName();
            try
            {
                File.WriteAllText(file, "{ \"name\": ");
                var r = CliRunner.RunWithInput("", "chat", "-m", NpcModel, "-c", file);
                Assert.Equal(1, r.ExitCode);
                Assert.Contains(file, r.StdErr);
                Assert.Contains("invalid character JSON", r.StdErr);
                Assert.DoesNotContain("Unhandled", r.StdErr);
            }
            finally
            {
                File.Delete(file);
            }
        }

        [Fact]
        public void Character_And_System_Together_Is_A_Clear_Error()
        {
            string character = Path.Combine(CliRunner.RepoRoot, "samples", "Tavern", "characters", "blacksmith.json");
            var r = CliRunner.RunWithInput("", "chat", "-m", NpcModel, "-c", character, "--system", "x");
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("--character or --system", r.StdErr);
        }
    }
}
