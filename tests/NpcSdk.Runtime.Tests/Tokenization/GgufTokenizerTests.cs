using System;
using System.IO;
using System.Linq;
using NpcSdk.Gguf;
using NpcSdk.Tokenization;
using Xunit;

namespace NpcSdk.Tests.Tokenization
{
    /// <summary>Special tokens, end of generation and metadata handling of <see cref="GgufTokenizer"/>.</summary>
    public sealed class GgufTokenizerTests
    {
        private const string ChatTurn = "<|im_start|>user\nHi<|im_end|>";

        [Theory]
        [InlineData("npc")]
        [InlineData("qwen2")]
        [InlineData("llama-bpe")]
        [InlineData("gpt-2")]
        [InlineData("llama-spm")]
        public void Plain_Text_Never_Yields_Control_Tokens(string vocabulary)
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load(vocabulary);
            string text = ChatTurn + " <|endoftext|><|begin_of_text|><|eot_id|><s></s><unk><|file_sep|>";
            int[] ids = tokenizer.Encode(text, addSpecial: false, parseSpecial: false);
            Assert.DoesNotContain(ids, tokenizer.IsControl);
            Assert.Equal(text, tokenizer.Decode(ids));
        }

        [Theory]
        [InlineData("npc", 4, 5)]
        [InlineData("qwen2", 151644, 151645)]
        public void Parse_Special_Turns_Chat_Markers_Into_Control_Tokens(string vocabulary, int imStart, int imEnd)
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load(vocabulary);
            int[] ids = tokenizer.Encode(ChatTurn, addSpecial: false, parseSpecial: true);
            Assert.Equal(imStart, ids[0]);
            Assert.Equal(imEnd, ids[ids.Length - 1]);
            Assert.True(tokenizer.IsControl(imStart));
            Assert.Equal("user\nHi", tokenizer.Decode(ids, removeSpecial: true, unparseSpecial: false));
            Assert.Equal(ChatTurn, tokenizer.Decode(ids, removeSpecial: false, unparseSpecial: true));
        }

        [Theory]
        [InlineData("npc", 6, 7)]
        [InlineData("qwen2", 151657, 151658)]
        public void User_Defined_Tokens_Are_Split_Out_And_Always_Printed(string vocabulary, int open, int close)
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load(vocabulary);
            const string call = "<tool_call>{\"name\": \"remember\"}</tool_call>";
            foreach (bool parseSpecial in new[] { false, true })
            {
                int[] ids = tokenizer.Encode(call, addSpecial: false, parseSpecial);
                Assert.Equal(open, ids[0]);
                Assert.Equal(close, ids[ids.Length - 1]);
                Assert.False(tokenizer.IsControl(open));
                Assert.Equal(call, tokenizer.Decode(ids, removeSpecial: true, unparseSpecial: false));
            }
        }

        [Fact]
        public void Npc_Model_Ends_Generation_At_Im_End()
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load("npc");
            Assert.Equal(1, tokenizer.BosId);
            Assert.Equal(5, tokenizer.EosId);
            Assert.Equal(5, tokenizer.EotId);
            Assert.True(tokenizer.IsEndOfGeneration(5));
            Assert.True(tokenizer.IsEndOfGeneration(2)); // </s>, as llama.cpp
            Assert.False(tokenizer.IsEndOfGeneration(4));
            Assert.False(tokenizer.IsEndOfGeneration(6));
            Assert.Equal("<|im_end|>", tokenizer.TokenText(5));
        }

        [Fact]
        public void End_Of_Generation_Tokens_Are_Detected_By_Text()
        {
            GgufTokenizer qwen = TokenizerTestData.Load("qwen2");
            Assert.Equal(151645, qwen.EotId); // <|im_end|>
            foreach (int id in new[] { 151643, 151645, 151662, 151663, 151664 }) // endoftext, im_end, fim_pad, repo_name, file_sep
                Assert.True(qwen.IsEndOfGeneration(id), qwen.TokenText(id));
            Assert.False(qwen.IsEndOfGeneration(151644));

            GgufTokenizer llama3 = TokenizerTestData.Load("llama-bpe");
            Assert.Equal(128009, llama3.EotId); // <|eot_id|>
            foreach (int id in new[] { 128001, 128008, 128009 }) // end_of_text, eom_id, eot_id
                Assert.True(llama3.IsEndOfGeneration(id), llama3.TokenText(id));
            Assert.False(llama3.IsEndOfGeneration(128000));

            GgufTokenizer gpt2 = TokenizerTestData.Load("gpt-2");
            Assert.Equal(50256, gpt2.EotId);
            Assert.True(gpt2.IsEndOfGeneration(50256));

            GgufTokenizer stories = TokenizerTestData.Load("stories260K");
            Assert.Equal(-1, stories.EotId);
            Assert.True(stories.IsEndOfGeneration(2));
        }

        [Fact]
        public void Unsupported_Tokenizer_Model_Is_Named_In_The_Error()
        {
            using GgufFile file = InMemoryVocabulary("bert", pre: null);
            var e = Assert.Throws<TokenizerNotSupportedException>(() => GgufTokenizer.FromGguf(file));
            Assert.Equal("tokenizer.ggml.model", e.Key);
            Assert.Equal("bert", e.Value);
            Assert.Contains("'bert'", e.Message);
        }

        [Fact]
        public void Unsupported_Pre_Tokenizer_Is_Named_In_The_Error()
        {
            using GgufFile file = InMemoryVocabulary("gpt2", pre: "made-up-pre");
            var e = Assert.Throws<TokenizerNotSupportedException>(() => GgufTokenizer.FromGguf(file));
            Assert.Equal("tokenizer.ggml.pre", e.Key);
            Assert.Contains("'made-up-pre'", e.Message);
        }

        [Fact]
        public void Missing_Vocabulary_Is_A_Format_Error()
        {
            var writer = new GgufWriter().Set("tokenizer.ggml.model", GgufValue.Of("llama"));
            using GgufFile file = ToFile(writer);
            var e = Assert.Throws<GgufFormatException>(() => GgufTokenizer.FromGguf(file));
            Assert.Contains("tokenizer.ggml.tokens", e.Message);
        }

        [Fact]
        public void Token_Ids_Out_Of_Range_Are_Rejected()
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load("stories260K");
            Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.TokenToPiece(512));
            Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.TokenText(-1));
            Assert.False(tokenizer.IsControl(-1));
        }

        [Fact]
        public void Longer_Special_Tokens_Win_Over_Their_Prefixes()
        {
            // <|im_start|> contains neither of the others, but "</tool_call>" contains "tool_call>": the longer one is
            // split out first, as llama.cpp's tokenizer_st_partition does.
            GgufTokenizer tokenizer = TokenizerTestData.Load("npc");
            int[] ids = tokenizer.Encode("<tool_call></tool_call>", addSpecial: false, parseSpecial: true);
            Assert.Equal(new[] { 6, 7 }, ids);
        }

        private static GgufFile InMemoryVocabulary(string model, string? pre)
        {
            var writer = new GgufWriter()
                .Set("tokenizer.ggml.model", GgufValue.Of(model))
                .Set("tokenizer.ggml.tokens", GgufValue.Of(new[] { "[UNK]", "a", "b", "ab" }))
                .Set("tokenizer.ggml.token_type", GgufValue.Of(new[] { 2, 1, 1, 1 }))
                .Set("tokenizer.ggml.merges", GgufValue.Of(new[] { "a b" }));
            if (pre != null) writer.Set("tokenizer.ggml.pre", GgufValue.Of(pre));
            return ToFile(writer);
        }

        private static GgufFile ToFile(GgufWriter writer)
        {
            using var stream = new MemoryStream();
            writer.WriteTo(stream);
            return GgufFile.FromBytes(stream.ToArray());
        }
    }
}
