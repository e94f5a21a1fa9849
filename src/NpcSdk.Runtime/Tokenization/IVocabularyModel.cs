using System.Collections.Generic;

namespace NpcSdk.Tokenization
{
    /// <summary>
    /// One tokenizer family (SentencePiece BPE, byte-level BPE) behind <see cref="GgufTokenizer"/>, like llama.cpp's
    /// per-type tokenizer sessions: it encodes the plain-text fragments left between special tokens, and maps
    /// NORMAL vocabulary entries back to bytes.
    /// </summary>
    internal interface IVocabularyModel
    {
        /// <summary>Appends the ids of one plain-text fragment.</summary>
        /// <param name="fragment">Text containing no special token that was split out.</param>
        /// <param name="afterSpecial">True for the first fragment and for fragments that follow a special token.</param>
        /// <param name="output">Where ids are appended.</param>
        void EncodeFragment(string fragment, bool afterSpecial, List<int> output);

        /// <summary>The bytes a NORMAL token stands for (its text with the family's escaping undone).</summary>
        byte[] NormalPiece(string tokenText);
    }
}
