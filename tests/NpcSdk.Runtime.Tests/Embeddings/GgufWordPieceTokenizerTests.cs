using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using NpcSdk.Embeddings;
using NpcSdk.Gguf;
using NpcSdk.Tests.Tokenization;
using Xunit;

namespace NpcSdk.Tests.Embeddings
{
    /// <summary>WordPiece ids against llama.cpp's <c>llama_tokenize</c> on the MiniLM file and the bert-bge vocabulary.</summary>
    public sealed class GgufWordPieceTokenizerTests
    {
        private static readonly object s_lock = new object();
        private static readonly Dictionary<string, GgufWordPieceTokenizer> s_loaded = new Dictionary<string, GgufWordPieceTokenizer>();

        private static GgufWordPieceTokenizer Load(string path)
        {
            lock (s_lock)
            {
                if (!s_loaded.TryGetValue(path, out GgufWordPieceTokenizer? tokenizer))
                {
                    using GgufFile file = GgufFile.Open(path);
                    tokenizer = GgufWordPieceTokenizer.FromGguf(file);
                    s_loaded[path] = tokenizer;
                }
                return tokenizer;
            }
        }

        public static IEnumerable<object[]> ReferenceSentences() =>
            Enumerable.Range(0, EmbeddingTestData.Json("minilm_embeddings.json").GetProperty("sentences").GetArrayLength()).Select(i => new object[] { i });

        [Theory]
        [MemberData(nameof(ReferenceSentences))]
        public void Reference_Sentence_Ids_Match_LlamaCpp(int index)
        {
            JsonElement sentence = EmbeddingTestData.Json("minilm_embeddings.json").GetProperty("sentences")[index];
            int[] expected = EmbeddingTestData.Ints(sentence.GetProperty("token_ids_llamacpp"));
            Assert.Equal(expected, Load(EmbeddingTestData.MiniLmPath).Encode(sentence.GetProperty("text").GetString()!));
        }

        public static IEnumerable<object[]> StressCases() =>
            Enumerable.Range(0, EmbeddingTestData.Json("minilm_tokenizer_stress.json").GetProperty("cases").GetArrayLength()).Select(i => new object[] { i });

        /// <summary>Accents, tabs, symbols, curly quotes, CJK, emoji: where llama.cpp and the ONNX package's tokenizer disagree, llama.cpp wins.</summary>
        [Theory]
        [MemberData(nameof(StressCases))]
        public void Stress_Case_Ids_Match_LlamaCpp(int index)
        {
            JsonElement c = EmbeddingTestData.Json("minilm_tokenizer_stress.json").GetProperty("cases")[index];
            int[] expected = EmbeddingTestData.Ints(c.GetProperty("token_ids_llamacpp"));
            Assert.Equal(expected, Load(EmbeddingTestData.MiniLmPath).Encode(c.GetProperty("text").GetString()!));
        }

        public static IEnumerable<object[]> BgeCases()
        {
            int n = EmbeddingTestData.Json("tokenizer_bert-bge.json").GetProperty("cases").GetArrayLength();
            foreach (int i in Enumerable.Range(0, n))
                foreach (string variant in new[] { "ps1_bos", "ps1_nobos", "ps0_bos", "ps0_nobos" })
                    yield return new object[] { i, variant };
        }

        /// <summary>25 strings × parse_special on/off × add_special on/off on llama.cpp's ggml-vocab-bert-bge.gguf (llama.cpp 3f545bec).</summary>
        [Theory]
        [MemberData(nameof(BgeCases))]
        public void BertBge_Ids_And_Pieces_Match_LlamaCpp(int index, string variant)
        {
            JsonElement c = EmbeddingTestData.Json("tokenizer_bert-bge.json").GetProperty("cases")[index];
            JsonElement expected = c.GetProperty(variant);
            string text = Encoding.UTF8.GetString(TokenizerTestData.Hex(c.GetProperty("text_hex").GetString()!));
            GgufWordPieceTokenizer tokenizer = Load(EmbeddingTestData.BgeVocabPath);

            int[] expectedIds = EmbeddingTestData.Ints(expected.GetProperty("ids"));
            Assert.Equal(expectedIds, tokenizer.Encode(text, addSpecial: variant.EndsWith("_bos"), parseSpecial: variant.StartsWith("ps1")));

            string[] expectedPieces = expected.GetProperty("pieces").EnumerateArray().Select(e => e.GetString()!).ToArray();
            Assert.Equal(expectedPieces, expectedIds.Select(tokenizer.TokenToPiece).ToArray());
        }

        [Fact]
        public void Special_Token_Text_Is_Parsed_Only_When_Asked()
        {
            GgufWordPieceTokenizer tokenizer = Load(EmbeddingTestData.MiniLmPath);
            Assert.Equal(new[] { 101, 7592, 102, 2088, 102 }, tokenizer.Encode("hello[SEP]world"));
            Assert.Equal(new[] { 101, 7592, 1031, 19802, 1033, 2088, 102 }, tokenizer.Encode("hello[SEP]world", parseSpecial: false));
            // Lower-case "[sep]" is plain text for llama.cpp, which matches special tokens before normalising.
            Assert.Equal(new[] { 101, 7592, 1031, 19802, 1033, 2088, 102 }, tokenizer.Encode("hello[sep]world"));
        }

        /// <summary>Where Microsoft.ML.Tokenizers' own BERT pre-processing differs, llama.cpp's algorithm rules (expected ids follow its preprocess).</summary>
        [Theory]
        [InlineData("foo_bar", new[] { 101, 29379, 1035, 3347, 102 })]      // '_' is punctuation: its own word
        [InlineData("co\u00ADop", new[] { 101, 21859, 102 })]              // a soft hyphen (Cf) is removed
        [InlineData("a\tb\nc", new[] { 101, 1037, 1038, 1039, 102 })]        // tab and newline separate words
        [InlineData("$5", new[] { 101, 1002, 1019, 102 })]                    // ASCII symbols are words
        public void Text_Clean_Up_Follows_LlamaCpp(string text, int[] expected)
        {
            Assert.Equal(expected, Load(EmbeddingTestData.MiniLmPath).Encode(text));
        }

        [Fact]
        public void Empty_Text_Is_Cls_Sep()
        {
            GgufWordPieceTokenizer tokenizer = Load(EmbeddingTestData.MiniLmPath);
            Assert.Equal(new[] { 101, 102 }, tokenizer.Encode(""));
            Assert.Equal(new[] { 101, 102 }, tokenizer.Encode(" \t\n"));
            Assert.Empty(tokenizer.Encode("", addSpecial: false));
        }
    }
}
