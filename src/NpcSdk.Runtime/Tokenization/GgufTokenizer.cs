using System;
using System.Collections.Generic;
using System.Text;
using NpcSdk.Gguf;

namespace NpcSdk.Tokenization
{
    /// <summary>
    /// The tokenizer stored in a GGUF file's <c>tokenizer.ggml.*</c> metadata, giving the same ids and text as llama.cpp's
    /// <c>llama_tokenize</c>, <c>llama_token_to_piece</c> and <c>llama_detokenize</c>.
    /// </summary>
    /// <remarks>
    /// Families: <c>llama</c> (SentencePiece BPE with byte fallback) and <c>gpt2</c> (byte-level BPE, pre-tokenizers
    /// default, gpt-2, llama-bpe/llama3, qwen2), both run by Microsoft.ML.Tokenizers. This class adds what llama.cpp does
    /// around them: special tokens split out of the text first, BOS/EOS, token attributes, end-of-generation tokens and
    /// detokenization. Thread-safe for concurrent use once built.
    /// </remarks>
    public sealed class GgufTokenizer
    {
        private const string Prefix = "tokenizer.ggml.";

        // Token texts llama.cpp (llama_vocab::impl::load) treats as end-of-turn, end-of-generation and fill-in-the-middle
        // tokens when the metadata does not name them; each found is made CONTROL. Where several exist we take them in
        // this order (llama.cpp takes whichever its hash map yields first).
        private static readonly string[] s_endOfTurnTexts =
        {
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
            "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
        };

        private static readonly string[] s_endOfGenerationTexts =
        {
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
            "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>",
            "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
        };

        private static readonly string[] s_fimPrefixTexts = { "<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>" };
        private static readonly string[] s_fimSuffixTexts = { "<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>" };
        private static readonly string[] s_fimMiddleTexts = { "<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>" };
        private static readonly string[] s_fimPadTexts = { "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]" };
        private static readonly string[] s_fimRepoTexts = { "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>" };
        private static readonly string[] s_fimSeparatorTexts = { "<|file_sep|>" };

        private readonly TokenTable _tokens;
        private readonly TokenAttributes[] _attributes;
        private readonly IVocabularyModel _model;
        private readonly SpecialTokenSplitter _specialTokens;
        private readonly HashSet<int> _endOfGeneration;
        private readonly bool _addSpacePrefix;
        private readonly bool _cleanSpaces;

        private GgufTokenizer(string[] tokens, TokenAttributes[] attributes, IVocabularyModel model, SpecialIds ids,
            HashSet<int> endOfGeneration, bool addBos, bool addEos, bool addSpacePrefix, bool cleanSpaces)
        {
            _tokens = new TokenTable(tokens);
            _attributes = attributes;
            _model = model;
            _endOfGeneration = endOfGeneration;
            BosId = ids.Bos;
            EosId = ids.Eos;
            EotId = ids.Eot;
            AddBos = addBos;
            AddEos = addEos;
            _addSpacePrefix = addSpacePrefix;
            _cleanSpaces = cleanSpaces;
            _specialTokens = new SpecialTokenSplitter(tokens, attributes);
        }

        /// <summary>Number of vocabulary entries.</summary>
        public int VocabSize => _tokens.Count;

        /// <summary>Beginning-of-sequence token id, or -1.</summary>
        public int BosId { get; }

        /// <summary>End-of-sequence token id, or -1.</summary>
        public int EosId { get; }

        /// <summary>End-of-turn token id (metadata, else detected by text like <c>&lt;|im_end|&gt;</c>), or -1.</summary>
        public int EotId { get; }

        /// <summary>Whether <see cref="Encode(string, bool, bool)"/> with <c>addSpecial</c> starts with <see cref="BosId"/>.</summary>
        public bool AddBos { get; }

        /// <summary>Whether <see cref="Encode(string, bool, bool)"/> with <c>addSpecial</c> ends with <see cref="EosId"/>.</summary>
        public bool AddEos { get; }

