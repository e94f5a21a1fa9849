using System;
using System.Text;

namespace NpcSdk.Tokenization
{
    /// <summary>
    /// Turns generated tokens into text as they arrive, emitting only whole UTF-8 characters: a character whose bytes
    /// span several tokens (byte-fallback or byte-level pieces) appears once its last byte has arrived.
    /// </summary>
    /// <remarks>
    /// The concatenation of everything <see cref="Append"/> and <see cref="Flush"/> return equals the UTF-8 decoding of
    /// all pieces together; bytes that can never form a character become U+FFFD. Not thread-safe: one per stream.
    /// </remarks>
    public sealed class TokenStreamDecoder
    {
        private readonly GgufTokenizer _tokenizer;
        private readonly bool _special;
        private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).GetDecoder();
        private char[] _chars = new char[64];

        internal TokenStreamDecoder(GgufTokenizer tokenizer, bool special)
        {
            _tokenizer = tokenizer;
            _special = special;
        }

        /// <summary>Adds a token; returns the text completed by it (possibly empty).</summary>
        public string Append(int id) => Decode(_tokenizer.TokenToPiece(id, _special), flush: false);

        /// <summary>Ends the stream; returns U+FFFD for a trailing incomplete character, or an empty string.</summary>
        public string Flush() => Decode(Array.Empty<byte>(), flush: true);

        private string Decode(byte[] bytes, bool flush)
        {
            int needed = _utf8.GetCharCount(bytes, 0, bytes.Length, flush);
            if (_chars.Length < needed) _chars = new char[Math.Max(needed, _chars.Length * 2)];
            int written = _utf8.GetChars(bytes, 0, bytes.Length, _chars, 0, flush);
            return new string(_chars, 0, written);
        }
    }
}
