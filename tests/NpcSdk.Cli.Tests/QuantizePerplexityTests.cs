using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Xunit;

namespace NpcSdk.Cli.Tests
{
    /// <summary><c>npcsdk quantize</c> and <c>npcsdk perplexity</c>, run as the real program.</summary>
    public sealed class QuantizePerplexityTests : IDisposable
    {
        private readonly string _dir = Path.Combine(Path.GetTempPath(), "npcsdk-cli-quantize-" + Guid.NewGuid().ToString("N"));

        public QuantizePerplexityTests() => Directory.CreateDirectory(_dir);

        public void Dispose() => Directory.Delete(_dir, recursive: true);

        private static string TestData(params string[] parts) => Path.Combine(CliRunner.RepoRoot, "tests", "data", Path.Combine(parts));

        [Fact]
        public void Quantize_Writes_What_LlamaQuantize_Wrote_And_Reports_Each_Tensor_As_Json()
        {
            string output = Path.Combine(_dir, "fx-llama-Q4_K_M.gguf");
            var r = CliRunner.Run("quantize", TestData("fixtures", "fx-llama-F32.gguf"), output, "Q4_K_M", "--json");
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Equal(File.ReadAllBytes(TestData("fixtures", "fx-llama-Q4_K_M.gguf")), File.ReadAllBytes(output));

            var json = JsonDocument.Parse(r.StdOut).RootElement;
            Assert.Equal("Q4_K_M", json.GetProperty("type").GetString());
            Assert.Equal(15, json.GetProperty("file_type").GetInt32());
            Assert.Equal(new FileInfo(output).Length, json.GetProperty("output_bytes").GetInt64());
            var types = json.GetProperty("tensors").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!, t => t.GetProperty("to").GetString());
            Assert.Equal("Q6_K", types["output.weight"]);
            Assert.Equal("Q4_K", types["blk.0.attn_v.weight"]);
            Assert.Equal("Q6_K", types["blk.1.attn_v.weight"]);
            Assert.Equal("F32", types["blk.0.attn_norm.weight"]);
        }

        [Fact]
        public void Quantize_Prints_A_Summary_And_Shows_Progress_On_Stderr()
        {
            string output = Path.Combine(_dir, "fx-qwen2-Q8_0.gguf");
            var r = CliRunner.Run("quantize", TestData("fixtures", "fx-qwen2-F32.gguf"), output, "q8_0", "-t", "1");
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Contains("Q8_0 (general.file_type 7)", r.StdOut);
            // Progress goes to stderr: a bar on a terminal, one line per tensor in a log.
            Assert.Contains("token_embd.weight", r.StdErr);
            Assert.Contains("F32 -> Q8_0", r.StdErr);
            Assert.Equal(File.ReadAllBytes(TestData("fixtures", "fx-qwen2-Q8_0.gguf")), File.ReadAllBytes(output));
        }

        [Fact]
        public void Quantize_Errors_Are_One_Line_And_Exit_Code_1()
        {
            string output = Path.Combine(_dir, "out.gguf");
            var unknown = CliRunner.Run("quantize", TestData("fixtures", "fx-llama-F32.gguf"), output, "Q4_K_X");
            Assert.Equal(1, unknown.ExitCode);
            Assert.Contains("unknown quantization type 'Q4_K_X'", unknown.StdErr);

            var requantize = CliRunner.Run("quantize", TestData("fixtures", "fx-llama-Q8_0.gguf"), output, "Q4_0");
            Assert.Equal(1, requantize.ExitCode);
            Assert.Contains("requantizing", requantize.StdErr);
            Assert.False(File.Exists(output));
        }

        [Fact]
        public void Perplexity_Json_Matches_LlamaPerplexity_On_Stories260K()
        {
            var reference = JsonDocument.Parse(File.ReadAllBytes(TestData("reference", "perplexity_stories260K.json"))).RootElement
                .GetProperty("results").GetProperty("f32kv_nofa");
            var r = CliRunner.Run("perplexity", "-m", TestData("models", "stories260K.gguf"), "-f", TestData("text", "stories_ppl.txt"), "-c", "128", "--kv-type", "f32", "-t", "1", "--json");
            Assert.True(r.ExitCode == 0, r.StdErr);
            var json = JsonDocument.Parse(r.StdOut).RootElement;
            double ppl = json.GetProperty("ppl").GetDouble(), expected = reference.GetProperty("final_ppl").GetDouble();
            Assert.True(Math.Abs(ppl - expected) / expected < 0.005, $"ours {ppl}, llama-perplexity {expected}");
            Assert.Equal(7 * 63, json.GetProperty("tokens").GetInt32());
            Assert.Equal(Math.Log(ppl) / Math.Log(2), json.GetProperty("bits_per_token").GetDouble(), 9);
            Assert.InRange(json.GetProperty("bits_per_char").GetDouble(), 0.5, 2);
            Assert.True(json.GetProperty("bits_per_word").GetDouble() > json.GetProperty("bits_per_token").GetDouble());
            var chunks = json.GetProperty("chunks").EnumerateArray().ToArray();
            Assert.Equal(7, chunks.Length);
            Assert.Equal(ppl, chunks[6].GetProperty("running_ppl").GetDouble(), 9);
        }

        [Fact]
        public void Perplexity_Text_Output_And_Help_Define_The_Measures()
        {
            var r = CliRunner.Run("perplexity", "-m", TestData("models", "stories260K.gguf"), "-f", TestData("text", "stories_ppl.txt"), "-c", "128", "-t", "1");
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.StartsWith("PPL = 4.17", r.StdOut);
            Assert.Contains("[7]4.17", r.StdErr); // llama-perplexity's running values, one chunk a line
            Assert.Contains("bits per character", r.StdOut);
            Assert.Contains("bits per word", r.StdOut);

            var help = CliRunner.Run("perplexity", "--help");
            Assert.Contains("second half", help.StdOut);
            Assert.Contains("Bits per character and per word", help.StdOut);

            var tooShort = CliRunner.Run("perplexity", "-m", TestData("models", "stories260K.gguf"), "-f", TestData("text", "stories_ppl.txt"), "-c", "512");
            Assert.Equal(1, tooShort.ExitCode);
            Assert.Contains("at least 1024", tooShort.StdErr);
        }
    }
}