        /// <summary>Builds the tokenizer described by a GGUF file's metadata.</summary>
        /// <exception cref="GgufFormatException">Tokenizer metadata is missing or inconsistent.</exception>
        /// <exception cref="TokenizerNotSupportedException"><c>tokenizer.ggml.model</c> or <c>tokenizer.ggml.pre</c> is not supported.</exception>
        public static GgufTokenizer FromGguf(GgufFile file)
        {
            if (file == null) throw new ArgumentNullException(nameof(file));
            string source = file.Source;
            string model = file.GetString(Prefix + "model")
                ?? throw new GgufFormatException($"{source}: required metadata '{Prefix}model' is missing");
            bool sentencePiece = model == "llama";
            if (!sentencePiece && model != "gpt2")
            {
                throw new TokenizerNotSupportedException(Prefix + "model", model,
                    $"{source}: {Prefix}model = '{model}' is not supported (supported: llama, gpt2)");
            }

            string[] tokens = ReadTokens(file, out Dictionary<string, int> tokenToId);
            TokenAttributes[] attributes = ReadAttributes(file, tokens.Length);
            BpePreTokenization? pre = sentencePiece ? null : BpePreTokenization.Resolve(file.GetString(Prefix + "pre"), source);

            // Defaults per family, then metadata, as llama_vocab::impl::load.
            bool addSpacePrefix = file.GetBool(Prefix + "add_space_prefix", sentencePiece);
            bool addBos = file.GetBool(Prefix + "add_bos_token", sentencePiece || pre!.AddBos == true);
            bool addEos = file.GetBool(Prefix + "add_eos_token", false);
            bool cleanSpaces = !sentencePiece && pre!.CleanSpaces;

            int n = tokens.Length;
            var ids = new SpecialIds
            {
                Bos = ReadSpecialId(file, "bos_token_id", sentencePiece ? 1 : 11, n),
                Eos = ReadSpecialId(file, "eos_token_id", sentencePiece ? 2 : 11, n),
                Eot = ReadSpecialId(file, "eot_token_id", -1, n),
                Eom = ReadSpecialId(file, "eom_token_id", -1, n),
                Unknown = ReadSpecialId(file, "unknown_token_id", sentencePiece ? 0 : -1, n),
                FimPad = ReadSpecialId(file, "fim_pad_token_id", -1, n),
                FimRepo = ReadSpecialId(file, "fim_rep_token_id", -1, n),
                FimSeparator = ReadSpecialId(file, "fim_sep_token_id", -1, n),
            };
            if (addBos && ids.Bos < 0) throw new GgufFormatException($"{source}: {Prefix}add_bos_token is true but {Prefix}bos_token_id is not set");
            if (addEos && ids.Eos < 0) throw new GgufFormatException($"{source}: {Prefix}add_eos_token is true but {Prefix}eos_token_id is not set");

            HashSet<int> endOfGeneration = DetectEndOfGeneration(tokenToId, attributes, ref ids);

            IVocabularyModel vocabulary;
            if (sentencePiece)
            {
                float[]? scores = ReadScores(file, n);
                vocabulary = new SentencePieceAdapter(source, tokens, scores, attributes, Math.Max(ids.Unknown, 0), ids.Bos, ids.Eos, addSpacePrefix);
            }
            else
            {
                string[] merges = file.GetArray<string>(Prefix + "merges")
                    ?? throw new GgufFormatException($"{source}: required metadata '{Prefix}merges' is missing");
                vocabulary = new ByteLevelBpeAdapter(source, tokenToId, merges, pre!);
            }

            return new GgufTokenizer(tokens, attributes, vocabulary, ids, endOfGeneration, addBos, addEos, addSpacePrefix, cleanSpaces);
        }

        /// <summary>True for tokens that end generation: EOS, EOT, EOM and llama.cpp's other end-of-generation tokens.</summary>
        public bool IsEndOfGeneration(int id) => _endOfGeneration.Contains(id);

        /// <summary>True for CONTROL tokens (hidden when detokenizing without <c>unparseSpecial</c>).</summary>
        public bool IsControl(int id) => (uint)id < (uint)_tokens.Count && (_attributes[id] & TokenAttributes.Control) != 0;

        /// <summary>The raw vocabulary string of a token (e.g. "▁the", "Ġthe", "&lt;0x0A&gt;").</summary>
        public string TokenText(int id)
        {
            CheckId(id);
            return _tokens[id];
        }

