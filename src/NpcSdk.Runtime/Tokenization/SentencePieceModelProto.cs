using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace NpcSdk.Tokenization
{
    /// <summary>
    /// Writes a SentencePiece <c>ModelProto</c> (sentencepiece_model.proto) in memory, so a GGUF vocabulary can be handed
    /// to <see cref="Microsoft.ML.Tokenizers.SentencePieceTokenizer"/> as if it came from a <c>tokenizer.model</c> file.
    /// </summary>
    /// <remarks>Only the fields the BPE model reads are written: the pieces, the trainer's special ids and byte fallback,
    /// and an identity normalizer (llama.cpp does no NFKC normalization and no extra-whitespace removal).</remarks>
    internal static class SentencePieceModelProto
    {
        /// <summary>The piece types of sentencepiece_model.proto.</summary>
        public enum PieceType
        {
            Normal = 1,
            Unknown = 2,
            Control = 3,
            UserDefined = 4,
            Unused = 5,
            Byte = 6,
        }

        private const int WireVarint = 0;
        private const int WireLengthDelimited = 2;
        private const int WireFixed32 = 5;

        /// <summary>Serializes a BPE model with the given pieces (index = id).</summary>
        public static byte[] Build(
            IReadOnlyList<string> pieces,
            IReadOnlyList<float> scores,
            IReadOnlyList<PieceType> types,
            int unknownId,
            int bosId,
            int eosId,
            bool byteFallback)
        {
            var model = new MemoryStream(pieces.Count * 16 + 256);
            var piece = new MemoryStream(64);
            for (int i = 0; i < pieces.Count; i++)
            {
                piece.SetLength(0);
                WriteString(piece, 1, pieces[i]);
                WriteFloat(piece, 2, scores[i]);
                if (types[i] != PieceType.Normal) WriteVarint(piece, 3, (ulong)types[i]);
                WriteMessage(model, 1, piece);
            }

            var trainer = new MemoryStream();
            WriteVarint(trainer, 3, 2); // model_type = BPE
            WriteVarint(trainer, 4, (ulong)pieces.Count); // vocab_size
            WriteVarint(trainer, 35, byteFallback ? 1UL : 0UL); // byte_fallback
            WriteVarint(trainer, 40, (ulong)(long)unknownId); // unk_id
            WriteVarint(trainer, 41, (ulong)(long)bosId); // bos_id
            WriteVarint(trainer, 42, (ulong)(long)eosId); // eos_id
            WriteMessage(model, 2, trainer);

            var normalizer = new MemoryStream();
            WriteString(normalizer, 1, "identity"); // name
            WriteVarint(normalizer, 3, 0); // add_dummy_prefix: the adapter adds llama.cpp's space prefix per fragment
            WriteVarint(normalizer, 4, 0); // remove_extra_whitespaces
            WriteVarint(normalizer, 5, 1); // escape_whitespaces
            WriteMessage(model, 3, normalizer);

            return model.ToArray();
        }

        private static void WriteTag(Stream s, int field, int wireType) => WriteRawVarint(s, ((ulong)field << 3) | (uint)wireType);

        private static void WriteVarint(Stream s, int field, ulong value)
        {
            WriteTag(s, field, WireVarint);
            WriteRawVarint(s, value);
        }

        private static void WriteFloat(Stream s, int field, float value)
        {
            WriteTag(s, field, WireFixed32);
            int bits = BitConverter.SingleToInt32Bits(value);
            s.WriteByte((byte)bits);
            s.WriteByte((byte)(bits >> 8));
            s.WriteByte((byte)(bits >> 16));
            s.WriteByte((byte)(bits >> 24));
        }

        private static void WriteString(Stream s, int field, string value)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(value);
            WriteTag(s, field, WireLengthDelimited);
            WriteRawVarint(s, (ulong)bytes.Length);
            s.Write(bytes, 0, bytes.Length);
        }

        private static void WriteMessage(Stream s, int field, MemoryStream message)
        {
            WriteTag(s, field, WireLengthDelimited);
            WriteRawVarint(s, (ulong)message.Length);
            s.Write(message.GetBuffer(), 0, (int)message.Length);
        }

        private static void WriteRawVarint(Stream s, ulong value)
        {
            while (value >= 0x80)
            {
                s.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            s.WriteByte((byte)value);
        }
    }
}
