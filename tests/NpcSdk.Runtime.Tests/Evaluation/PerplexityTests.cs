using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using NpcSdk.Evaluation;
using NpcSdk.Models;
using NpcSdk.Tests;
using Xunit;

namespace NpcSdk.Runtime.Tests.Evaluation
{
    /// <summary>
    /// Against llama-perplexity (data/reference/perplexity_*.json, llama.cpp 3f545becc): the final and every running
    /// per-chunk perplexity within 0.5%, in both recorded settings (default F16 KV cache; F32 KV cache without flash
    /// attention).
    /// </summary>
    public sealed class PerplexityTests
    {
        private const double Tolerance = 0.005;

        private static JsonElement Reference(string name) => JsonDocument.Parse(File.ReadAllBytes(TestPaths.Data("reference", name))).RootElement;

        private static string Text(string name) => new System.Text.UTF8Encoding(false, true).GetString(File.ReadAllBytes(TestPaths.Data("text", name)));

        [Theory]
        [InlineData("as_specified", KvCacheType.F16)]
        [InlineData("f32kv_nofa", KvCacheType.F32)]
        public void Stories260K_At_Context_128_Matches_LlamaPerplexity_Per_Chunk(string setting, KvCacheType kv)
        {
            var reference = Reference("perplexity_stories260K.json");
            var expected = reference.GetProperty("results").GetProperty(setting);
            using var model = Model.Load(TestPaths.Model("stories260K.gguf"), new ModelOptions { Threads = 1 });
            var result = Perplexity.Measure(model, Text("stories_ppl.txt"), new PerplexityOptions { ContextLength = 128, KvCacheType = kv });

            Assert.Equal(reference.GetProperty("n_tokens").GetInt32(), result.TextTokens);
            Assert.Equal(expected.GetProperty("n_chunks").GetInt32(), result.Chunks.Count);
            Assert.Equal(7 * 63, result.ScoredTokens);
            AssertChunks(expected, result, expected.GetProperty("n_chunks").GetInt32());
            AssertClose(expected.GetProperty("final_ppl").GetDouble(), result.Value, "final PPL");
            AssertClose(expected.GetProperty("final_ppl_stderr").GetDouble(), result.PerplexityStandardError, "PPL standard error", 0.02);
        }

        /// <remarks>
        /// With the F32 cache our run reproduces llama-perplexity's to 4 decimals, so the whole file (13 chunks, about
        /// 12 s here) is checked; the F16 setting (llama.cpp ran it with flash attention) is checked on its first chunks.
        /// </remarks>
        [Theory]
        [InlineData("f32kv_nofa", KvCacheType.F32, 0)]
        [InlineData("as_specified", KvCacheType.F16, 3)]
        public void Npc_Model_At_Context_512_Matches_LlamaPerplexity(string setting, KvCacheType kv, int maxChunks)
        {
            var reference = Reference("perplexity_npc-q8_0.json");
            var expected = reference.GetProperty("results").GetProperty(setting);
            using var model = Model.Load(TestPaths.Model("npc-q8_0.gguf"), new ModelOptions { Threads = 2 });
            var result = Perplexity.Measure(model, Text("npc_ppl_eval20k.txt"), new PerplexityOptions { ContextLength = 512, KvCacheType = kv, MaxChunks = maxChunks });

            Assert.Equal(reference.GetProperty("n_tokens").GetInt32(), result.TextTokens);
            int chunks = maxChunks > 0 ? maxChunks : expected.GetProperty("n_chunks").GetInt32();
            Assert.Equal(chunks, result.Chunks.Count);
            AssertChunks(expected, result, chunks);
            if (maxChunks == 0) AssertClose(expected.GetProperty("final_ppl").GetDouble(), result.Value, "final PPL");
        }

        [Fact]
        public void Bits_Per_Token_Character_And_Word_Follow_From_The_Same_Loss()
        {
            using var model = Model.Load(TestPaths.Model("stories260K.gguf"), new ModelOptions { Threads = 1 });
            var result = Perplexity.Measure(model, Text("stories_ppl.txt"), new PerplexityOptions { ContextLength = 128, KvCacheType = KvCacheType.F32 });
            Assert.Equal(Math.Log(result.Value) / Math.Log(2), result.BitsPerToken, 9);
            Assert.Equal(result.Chunks.Sum(c => c.Characters), result.Characters);
            Assert.Equal(result.Bits / result.Characters, result.BitsPerCharacter, 12);
            Assert.Equal(result.Bits / result.Words, result.BitsPerWord, 12);
            // English prose in a 512-piece vocabulary: a few characters per token, about five per word.
            double charsPerToken = (double)result.Characters / result.ScoredTokens, charsPerWord = (double)result.Characters / result.Words;
            Assert.InRange(charsPerToken, 1.5, 4);
            Assert.InRange(charsPerWord, 4, 7);
        }

        [Theory]
        [InlineData(0, 18, 26, 5)] // after " T": "om said: ü €  big-dog ran." ("om" continues "Tom")
        [InlineData(4, 18, 17, 4)] // after " ": "ü €  big-dog ran."
        [InlineData(5, 18, 16, 3)] // after the byte C3: the BC byte finishes "ü", counted with its first byte
        [InlineData(6, 18, 16, 3)] // after the byte BC
        [InlineData(4, 6, 1, 1)] // just the byte C3: "ü" starts here
        public void Characters_And_Words_Are_Counted_Where_They_Start(int from, int to, long expectedCharacters, long expectedWords)
        {
            using var model = Model.Load(TestPaths.Model("stories260K.gguf"), new ModelOptions { Threads = 1 });
            var tokenizer = model.Tokenizer;
            // Pieces: " T" "om" " said" ":" " " <C3> <BC> " " "€" " " " big" "-" "d" "o" "g" " r" "an" "." (ü by byte fallback).
            int[] ids = tokenizer.Encode("Tom said: \u00fc \u20ac  big-dog ran.", addSpecial: false);
            Assert.Equal(18, ids.Length);
            Assert.Equal(new byte[] { 0xC3 }, tokenizer.TokenToPiece(ids[5]));
            Perplexity.CountText(tokenizer, ids, from, to, out long characters, out long words);
            Assert.Equal(expectedCharacters, characters);
            Assert.Equal(expectedWords, words);
        }

        [Fact]
        public void Too_Short_Text_Is_Refused_Like_LlamaPerplexity()
        {
            using var model = Model.Load(TestPaths.Model("stories260K.gguf"), new ModelOptions { Threads = 1 });
            var e = Assert.Throws<ArgumentException>(() => Perplexity.Measure(model, "Once upon a time.", new PerplexityOptions { ContextLength = 128 }));
            Assert.Contains("at least 256", e.Message);
        }

        private static void AssertChunks(JsonElement expected, PerplexityResult result, int count)
        {
            var chunks = expected.GetProperty("chunks").EnumerateArray().Take(count).ToArray();
            for (int i = 0; i < count; i++)
            {
                Assert.Equal(chunks[i].GetProperty("first_token_index").GetInt32(), result.Chunks[i].FirstToken);
                AssertClose(chunks[i].GetProperty("running_ppl").GetDouble(), result.Chunks[i].RunningPerplexity, $"running PPL after chunk {i + 1}");
            }
        }

        private static void AssertClose(double expected, double actual, string what, double tolerance = Tolerance)
        {
            double relative = Math.Abs(actual - expected) / expected;
            Assert.True(relative <= tolerance, $"{what}: ours {actual:F4}, llama-perplexity {expected:F4} ({relative:P3} apart)");
        }
    }
}
