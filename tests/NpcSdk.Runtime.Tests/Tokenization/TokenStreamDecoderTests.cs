using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using NpcSdk.Tokenization;
using Xunit;

namespace NpcSdk.Tests.Tokenization
{
    /// <summary>Streaming detokenization emits whole UTF-8 characters only.</summary>
    public sealed class TokenStreamDecoderTests
    {
        [Theory]
        [InlineData("stories260K", "\U0001F600")] // four byte-fallback tokens
        [InlineData("npc", "\u4E2D")] // three byte-fallback tokens
        public void Character_Split_Across_Byte_Tokens_Appears_Only_When_Complete(string vocabulary, string character)
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load(vocabulary);
            int[] ids = tokenizer.Encode(character, addSpecial: false);
            int[] byteTokens = ids.SkipWhile(id => !IsByteToken(tokenizer, id)).ToArray();
            Assert.Equal(Encoding.UTF8.GetByteCount(character), byteTokens.Length);
            Assert.All(byteTokens, id => Assert.True(IsByteToken(tokenizer, id)));

            TokenStreamDecoder stream = tokenizer.CreateStreamDecoder();
            foreach (int id in ids.Take(ids.Length - byteTokens.Length)) stream.Append(id); // the space prefix, if any
            var chunks = byteTokens.Select(stream.Append).ToList();
            Assert.All(chunks.Take(chunks.Count - 1), chunk => Assert.Equal("", chunk));
            Assert.Equal(character, chunks[chunks.Count - 1]);
            Assert.Equal("", stream.Flush());
        }

        private static bool IsByteToken(GgufTokenizer tokenizer, int id) => tokenizer.TokenText(id).StartsWith("<0x");

        [Fact]
        public void Byte_Level_Pieces_Of_One_Emoji_Are_Held_Back()
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load("gpt-2");
            int[] ids = tokenizer.Encode("a\U0001F600", addSpecial: false);
            Assert.True(ids.Length >= 3, "the emoji should take several byte-level tokens");
            TokenStreamDecoder stream = tokenizer.CreateStreamDecoder();
            var chunks = ids.Select(stream.Append).ToList();
            Assert.Equal("a", chunks[0]);
            Assert.All(chunks.Skip(1).Take(chunks.Count - 2), chunk => Assert.Equal("", chunk));
            Assert.Equal("\U0001F600", chunks[chunks.Count - 1]);
        }

        [Fact]
        public void Incomplete_Character_At_The_End_Flushes_As_Replacement()
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load("stories260K");
            int[] ids = tokenizer.Encode("\U0001F600", addSpecial: false).Where(id => IsByteToken(tokenizer, id)).ToArray();
            TokenStreamDecoder stream = tokenizer.CreateStreamDecoder();
            foreach (int id in ids.Take(2)) Assert.Equal("", stream.Append(id));
            Assert.Equal("\uFFFD", stream.Flush());
        }

        [Fact]
        public void Control_Tokens_Are_Hidden_Unless_Special()
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load("npc");
            Assert.Equal("<|im_end|>", tokenizer.CreateStreamDecoder(special: true).Append(5));
            Assert.Equal("", tokenizer.CreateStreamDecoder(special: false).Append(5));
            Assert.Equal("<tool_call>", tokenizer.CreateStreamDecoder(special: false).Append(6));
        }

        public static IEnumerable<object[]> Vocabularies() => TokenizerTestData.Vocabularies.Select(v => new object[] { v });

        [Theory]
        [MemberData(nameof(Vocabularies))]
        public void Streamed_Text_Equals_The_Decoded_Pieces_Of_Every_Reference_Case(string vocabulary)
        {
            GgufTokenizer tokenizer = TokenizerTestData.Load(vocabulary);
            foreach (JsonElement c in TokenizerTestData.Reference(vocabulary).GetProperty("cases").EnumerateArray())
            {
                JsonElement expected = c.GetProperty("ps1_bos");
                int[] ids = TokenizerTestData.Ints(expected.GetProperty("ids"));
                TokenStreamDecoder stream = tokenizer.CreateStreamDecoder();
                var text = new StringBuilder();
                foreach (int id in ids)
                {
                    string chunk = stream.Append(id);
                    Assert.False(chunk.Length > 0 && char.IsHighSurrogate(chunk[chunk.Length - 1]), "a chunk ends inside a surrogate pair");
                    text.Append(chunk);
                }
                text.Append(stream.Flush());
                string whole = Encoding.UTF8.GetString(TokenizerTestData.Hex(expected.GetProperty("pieces_concat_hex").GetString()!));
                Assert.Equal(whole, text.ToString());
            }
        }
    }
}
