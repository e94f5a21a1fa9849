using System.IO;
using System.Linq;
using Microsoft.ML.Tokenizers;
using NpcSdk.Gguf;
using NpcSdk.Tokenization;
using Xunit;

namespace NpcSdk.Tests.Tokenization
{
    /// <summary>The SentencePiece family: the synthesized ModelProto and the mirroring around the library's tie-breaking.</summary>
    public sealed class SentencePieceAdapterTests
    {
        private static readonly string[] Pieces = { "<unk>", "<s>", "</s>", "}", "}}", "\u2581" };

        [Fact]
        public void Library_Breaks_SentencePiece_Ties_To_The_Right()
        {
            // Pins the Microsoft.ML.Tokenizers 2.0.1 behaviour SentencePieceAdapter mirrors around. If this fails after a
            // library upgrade, the library now breaks ties like sentencepiece and the mirroring must go.
            byte[] proto = SentencePieceModelProto.Build(Pieces, new float[] { 0, 0, 0, -1, -2, -3 },
                Pieces.Select((p, i) => i == 0 ? SentencePieceModelProto.PieceType.Unknown : i < 3 ? SentencePieceModelProto.PieceType.Control : SentencePieceModelProto.PieceType.Normal).ToArray(),
                unknownId: 0, bosId: 1, eosId: 2, byteFallback: false);
            var library = SentencePieceTokenizer.Create(new MemoryStream(proto), false, false, null);
            Assert.Equal(new[] { 3, 4 }, library.EncodeToIds("}}}", false, false, considerPreTokenization: false, considerNormalization: false));
        }

        [Fact]
        public void Equal_Scores_Merge_Leftmost_First_Like_LlamaCpp()
        {
            using GgufFile file = Vocabulary();
            GgufTokenizer tokenizer = GgufTokenizer.FromGguf(file);
            Assert.Equal(new[] { 5, 4, 3 }, tokenizer.Encode(" }}}", addSpecial: false));
            Assert.Equal(new[] { 1, 5, 4, 4 }, tokenizer.Encode(" }}}}", addSpecial: true));
        }

        [Fact]
        public void Mirror_Keeps_Surrogate_Pairs()
        {
            Assert.Equal("c\U0001F600ba", SentencePieceAdapter.Mirror("ab\U0001F600c"));
        }

        private static GgufFile Vocabulary()
        {
            var writer = new GgufWriter()
                .Set("tokenizer.ggml.model", GgufValue.Of("llama"))
                .Set("tokenizer.ggml.tokens", GgufValue.Of(Pieces))
                .Set("tokenizer.ggml.scores", GgufValue.Of(new float[] { 0, 0, 0, -1, -2, -3 }))
                .Set("tokenizer.ggml.token_type", GgufValue.Of(new[] { 2, 3, 3, 1, 1, 1 }))
                .Set("tokenizer.ggml.add_space_prefix", GgufValue.Of(false));
            using var stream = new MemoryStream();
            writer.WriteTo(stream);
            return GgufFile.FromBytes(stream.ToArray());
        }
    }
}
