using System;

namespace NpcSdk.Tokenization
{
    /// <summary>
    /// How a byte-level BPE vocabulary splits text into words before merging, chosen by <c>tokenizer.ggml.pre</c> as in
    /// llama.cpp's <c>llama_vocab::impl::load</c> and <c>llm_tokenizer_bpe</c>.
    /// </summary>
    /// <remarks>
    /// The patterns are llama.cpp's, adapted to .NET's UTF-16 regex: where llama.cpp allows one arbitrary code point
    /// before a letter run (<c>[^\r\n\p{L}\p{N}]?\p{L}+</c>), a surrogate pair is accepted as that one code point.
    /// Letters and digits outside the BMP are not \p{L}/\p{N} to .NET, so text in those scripts can split differently.
    /// </remarks>
    internal sealed class BpePreTokenization
    {
        private const string Gpt2 = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
        private const string OptionalNonLetterCodePoint = @"(?:[^\r\n\p{L}\p{N}\uD800-\uDFFF]|[\uD800-\uDBFF][\uDC00-\uDFFF])?";
        private const string Contractions = @"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
        private const string Llama3 = Contractions + "|" + OptionalNonLetterCodePoint + @"\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
        private const string Qwen2 = Contractions + "|" + OptionalNonLetterCodePoint + @"\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

        private static readonly string[] s_default = { @"[\p{P}\$\+<=>\^~\|]+", Gpt2, @"\p{N}+", "[0-9][0-9][0-9]" };

        private BpePreTokenization(string[] patterns, bool ignoreMerges = false, bool? addBos = null, bool cleanSpaces = true)
        {
            Patterns = patterns;
            IgnoreMerges = ignoreMerges;
            AddBos = addBos;
            CleanSpaces = cleanSpaces;
        }

        /// <summary>Regexes applied in turn, each to the pieces the previous one produced (unmatched text stays a piece).</summary>
        public string[] Patterns { get; }

        /// <summary>A word that is itself a vocabulary entry is emitted whole, without merging (Llama 3).</summary>
        public bool IgnoreMerges { get; }

        /// <summary>The <c>add_bos</c> default this pre-tokenizer implies (before <c>tokenizer.ggml.add_bos_token</c>).</summary>
        public bool? AddBos { get; }

        /// <summary>Whether detokenizing removes spaces before punctuation and contractions (llama.cpp's clean_spaces).</summary>
        public bool CleanSpaces { get; }

        /// <summary>Resolves a <c>tokenizer.ggml.pre</c> value.</summary>
        /// <exception cref="TokenizerNotSupportedException">The pre-tokenizer is not one of the supported ones.</exception>
        public static BpePreTokenization Resolve(string? pre, string source)
        {
            switch (pre ?? "")
            {
                case "":
                case "default":
                    return new BpePreTokenization(s_default);
                case "gpt-2":
                case "phi-2":
                case "mpt":
                case "olmo":
                    return new BpePreTokenization(new[] { Gpt2 });
                case "llama3":
                case "llama-v3":
                case "llama-bpe":
                case "falcon3":
                case "falcon-h1":
                case "pixtral":
                case "midm-2.0":
                case "lfm2":
                    return new BpePreTokenization(new[] { Llama3 }, ignoreMerges: true, addBos: true);
                case "dbrx":
                case "smaug-bpe":
                    return new BpePreTokenization(new[] { Llama3 });
                case "qwen2":
                case "deepseek-r1-qwen":
                    return new BpePreTokenization(new[] { Qwen2 }, cleanSpaces: false);
                case "stablelm2":
                    return new BpePreTokenization(new[] { Qwen2 });
                default:
                    throw new TokenizerNotSupportedException("tokenizer.ggml.pre", pre!,
                        $"{source}: tokenizer.ggml.pre = '{pre}' is not supported (supported: default, gpt-2, llama-bpe/llama3, qwen2 and their aliases)");
            }
        }
    }
}
