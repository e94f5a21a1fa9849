using System;
using System.Diagnostics;
using System.Linq;
using System.Text.Json;
using NpcSdk.Embeddings;
using NpcSdk.Gguf;
using NpcSdk.Models;
using Xunit;
using Xunit.Abstractions;

namespace NpcSdk.Tests.Embeddings
{
    /// <summary>The bundled all-MiniLM-L6-v2 (Q8_0) loaded once for the tests of a class.</summary>
    public sealed class MiniLmFixture : IDisposable
    {
        public MiniLmFixture() => Model = EmbeddingModel.Load(EmbeddingTestData.MiniLmPath);

        public EmbeddingModel Model { get; }

        public void Dispose() => Model.Dispose();
    }

    /// <summary>
    /// all-MiniLM-L6-v2 against llama.cpp's <c>llama-embedding --pooling mean --embd-normalize 2</c> on the same Q8_0 file and
    /// against the original ONNX model (tests/data/embeddings/minilm_embeddings.json).
    /// </summary>
    public sealed class EmbeddingModelTests : IClassFixture<MiniLmFixture>
    {
        private readonly EmbeddingModel _model;
        private readonly ITestOutputHelper _output;
        private readonly JsonElement _reference = EmbeddingTestData.Json("minilm_embeddings.json");

        public EmbeddingModelTests(MiniLmFixture fixture, ITestOutputHelper output)
        {
            _model = fixture.Model;
            _output = output;
        }

        private string[] Sentences => _reference.GetProperty("sentences").EnumerateArray().Select(s => s.GetProperty("text").GetString()!).ToArray();

        /// <summary>
        /// The reference is llama-embedding given all 12 sentences at once (one batch, flash attention on, as it runs by
        /// default on CPU); <see cref="EmbeddingModel.Embed(System.Collections.Generic.IReadOnlyList{string})"/> batches the same way.
        /// </summary>
        [Fact]
        public void Q8_0_Embeddings_Match_LlamaCpp()
        {
            Assert.Equal(384, _model.Dimensions);
            JsonElement[] sentences = _reference.GetProperty("sentences").EnumerateArray().ToArray();
            float[][] actual = _model.Embed(Sentences);
            double worst = 1;
            for (int i = 0; i < sentences.Length; i++)
            {
                string text = sentences[i].GetProperty("text").GetString()!;
                Assert.Equal(EmbeddingTestData.Ints(sentences[i].GetProperty("token_ids_llamacpp")), _model.Tokenize(text));
                float[] expected = EmbeddingTestData.Floats(sentences[i].GetProperty("embedding_llamacpp_q8_0"));
                double cosine = EmbeddingModel.Cosine(actual[i], expected);
                _output.WriteLine($"{cosine:F9}  max |diff| {expected.Zip(actual[i], (e, a) => Math.Abs(e - a)).Max():E2}  {text}");
                worst = Math.Min(worst, cosine);
                Assert.True(cosine >= 0.9999, $"cosine {cosine:F7} with llama.cpp for \"{text}\"");
                // The reference prints 7 decimals: anything but rounding would show here.
                Assert.True(expected.Zip(actual[i], (e, a) => Math.Abs(e - a)).Max() < 2e-7, $"not llama.cpp's numbers for \"{text}\"");
                Assert.Equal(1.0, Math.Sqrt(actual[i].Sum(v => (double)v * v)), 5);
            }
            _output.WriteLine($"worst cosine with llama.cpp Q8_0: {worst:F9}");
        }

        /// <summary>Alone, a sentence runs llama.cpp's small-batch attention kernel: still within 2e-4 of the batched reference.</summary>
        [Fact]
        public void Single_Sentences_Stay_Close_To_The_Batched_Reference()
        {
            double worst = 1;
            foreach (JsonElement sentence in _reference.GetProperty("sentences").EnumerateArray())
            {
                float[] expected = EmbeddingTestData.Floats(sentence.GetProperty("embedding_llamacpp_q8_0"));
                worst = Math.Min(worst, EmbeddingModel.Cosine(_model.Embed(sentence.GetProperty("text").GetString()!), expected));
            }
            _output.WriteLine($"worst cosine, one sentence at a time: {worst:F9}");
            Assert.True(worst >= 0.9998, $"worst cosine {worst}");
        }