        /// <summary>Tokenizes text like <c>llama_tokenize</c>.</summary>
        /// <param name="text">The text.</param>
        /// <param name="addSpecial">Add BOS/EOS as the vocabulary's add_bos/add_eos say.</param>
        /// <param name="parseSpecial">Turn CONTROL and UNKNOWN token texts in <paramref name="text"/> into their ids. USER_DEFINED
        /// tokens are always split out.</param>
        public int[] Encode(string text, bool addSpecial = true, bool parseSpecial = false)
        {
            if (text == null) throw new ArgumentNullException(nameof(text));
            var output = new List<int>(text.Length / 3 + 2);
            if (addSpecial && AddBos) output.Add(BosId);

            bool afterSpecial = true;
            foreach (SpecialTokenSplitter.Fragment fragment in _specialTokens.Split(text, parseSpecial))
            {
                if (fragment.TokenId >= 0)
                {
                    output.Add(fragment.TokenId);
                    afterSpecial = true;
                }
                else
                {
                    _model.EncodeFragment(text.Substring(fragment.Start, fragment.Length), afterSpecial, output);
                    afterSpecial = false;
                }
            }

            if (addSpecial && AddEos) output.Add(EosId);
            return output.ToArray();
        }

        /// <summary>
        /// Encodes a prompt made of markup and content segments as one text: special tokens are parsed only inside
        /// markup, and plain text runs across segment boundaries exactly as if the prompt were one string.
        /// </summary>
        /// <param name="segments">The prompt, in order.</param>
        /// <param name="addSpecial">Add BOS (and EOS) as the vocabulary's metadata says.</param>
        public int[] Encode(IReadOnlyList<TextSegment> segments, bool addSpecial = true)
        {
            if (segments == null) throw new ArgumentNullException(nameof(segments));
            var output = new List<int>();
            if (addSpecial && AddBos) output.Add(BosId);
            var plain = new StringBuilder();
            bool afterSpecial = true;
            void FlushPlain()
            {
                if (plain.Length == 0) return;
                _model.EncodeFragment(plain.ToString(), afterSpecial, output);
                plain.Clear();
                afterSpecial = false;
            }
            foreach (var segment in segments)
            {
                if (string.IsNullOrEmpty(segment.Text)) continue;
                if (!segment.IsMarkup)
                {
                    plain.Append(segment.Text);
                    continue;
                }
                foreach (SpecialTokenSplitter.Fragment fragment in _specialTokens.Split(segment.Text, parseSpecial: true))
                {
                    if (fragment.TokenId >= 0)
                    {
                        FlushPlain();
                        output.Add(fragment.TokenId);
                        afterSpecial = true;
                    }
                    else
                    {
                        plain.Append(segment.Text, fragment.Start, fragment.Length);
                    }
                }
            }
            FlushPlain();
            if (addSpecial && AddEos) output.Add(EosId);
            return output.ToArray();
        }

        /// <summary>The bytes of one token, like <c>llama_token_to_piece(lstrip: 0)</c>.</summary>
        /// <param name="id">The token.</param>
        /// <param name="special">Whether CONTROL and UNKNOWN tokens render as their text (otherwise they are empty).</param>
        public byte[] TokenToPiece(int id, bool special = true)
        {
            CheckId(id);
            TokenAttributes a = _attributes[id];
            if (!special && (a & (TokenAttributes.Unknown | TokenAttributes.Control)) != 0) return Array.Empty<byte>();
            if ((a & (TokenAttributes.Unknown | TokenAttributes.Control | TokenAttributes.UserDefined)) != 0) return _tokens.Utf8Bytes(id).ToArray();
            if ((a & TokenAttributes.Normal) != 0) return _model.NormalPiece(_tokens[id]);
            if ((a & TokenAttributes.Byte) != 0) return new[] { ByteTokenValue(_tokens[id]) };
            return Array.Empty<byte>(); // UNUSED and UNDEFINED render as nothing, as in llama.cpp
        }

        /// <summary>Detokenizes like <c>llama_detokenize</c>; bytes that are not valid UTF-8 become U+FFFD.</summary>
        /// <param name="ids">The tokens.</param>
        /// <param name="removeSpecial">Drop a leading BOS and trailing EOS when the vocabulary adds them.</param>
        /// <param name="unparseSpecial">Render CONTROL and UNKNOWN tokens as their text.</param>
        public string Decode(IReadOnlyList<int> ids, bool removeSpecial = false, bool unparseSpecial = true)
        {
            return Encoding.UTF8.GetString(DecodeBytes(ids, removeSpecial, unparseSpecial));
        }

