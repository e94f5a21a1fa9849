using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using NpcSdk.Tokenization;
using Xunit;

namespace NpcSdk.Tests.Tokenization
{
    /// <summary>
    /// Every string of tests/data/reference/tokenizer_*.json (25 strings × parse_special on/off × add_special on/off), the
    /// prompts of logits_*.json (llama.cpp 3f545bec), and llama.cpp's own test-tokenizer-0 cases, against llama.cpp.
    /// </summary>
    public sealed class GgufTokenizerReferenceTests
    {
        public static IEnumerable<object[]> ReferenceCases()
        {
            foreach (string vocabulary in TokenizerTestData.Vocabularies)
            {
                JsonElement reference = TokenizerTestData.Reference(vocabulary);
                foreach (JsonElement c in reference.GetProperty("cases").EnumerateArray())
                {
                    foreach (string variant in new[] { "ps1_bos", "ps1_nobos", "ps0_bos", "ps0_nobos" })
                        yield return new object[] { vocabulary, c.GetProperty("index").GetInt32(), variant };
                }
            }
        }

        [Theory]
        [MemberData(nameof(ReferenceCases))]
        public void Ids_Pieces_And_Detokenized_Text_Match_LlamaCpp(string vocabulary, int index, string variant)
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load(vocabulary);
            JsonElement c = TokenizerTestData.Reference(vocabulary).GetProperty("cases")[index];
            JsonElement expected = c.GetProperty(variant);
            string text = Encoding.UTF8.GetString(TokenizerTestData.Hex(c.GetProperty("text_hex").GetString()!));
            bool parseSpecial = variant.StartsWith("ps1");
            bool addSpecial = variant.EndsWith("_bos");

            int[] expectedIds = TokenizerTestData.Ints(expected.GetProperty("ids"));
            Assert.Equal(expectedIds, tokenizer.Encode(text, addSpecial, parseSpecial));

            // Detokenization is checked on the reference ids, independently of encoding.
            string[] expectedPieces = expected.GetProperty("pieces").EnumerateArray().Select(e => e.GetString()!).ToArray();
            byte[][] pieces = expectedIds.Select(id => tokenizer.TokenToPiece(id, special: true)).ToArray();
            Assert.Equal(expectedPieces.Length, pieces.Length);
            for (int i = 0; i < pieces.Length; i++)
            {
                // The JSON shows invalid UTF-8 as one U+FFFD per byte; the exact bytes are checked through pieces_concat_hex.
                if (TokenizerTestData.IsValidUtf8(pieces[i])) Assert.Equal(expectedPieces[i], Encoding.UTF8.GetString(pieces[i]));
            }
            Assert.Equal(TokenizerTestData.Hex(expected.GetProperty("pieces_concat_hex").GetString()!), pieces.SelectMany(p => p).ToArray());

            byte[] detok = TokenizerTestData.Hex(expected.GetProperty("detok_hex").GetString()!);
            Assert.Equal(detok, tokenizer.DecodeBytes(expectedIds, removeSpecial: false, unparseSpecial: true));
            if (TokenizerTestData.IsValidUtf8(detok))
                Assert.Equal(expected.GetProperty("detok").GetString(), tokenizer.Decode(expectedIds, removeSpecial: false, unparseSpecial: true));

            byte[] plain = TokenizerTestData.Hex(expected.GetProperty("detok_plain_hex").GetString()!);
            Assert.Equal(plain, tokenizer.DecodeBytes(expectedIds, removeSpecial: true, unparseSpecial: false));
            if (TokenizerTestData.IsValidUtf8(plain))
                Assert.Equal(expected.GetProperty("detok_plain").GetString(), tokenizer.Decode(expectedIds, removeSpecial: true, unparseSpecial: false));
        }

        [Theory]
        [InlineData("stories260K")]
        [InlineData("llama-spm")]
        [InlineData("npc")]
        [InlineData("gpt-2")]
        [InlineData("llama-bpe")]
        [InlineData("qwen2")]
        public void Vocabulary_Settings_Match_LlamaCpp(string vocabulary)
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load(vocabulary);
            JsonElement reference = TokenizerTestData.Reference(vocabulary);
            Assert.Equal(reference.GetProperty("n_vocab").GetInt32(), tokenizer.VocabSize);
            Assert.Equal(reference.GetProperty("add_bos").GetBoolean(), tokenizer.AddBos);
            Assert.Equal(reference.GetProperty("add_eos").GetBoolean(), tokenizer.AddEos);
            Assert.Equal(reference.GetProperty("bos_token_id").GetInt32(), tokenizer.BosId);
            Assert.Equal(reference.GetProperty("eos_token_id").GetInt32(), tokenizer.EosId);
        }

        public static IEnumerable<object[]> LlamaCppTestCases()
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Data("reference", "llama_cpp_tokenizer_tests.json")));
            foreach (JsonProperty vocabulary in doc.RootElement.GetProperty("expected").EnumerateObject())
            {
                for (int i = 0; i < vocabulary.Value.GetArrayLength(); i++)
                    yield return new object[] { vocabulary.Name, i };
            }
        }

        [Theory]
        [MemberData(nameof(LlamaCppTestCases))]
        public void LlamaCpp_Own_Tokenizer_Test_Cases_Match(string vocabulary, int index)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Data("reference", "llama_cpp_tokenizer_tests.json")));
            string text = doc.RootElement.GetProperty("inputs")[index].GetString()!;
            int[] expected = TokenizerTestData.Ints(doc.RootElement.GetProperty("expected").GetProperty(vocabulary)[index]);
            Assert.Equal(expected, TokenizerTestData.Load(vocabulary).Encode(text, addSpecial: false, parseSpecial: false));
        }

        [Theory]
        [InlineData("logits_stories260K.json")]
        [InlineData("logits_npc-q8_0.json")]
        [InlineData("logits_fx-llama-bpe-d32-Q8_0.json")]
        [InlineData("logits_fx-qwen2-F32.json")]
        public void Prompt_Token_Ids_Match_LlamaCpp(string referenceFile)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Data("reference", referenceFile)));
            JsonElement root = doc.RootElement;
            GgufTokenizer tokenizer = TokenizerTestData.Load(root.GetProperty("model_file").GetString()!);
            foreach (JsonElement prompt in root.GetProperty("prompts").EnumerateArray())
            {
                int[] expected = TokenizerTestData.Ints(prompt.GetProperty("token_ids"));
                Assert.Equal(expected, tokenizer.Encode(prompt.GetProperty("text").GetString()!, addSpecial: true, parseSpecial: true));
            }
        }
    }
}
