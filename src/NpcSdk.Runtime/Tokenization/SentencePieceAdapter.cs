using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace NpcSdk.Tokenization
{
    /// <summary>
    /// <c>tokenizer.ggml.model = llama</c>: SentencePiece BPE with byte fallback, run by
    /// <see cref="SentencePieceTokenizer"/> over a ModelProto synthesized from the GGUF vocabulary.
    /// </summary>
    /// <remarks>
    /// <para>What llama.cpp's <c>llm_tokenizer_spm_session</c> does differently from sentencepiece, handled here:
    /// the space prefix is added per fragment (first fragment and after each special token, when
    /// <c>add_space_prefix</c>), and only U+0020 is escaped to U+2581, with no other normalization. Every vocabulary entry
    /// takes part in merges (so UNUSED entries are written as NORMAL pieces: sentencepiece would re-split them,
    /// llama.cpp does not).</para>
    /// <para>Mirroring: Microsoft.ML.Tokenizers 2.0.1 breaks score ties between candidate merges toward the rightmost pair
    /// (<c>SentencePieceBpeModel.SymbolPair.CompareTo</c> orders equal scores by descending left index), where
    /// sentencepiece and llama.cpp take the leftmost: " }}}" gives "▁ } }}" instead of "▁ }} }". Ties are common
    /// (repeated characters, runs of spaces). BPE merging is otherwise symmetric, so we give the library the mirror image:
    /// every piece and every fragment reversed code point by code point. Its rightmost tie is then our leftmost, the
    /// merges are exactly llama.cpp's, and reversing the output restores the order (a byte-fallback run of one character
    /// keeps its internal byte order: those tokens share an offset). Byte pieces (&lt;0xNN&gt;) are not reversed; the
    /// library finds them by id. <c>SentencePieceAdapterTests.Library_Breaks_SentencePiece_Ties_To_The_Right</c> pins the library
    /// behaviour this relies on.</para>
    /// </remarks>
    internal sealed class SentencePieceAdapter : IVocabularyModel
    {
        private const char EscapedSpace = '\u2581';
        private readonly SentencePieceTokenizer _tokenizer;
        private readonly bool _addSpacePrefix;

        public SentencePieceAdapter(string source, string[] tokens, float[]? scores, TokenAttributes[] attributes,
            int unknownId, int bosId, int eosId, bool addSpacePrefix)
        {
            _addSpacePrefix = addSpacePrefix;
            bool byteFallback = HasByteTokens(source, tokens, attributes);

            var pieces = new string[tokens.Length];
            var types = new SentencePieceModelProto.PieceType[tokens.Length];
            for (int i = 0; i < tokens.Length; i++)
            {
                types[i] = PieceTypeOf(attributes[i]);
                pieces[i] = types[i] == SentencePieceModelProto.PieceType.Byte ? tokens[i] : Mirror(tokens[i]);
            }

            byte[] proto = SentencePieceModelProto.Build(pieces, scores ?? new float[tokens.Length], types,
                unknownId, bosId, eosId, byteFallback);
            try
            {
                using var stream = new MemoryStream(proto, writable: false);
                _tokenizer = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false, specialTokens: null);
            }
            catch (ArgumentException e)
            {
                throw new Gguf.GgufFormatException($"{source}: tokenizer.ggml.tokens cannot form a SentencePiece model: {e.Message}", e);
            }
        }

        public void EncodeFragment(string fragment, bool afterSpecial, List<int> output)
        {
            string text = _addSpacePrefix && afterSpecial ? " " + fragment : fragment;
            string mirrored = Mirror(text.Replace(' ', EscapedSpace));
            IReadOnlyList<EncodedToken> tokens = _tokenizer.EncodeToTokens(mirrored, out _,
                addBeginningOfSentence: false, addEndOfSentence: false, considerPreTokenization: false, considerNormalization: false);

            // Walk the mirrored result backwards, one group of tokens per source offset (a byte-fallback character
            // yields several tokens at the same offset, in the right order already).
            int end = tokens.Count;
            while (end > 0)
            {
                int start = end - 1;
                int offset = tokens[start].Offset.Start.Value;
                while (start > 0 && tokens[start - 1].Offset.Start.Value == offset) start--;
                for (int k = start; k < end; k++) output.Add(tokens[k].Id);
                end = start;
            }
        }

        public byte[] NormalPiece(string tokenText) => Encoding.UTF8.GetBytes(tokenText.Replace(EscapedSpace, ' '));

        private static SentencePieceModelProto.PieceType PieceTypeOf(TokenAttributes a)
        {
            if ((a & TokenAttributes.Byte) != 0) return SentencePieceModelProto.PieceType.Byte;
            if ((a & TokenAttributes.Unknown) != 0) return SentencePieceModelProto.PieceType.Unknown;
            if ((a & TokenAttributes.Control) != 0) return SentencePieceModelProto.PieceType.Control;
            if ((a & TokenAttributes.UserDefined) != 0) return SentencePieceModelProto.PieceType.UserDefined;
            return SentencePieceModelProto.PieceType.Normal;
        }

        /// <summary>
        /// True when the vocabulary has the 256 byte tokens &lt;0x00&gt;..&lt;0xFF&gt; at consecutive ids (the layout
        /// the library's byte fallback assumes); false when it has none.
        /// </summary>
        private static bool HasByteTokens(string source, string[] tokens, TokenAttributes[] attributes)
        {
            int first = -1, count = 0;
            for (int i = 0; i < tokens.Length; i++)
            {
                if ((attributes[i] & TokenAttributes.Byte) == 0) continue;
                if (first < 0) first = i;
                count++;
            }
            if (count == 0) return false;
            bool consecutive = count == 256 && first + 256 <= tokens.Length;
            for (int b = 0; consecutive && b < 256; b++)
                consecutive = tokens[first + b] == "<0x" + b.ToString("X2") + ">";
            if (!consecutive)
                throw new TokenizerNotSupportedException("tokenizer.ggml.token_type", "BYTE",
                    $"{source}: the SentencePiece vocabulary's byte tokens are not <0x00>..<0xFF> at consecutive ids, which byte fallback requires");
            return true;
        }

        /// <summary>Reverses a string by code point (surrogate pairs stay in order).</summary>
        internal static string Mirror(string s)
        {
            if (s.Length < 2) return s;
            char[] chars = s.ToCharArray();
            Array.Reverse(chars);
            for (int i = 0; i + 1 < chars.Length; i++)
            {
                if (char.IsLowSurrogate(chars[i]) && char.IsHighSurrogate(chars[i + 1]))
                {
                    (chars[i], chars[i + 1]) = (chars[i + 1], chars[i]);
                    i++;
                }
            }
            return new string(chars);
        }
    }
}