        /// <summary>Detokenizes like <c>llama_detokenize</c>, returning the exact bytes.</summary>
        /// <param name="ids">The tokens.</param>
        /// <param name="removeSpecial">Drop a leading BOS and trailing EOS when the vocabulary adds them.</param>
        /// <param name="unparseSpecial">Render CONTROL and UNKNOWN tokens as their text.</param>
        public byte[] DecodeBytes(IReadOnlyList<int> ids, bool removeSpecial = false, bool unparseSpecial = true)
        {
            if (ids == null) throw new ArgumentNullException(nameof(ids));
            int first = 0, count = ids.Count;

            // The space SentencePiece put before the first word is not part of the text...
            bool removeSpace = _addSpacePrefix;
            if (removeSpecial && AddBos && count > 0 && ids[0] == BosId)
            {
                // ...except that llama.cpp keeps it when it strips a BOS.
                removeSpace = false;
                first++;
                count--;
            }
            if (removeSpecial && AddEos && count > 0 && ids[first + count - 1] == EosId) count--;

            var bytes = new List<byte>(count * 4);
            for (int i = first; i < first + count; i++)
            {
                byte[] piece = TokenToPiece(ids[i], unparseSpecial);
                int skip = removeSpace && piece.Length > 0 && piece[0] == (byte)' ' ? 1 : 0;
                for (int k = skip; k < piece.Length; k++) bytes.Add(piece[k]);
                removeSpace = false;
            }

            byte[] text = bytes.ToArray();
            if (!_cleanSpaces) return text;
            int length = CleanUpSpaces(text);
            Array.Resize(ref text, length);
            return text;
        }

        /// <summary>A decoder for generated tokens that emits text only in whole UTF-8 characters.</summary>
        /// <param name="special">Whether CONTROL tokens render as their text.</param>
        public TokenStreamDecoder CreateStreamDecoder(bool special = true) => new TokenStreamDecoder(this, special);

        private struct SpecialIds
        {
            public int Bos, Eos, Eot, Eom, Unknown, FimPad, FimRepo, FimSeparator;
        }

        private void CheckId(int id)
        {
            if ((uint)id >= (uint)_tokens.Count)
                throw new ArgumentOutOfRangeException(nameof(id), id, $"token id must be in [0, {_tokens.Count})");
        }

        private static string[] ReadTokens(GgufFile file, out Dictionary<string, int> tokenToId)
        {
            string[] raw = file.GetArray<string>(Prefix + "tokens")
                ?? throw new GgufFormatException($"{file.Source}: required metadata '{Prefix}tokens' is missing");
            var tokens = new string[raw.Length];
            tokenToId = new Dictionary<string, int>(raw.Length, StringComparer.Ordinal);
            for (int i = 0; i < raw.Length; i++)
            {
                string token = raw[i].Length == 0 ? $"[EMPTY_{i}]" : raw[i]; // as llama.cpp
                tokens[i] = token;
                if (tokenToId.ContainsKey(token))
                    throw new GgufFormatException($"{file.Source}: {Prefix}tokens has '{token}' at ids {tokenToId[token]} and {i}");
                tokenToId.Add(token, i);
            }
            return tokens;
        }

        private static TokenAttributes[] ReadAttributes(GgufFile file, int n)
        {
            var attributes = new TokenAttributes[n];
            int[]? types = file.GetArray<int>(Prefix + "token_type");
            if (types != null && types.Length < n)
                throw new GgufFormatException($"{file.Source}: {Prefix}token_type has {types.Length} entries for {n} tokens");
            for (int i = 0; i < n; i++) attributes[i] = types == null ? TokenAttributes.Normal : TokenTypes.ToAttributes(types[i]);
            return attributes;
        }

        private static float[]? ReadScores(GgufFile file, int n)
        {
            if (!file.TryGetValue(Prefix + "scores", out GgufValue value)) return null;
            float[] scores;
            switch (value.Value)
            {
                case float[] f: scores = f; break;
                case int[] ints: scores = Array.ConvertAll(ints, i => (float)i); break;
                default: throw new GgufFormatException($"{file.Source}: {Prefix}scores must be an array of float32 or int32");
            }
            if (scores.Length < n) throw new GgufFormatException($"{file.Source}: {Prefix}scores has {scores.Length} entries for {n} tokens");
            return scores;
        }

        /// <summary>A special token id: the metadata value if in range, else the family default if in range, else -1.</summary>
        private static int ReadSpecialId(GgufFile file, string key, int defaultId, int n)
        {
            int id = defaultId >= 0 && defaultId < n ? defaultId : -1;
            long value = file.GetInt64(Prefix + key, -1);
            return value >= 0 && value < n ? (int)value : id;
        }

