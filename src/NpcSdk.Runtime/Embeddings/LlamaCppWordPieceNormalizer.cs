using System;
using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace NpcSdk.Embeddings
{
    /// <summary>
    /// The text clean-up and word splitting of llama.cpp's WordPiece tokenizer (<c>llm_tokenizer_wpm_session::preprocess</c>),
    /// written as a <see cref="Normalizer"/> for Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/>: its output is the words
    /// llama.cpp would look up, separated by single spaces, for the library's whitespace pre-tokenizer to split.
    /// </summary>
    /// <remarks>
    /// Per code point, in llama.cpp's order: map it to the first code point of its canonical decomposition (llama.cpp's
    /// one-to-one "NFD" table: é → e, 한 → ᄒ); whitespace ends the word; NUL, U+FFFD and categories Cc/Cf/Co/Cs are
    /// dropped; the rest is lower-cased; punctuation, ASCII symbols and CJK ideographs become one-character words.
    /// <para>The library's own <c>BertNormalizer</c> and word-or-punctuation pre-tokenizer cannot give llama.cpp's ids, which
    /// is why this replaces them (measured on the reference strings, 11 of 45 differ): it drops tab and newline as control
    /// characters instead of splitting on them ("World\twith" → "worldwith"); its pre-tokenizer <c>\w+|\p{P}</c> silently
    /// drops symbols ($, =, |, &lt;, emoji) where llama.cpp gives a word or [UNK], and keeps '_' inside words; it strips
    /// every combining mark and recomposes to NFC, so Hangul syllables stay whole where llama.cpp keeps only the leading
    /// jamo; it does not remove format characters as llama.cpp does, so a soft hyphen splits "co\u00ADop" into two words
    /// where llama.cpp reads "coop".</para>
    /// </remarks>
    internal sealed class LlamaCppWordPieceNormalizer : Normalizer
    {
        private readonly bool _lowerCase;
        private readonly bool _stripAccents;

        /// <param name="lowerCase">Lower-case letters (llama.cpp always does).</param>
        /// <param name="stripAccents">Reduce each code point to the first of its canonical decomposition (llama.cpp always does).</param>
        public LlamaCppWordPieceNormalizer(bool lowerCase, bool stripAccents)
        {
            _lowerCase = lowerCase;
            _stripAccents = stripAccents;
        }

        /// <inheritdoc/>
        public override string Normalize(string original) => Normalize(original.AsSpan());

        /// <inheritdoc/>
        public override string Normalize(ReadOnlySpan<char> original)
        {
            var output = new StringBuilder(original.Length + 16);
            for (int i = 0; i < original.Length; i++)
            {
                int cp = original[i];
                if (char.IsHighSurrogate(original[i]) && i + 1 < original.Length && char.IsLowSurrogate(original[i + 1]))
                {
                    cp = char.ConvertToUtf32(original[i], original[i + 1]);
                    i++;
                }
                else if (char.IsSurrogate(original[i]))
                {
                    cp = 0xFFFD; // an unpaired surrogate cannot come from UTF-8; llama.cpp drops what it cannot decode
                }

                if (_stripAccents) cp = CanonicalDecomposition.First(cp);

                if (IsWhitespace(cp))
                {
                    output.Append(' ');
                    continue;
                }

                string character = char.ConvertFromUtf32(cp);
                UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(character, 0);
                if (cp == 0 || cp == 0xFFFD || IsControl(category)) continue;

                string text = _lowerCase ? character.ToLowerInvariant() : character;
                if (IsPunctuation(category) || (cp < 0x7F && IsSymbol(category)) || IsChineseCharacter(cp))
                    output.Append(' ').Append(text).Append(' ');
                else
                    output.Append(text);
            }
            return output.ToString();
        }

        /// <summary>llama.cpp's whitespace set (Unicode White_Space): the only characters that separate words.</summary>
        internal static bool IsWhitespace(int cp)
        {
            return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x20 || cp == 0x85 || cp == 0xA0
                   || cp == 0x1680 || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
        }

        /// <summary>llama.cpp's <c>is_control</c> flag: general categories Cc, Cf, Co and Cs.</summary>
        private static bool IsControl(UnicodeCategory c) =>
            c == UnicodeCategory.Control || c == UnicodeCategory.Format || c == UnicodeCategory.PrivateUse || c == UnicodeCategory.Surrogate;

        private static bool IsPunctuation(UnicodeCategory c) =>
            c == UnicodeCategory.ConnectorPunctuation || c == UnicodeCategory.DashPunctuation || c == UnicodeCategory.OpenPunctuation
            || c == UnicodeCategory.ClosePunctuation || c == UnicodeCategory.InitialQuotePunctuation
            || c == UnicodeCategory.FinalQuotePunctuation || c == UnicodeCategory.OtherPunctuation;

        private static bool IsSymbol(UnicodeCategory c) =>
            c == UnicodeCategory.MathSymbol || c == UnicodeCategory.CurrencySymbol || c == UnicodeCategory.ModifierSymbol
            || c == UnicodeCategory.OtherSymbol;

        /// <summary>llama.cpp's <c>is_chinese_char</c> ranges (note 0x2B920, not 0x2B820, as in the HF Rust code it follows).</summary>
        internal static bool IsChineseCharacter(int cp)
        {
            return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
                   || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF)
                   || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
        }
    }
}
