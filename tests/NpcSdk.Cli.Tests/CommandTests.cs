using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;

namespace NpcSdk.Cli.Tests
{
    public sealed class CommandTests
    {
        private static readonly string NpcModel = Path.Combine(CliRunner.RepoRoot, "models", "npc-q8_0.gguf");

        private static JsonElement Reference(string name) => JsonDocument.Parse(File.ReadAllBytes(CliRunner.Data("reference", name))).RootElement;

        [Fact]
        public void Run_Greedy_On_Bundled_Model_Prints_What_LlamaCpp_Generated()
        {
            foreach (var greedy in Reference("logits_npc-q8_0.json").GetProperty("greedy").EnumerateArray())
            {
                string promptFile = Path.GetTempFileName();
                try
                {
                    File.WriteAllText(promptFile, greedy.GetProperty("prompt").GetString()!);
                    var r = CliRunner.Run("run", "-m", NpcModel, "-f", promptFile, "--temp", "0", "-t", "1");
                    Assert.True(r.ExitCode == 0, r.StdErr);
                    Assert.Equal(greedy.GetProperty("generated_text").GetString() + "\n", r.StdOut);

                    var j = CliRunner.Run("run", "-m", NpcModel, "-f", promptFile, "--temp", "0", "--json");
                    Assert.True(j.ExitCode == 0, j.StdErr);
                    var json = JsonDocument.Parse(j.StdOut).RootElement;
                    Assert.Equal(greedy.GetProperty("prompt_token_ids").EnumerateArray().Select(e => e.GetInt32()), json.GetProperty("prompt_ids").EnumerateArray().Select(e => e.GetInt32()));
                    Assert.Equal(greedy.GetProperty("generated_token_ids").EnumerateArray().Select(e => e.GetInt32()), json.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()));
                    Assert.Equal(greedy.GetProperty("generated_text").GetString(), json.GetProperty("text").GetString());
                    Assert.True(json.GetProperty("decode_tok_s").GetDouble() > 0);
                }
                finally
                {
                    File.Delete(promptFile);
                }
            }
        }

        [Fact]
        public void Tokenize_Works_On_A_Vocab_Only_File()
        {
            var reference = Reference("tokenizer_qwen2.json");
            foreach (var c in reference.GetProperty("cases").EnumerateArray().Take(8))
            {
                string textFile = Path.GetTempFileName();
                try
                {
                    File.WriteAllBytes(textFile, Convert.FromHexString(c.GetProperty("text_hex").GetString()!));
                    var r = CliRunner.Run("tokenize", "-m", CliRunner.Data("models", "ggml-vocab-qwen2.gguf"), "--special", "--text-file", textFile);
                    Assert.True(r.ExitCode == 0, r.StdErr);
                    var ids = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32());
                    Assert.Equal(c.GetProperty("ps1_bos").GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()), ids);
                }
                finally
                {
                    File.Delete(textFile);
                }
            }
        }

        [Fact]
        public void Eval_Prints_The_Reference_Top_Ids_At_Every_Position()
        {
            var prompt = Reference("logits_stories260K.json").GetProperty("prompts")[0];
            var r = CliRunner.Run("eval", "-m", CliRunner.Data("models", "stories260K.gguf"), "-p", prompt.GetProperty("text").GetString()!, "--top", "5", "--kv-type", "f32");
            Assert.True(r.ExitCode == 0, r.StdErr);
            var steps = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("steps").EnumerateArray().ToArray();
            var expected = prompt.GetProperty("steps").EnumerateArray().ToArray();
            Assert.Equal(expected.Length, steps.Length);
            for (int i = 0; i < steps.Length; i++)
            {
                var ours = steps[i].GetProperty("top")[0];
                var theirs = expected[i].GetProperty("top")[0];
                Assert.Equal(theirs[0].GetInt32(), ours[0].GetInt32());
                Assert.Equal(theirs[1].GetDouble(), ours[1].GetDouble(), 1e-3);
            }
        }

        [Fact]
        public void Inspect_Json_Describes_The_Bundled_Model()
        {
            var r = CliRunner.Run("inspect", NpcModel, "--json");
            Assert.True(r.ExitCode == 0, r.StdErr);
            var j = JsonDocument.Parse(r.StdOut).RootElement;
            Assert.Equal("llama", j.GetProperty("architecture").GetString());
            Assert.Equal(384, j.GetProperty("hparams").GetProperty("n_embd").GetInt32());
            Assert.Equal(2, j.GetProperty("hparams").GetProperty("n_head_kv").GetInt32());
            Assert.Equal(4096, j.GetProperty("tokenizer").GetProperty("n_vocab").GetInt32());
            Assert.Equal(57, j.GetProperty("tensor_types").GetProperty("Q8_0").GetProperty("count").GetInt32());
            Assert.Equal(new FileInfo(NpcModel).Length, j.GetProperty("file_size").GetInt64());
        }

        [Fact]
        public void Bench_Synthetic_Prints_The_Documented_Json()
        {
            var r = CliRunner.Run("bench", "--synthetic", "npc-14m", "--type", "Q4_K_M", "-t", "1", "-p", "8", "-n", "4", "-r", "1", "--json");
            Assert.True(r.ExitCode == 0, r.StdErr);
            var j = JsonDocument.Parse(r.StdOut).RootElement;
            Assert.True(j.GetProperty("bandwidth_GBps").GetProperty("1").GetDouble() > 0.5);
            var row = j.GetProperty("results")[0];
            Assert.Equal("npc-14m", row.GetProperty("model").GetString());
            Assert.Equal("Q4_K_M", row.GetProperty("type").GetString());
            Assert.Equal(1, row.GetProperty("threads").GetInt32());
            foreach (var field in new[] { "pp_tok_s", "pp_sd", "tg_tok_s", "tg_sd", "ceiling_fraction", "ceiling_GBps" }) Assert.Equal(JsonValueKind.Number, row.GetProperty(field).ValueKind);
            Assert.True(row.GetProperty("tg_tok_s").GetDouble() > 0);
            // The ceiling each row is held to: measured right after its decode runs.
            Assert.True(row.GetProperty("ceiling_GBps").GetDouble() > 0.5);
            Assert.True(row.GetProperty("ceiling_fraction").GetDouble() > 0);
            // Weights on 2 MiB pages are held to the bandwidth measured through such pages, which the output then gives.
            if (row.GetProperty("huge_pages").GetBoolean())
                Assert.True(j.GetProperty("bandwidth_huge_pages_GBps").GetProperty("1").GetDouble() > 0.5);
        }

        [Fact]
        public void Truncated_Model_Gives_One_Clear_Error_Line_And_Exit_Code_1()
        {
            string path = Path.GetTempFileName();
            try
            {
                File.WriteAllBytes(path, File.ReadAllBytes(NpcModel).AsSpan(0, 5000).ToArray());
                var r = CliRunner.Run("run", "-m", path, "-p", "hello");
                Assert.Equal(1, r.ExitCode);
                Assert.StartsWith("error: ", r.StdErr);
                Assert.Contains(path, r.StdErr);
                Assert.DoesNotContain("   at ", r.StdErr);
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}