        /// <summary>
        /// Detects EOT/EOM/FIM tokens by text where metadata does not name them, makes them CONTROL, and collects the
        /// end-of-generation set, as llama.cpp does.
        /// </summary>
        private static HashSet<int> DetectEndOfGeneration(Dictionary<string, int> tokenToId, TokenAttributes[] attributes, ref SpecialIds ids)
        {
            if (ids.Eot < 0) ids.Eot = FindControl(tokenToId, attributes, s_endOfTurnTexts);
            if (ids.Eom < 0) ids.Eom = FindControl(tokenToId, attributes, new[] { "<|eom_id|>" });
            FindControl(tokenToId, attributes, s_fimPrefixTexts);
            FindControl(tokenToId, attributes, s_fimSuffixTexts);
            FindControl(tokenToId, attributes, s_fimMiddleTexts);
            if (ids.FimPad < 0) ids.FimPad = FindControl(tokenToId, attributes, s_fimPadTexts);
            if (ids.FimRepo < 0) ids.FimRepo = FindControl(tokenToId, attributes, s_fimRepoTexts);
            if (ids.FimSeparator < 0) ids.FimSeparator = FindControl(tokenToId, attributes, s_fimSeparatorTexts);

            var endOfGeneration = new HashSet<int>();
            foreach (string text in s_endOfGenerationTexts)
            {
                if (!tokenToId.TryGetValue(text, out int id)) continue;
                attributes[id] |= TokenAttributes.Control;
                endOfGeneration.Add(id);
            }
            foreach (int id in new[] { ids.FimPad, ids.FimRepo, ids.FimSeparator, ids.Eos, ids.Eot, ids.Eom })
            {
                if (id >= 0) endOfGeneration.Add(id);
            }
            return endOfGeneration;
        }

        /// <summary>The first of <paramref name="texts"/> in the vocabulary, made CONTROL; -1 if none.</summary>
        private static int FindControl(Dictionary<string, int> tokenToId, TokenAttributes[] attributes, string[] texts)
        {
            foreach (string text in texts)
            {
                if (!tokenToId.TryGetValue(text, out int id)) continue;
                attributes[id] |= TokenAttributes.Control;
                return id;
            }
            return -1;
        }

        /// <summary>The byte of a "&lt;0xNN&gt;" token.</summary>
        private static byte ByteTokenValue(string text)
        {
            int value = 0;
            for (int i = 3; i < 5 && i < text.Length; i++)
            {
                int digit = HexDigit(text[i]);
                if (digit < 0) break;
                value = value * 16 + digit;
            }
            return (byte)value;
        }

        private static int HexDigit(char c)
        {
            if (c >= '0' && c <= '9') return c - '0';
            if (c >= 'a' && c <= 'f') return c - 'a' + 10;
            if (c >= 'A' && c <= 'F') return c - 'A' + 10;
            return -1;
        }

        /// <summary>
        /// llama.cpp's <c>clean_spaces</c> post-processing of BPE detokenization, in place: drops the space before
        /// "?!.,", around a lone apostrophe, and before 's 'm 're 've. Returns the new length.
        /// </summary>
        private static int CleanUpSpaces(byte[] text)
        {
            // Three passes, each a literal port of llama_vocab::impl::detokenize (including reading bytes it has rewritten).
            int total = text.Length;

            int total1 = total;
            total = total > 0 ? 1 : 0;
            for (int i = 1; i < total1; ++i)
            {
                byte x = text[i];
                if (text[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) total--;
                text[total++] = x;
            }

            int total2 = total;
            total = total > 0 ? 1 : 0;
            for (int i = 1; i < total2; ++i)
            {
                byte x = text[i];
                if (x == '\'' && i + 1 < total2 && text[i - 1] == ' ' && text[i + 1] == ' ')
                {
                    total--;
                    text[++i] = 0;
                }
                text[total++] = x;
            }

            int total3 = total;
            total = total > 0 ? 1 : 0;
            for (int i = 1; i < total3; ++i)
            {
                byte x = text[i];
                if (text[i - 1] == ' ' && x == '\'' && i + 1 < total3)
                {
                    byte x1 = text[i + 1];
                    if (x1 == 's' || x1 == 'm')
                    {
                        total--;
                    }
                    else if (x1 != 't' && x1 != 'd' && i + 2 < total3)
                    {
                        byte x2 = text[i + 2];
                        if ((x1 == 'r' && x2 == 'e') || (x1 == 'v' && x2 == 'e')) total--;
                    }
                }
                text[total++] = x;
            }
            return total;
        }
    }
}