        [Fact]
        public void Similarity_Matrix_Matches_Onnx()
        {
            float[][] embeddings = _model.Embed(Sentences);
            JsonElement onnx = _reference.GetProperty("similarity_matrix_onnx");
            double worst = 0;
            for (int i = 0; i < embeddings.Length; i++)
            {
                float[] row = EmbeddingTestData.Floats(onnx[i]);
                for (int j = 0; j < embeddings.Length; j++)
                    worst = Math.Max(worst, Math.Abs(EmbeddingModel.Cosine(embeddings[i], embeddings[j]) - row[j]));
            }
            _output.WriteLine($"worst |cosine - ONNX cosine| over the 12x12 matrix: {worst:E3}");
            Assert.True(worst <= 0.01, $"similarity matrix differs from ONNX by {worst}");
        }

        [Fact]
        public void Paraphrases_Are_Closer_Than_Unrelated_Sentences()
        {
            float[][] e = _model.Embed(new[] { "The blacksmith sells iron swords.", "You can buy steel blades at the smithy.", "The weather has been rainy all week." });
            Assert.True(EmbeddingModel.Cosine(e[0], e[1]) > EmbeddingModel.Cosine(e[0], e[2]) + 0.2f);
        }

        [Fact]
        public void Threads_Do_Not_Change_Results()
        {
            using var threaded = EmbeddingModel.Load(EmbeddingTestData.MiniLmPath, threads: 2);
            string[] sentences = Sentences;
            float[][] one = _model.Embed(sentences), two = threaded.Embed(sentences);
            for (int i = 0; i < sentences.Length; i++)
            {
                Assert.Equal(one[i], two[i]);
                Assert.Equal(_model.Embed(sentences[i]), threaded.Embed(sentences[i]));
            }
        }

        [Fact]
        public void Time_To_Embed_One_Sentence()
        {
            const string text = "The innkeeper says the ale is cheap tonight.";
            _model.Embed(text);
            var watch = Stopwatch.StartNew();
            const int runs = 20;
            for (int i = 0; i < runs; i++) _model.Embed(text);
            _output.WriteLine($"one sentence ({_model.Tokenize(text).Length} tokens), 1 thread: {watch.Elapsed.TotalMilliseconds / runs:F2} ms");
            watch.Restart();
            _model.Embed(Sentences);
            _output.WriteLine($"12 sentences in one batch, 1 thread: {watch.Elapsed.TotalMilliseconds:F2} ms");
        }

        [Fact]
        public void Text_Longer_Than_The_Context_Is_Rejected()
        {
            string text = string.Join(" ", Enumerable.Repeat("word", _model.ContextLength));
            var e = Assert.Throws<ArgumentException>(() => _model.Embed(text));
            Assert.Contains("512", e.Message);
        }

        [Fact]
        public void Cosine_Of_Vectors()
        {
            Assert.Equal(1f, EmbeddingModel.Cosine(new[] { 1f, 2f }, new[] { 2f, 4f }), 6);
            Assert.Equal(-1f, EmbeddingModel.Cosine(new[] { 1f, 0f }, new[] { -3f, 0f }), 6);
            Assert.Equal(0f, EmbeddingModel.Cosine(new[] { 0f, 0f }, new[] { 1f, 0f }));
            Assert.Throws<ArgumentException>(() => EmbeddingModel.Cosine(new[] { 1f }, new[] { 1f, 2f }));
        }

        [Fact]
        public void A_Decoder_Model_Is_Not_Supported()
        {
            var e = Assert.Throws<ModelNotSupportedException>(() => EmbeddingModel.Load(TestPaths.Model("npc-q8_0.gguf")));
            Assert.Contains("'llama'", e.Message);
        }

        [Fact]
        public void Missing_Tensors_Are_A_Format_Error()
        {
            // A vocabulary-only bert file: valid metadata, no weights.
            var e = Assert.Throws<GgufFormatException>(() => EmbeddingModel.Load(EmbeddingTestData.BgeVocabPath));
            Assert.Contains("token_embd.weight", e.Message);
        }
    }
}
