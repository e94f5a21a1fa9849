using System.Collections.Generic;
using System.Text;

namespace NpcSdk.Tokenization
{
    /// <summary>
    /// GPT-2's byte-to-character table (<c>bytes_to_unicode</c>): byte-level BPE vocabularies spell every byte as one
    /// printable character, e.g. space as 'Ġ' (U+0120).
    /// </summary>
    internal static class ByteLevelAlphabet
    {
        private static readonly char[] s_byteToChar = new char[256];
        private static readonly short[] s_charToByte = new short[256 + 68];

        static ByteLevelAlphabet()
        {
            for (int i = 0; i < s_charToByte.Length; i++) s_charToByte[i] = -1;
            int next = 256;
            for (int b = 0; b < 256; b++)
            {
                bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
                char c = printable ? (char)b : (char)next++;
                s_byteToChar[b] = c;
                s_charToByte[c] = (short)b;
            }
        }

        /// <summary>The byte a vocabulary character stands for, or -1.</summary>
        public static int ToByte(char c) => c < s_charToByte.Length ? s_charToByte[c] : -1;

        /// <summary>Spells the UTF-8 bytes of <paramref name="text"/> in the byte-level alphabet.</summary>
        public static string Encode(string text)
        {
            byte[] utf8 = Encoding.UTF8.GetBytes(text);
            var chars = new char[utf8.Length];
            for (int i = 0; i < utf8.Length; i++) chars[i] = s_byteToChar[utf8[i]];
            return new string(chars);
        }

        /// <summary>
        /// The bytes a byte-level token spells, like llama.cpp's <c>llama_decode_text</c>: a character outside the alphabet
        /// becomes "[UNK_BYTE_0x&lt;its UTF-8 in hex&gt;&lt;token text&gt;]".
        /// </summary>
        public static byte[] Decode(string tokenText)
        {
            var bytes = new List<byte>(tokenText.Length);
            for (int i = 0; i < tokenText.Length; i++)
            {
                int b = ToByte(tokenText[i]);
                if (b >= 0)
                {
                    bytes.Add((byte)b);
                    continue;
                }
                int len = char.IsHighSurrogate(tokenText[i]) && i + 1 < tokenText.Length && char.IsLowSurrogate(tokenText[i + 1]) ? 2 : 1;
                var sb = new StringBuilder("[UNK_BYTE_0x");
                foreach (byte u in Encoding.UTF8.GetBytes(tokenText.Substring(i, len))) sb.Append(u.ToString("x2"));
                sb.Append(tokenText).Append(']');
                bytes.AddRange(Encoding.UTF8.GetBytes(sb.ToString()));
                i += len - 1;
            }
            return bytes.ToArray();
        }
    }
}
