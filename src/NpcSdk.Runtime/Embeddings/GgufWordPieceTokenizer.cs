using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.ML.Tokenizers;
using NpcSdk.Gguf;
using NpcSdk.Tokenization;

namespace NpcSdk.Embeddings
{
    /// <summary>
    /// <c>tokenizer.ggml.model = bert</c>: WordPiece as llama.cpp runs it (<c>LLAMA_VOCAB_TYPE_WPM</c>), giving the ids of
    /// <c>llama_tokenize</c>. Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/> owns the vocabulary, the greedy
    /// longest-match WordPiece split, [UNK] and the [CLS] … [SEP] framing.
    /// </summary>
    /// <remarks>
    /// Around the library, as llama.cpp does: special tokens are split out of the raw text first (llama.cpp matches
    /// "[CLS]" before normalising; the library would match it after lower-casing, so "[cls]" too), and each plain
    /// fragment goes through <see cref="LlamaCppWordPieceNormalizer"/> (see there why the library's own normaliser and
    /// pre-tokenizer cannot be used). Thread-safe once built.
    /// </remarks>
    internal sealed class GgufWordPieceTokenizer
    {
        private const string Prefix = "tokenizer.ggml.";
        private const string WordStart = "\u2581";
        private const string Continuation = "##";

        // llama.cpp has no word-length limit; the library turns longer words into [UNK] (HF's default is 100 characters).
        // Words this long cannot fit the 512-token context anyway, and the library rents a buffer of this size per word.
        private const int MaxCharsPerWord = 8192;

        private readonly BertTokenizer _bert;
        private readonly string[] _tokens;
        private readonly TokenAttributes[] _attributes;
        private readonly SpecialTokenSplitter _specialTokens;

        private GgufWordPieceTokenizer(BertTokenizer bert, string[] tokens, TokenAttributes[] attributes, int clsId, int sepId)
        {
            _bert = bert;
            _tokens = tokens;
            _attributes = attributes;
            _specialTokens = new SpecialTokenSplitter(tokens, attributes);
            ClsId = clsId;
            SepId = sepId;
        }

        /// <summary>Number of vocabulary entries.</summary>
        public int VocabSize => _tokens.Length;

        /// <summary>The token that starts every sequence (llama.cpp's BOS for WPM vocabularies).</summary>
        public int ClsId { get; }

        /// <summary>The token that ends every sequence.</summary>
        public int SepId { get; }

        /// <summary>Builds the tokenizer from a GGUF file's <c>tokenizer.ggml.*</c> metadata.</summary>
        /// <exception cref="GgufFormatException">Tokens or a special token id are missing or inconsistent.</exception>
        /// <exception cref="TokenizerNotSupportedException"><c>tokenizer.ggml.model</c> is not <c>bert</c>.</exception>
        public static GgufWordPieceTokenizer FromGguf(GgufFile file)
        {
            string source = file.Source;
            string model = file.GetString(Prefix + "model")
                ?? throw new GgufFormatException($"{source}: required metadata '{Prefix}model' is missing");
            if (model != "bert")
                throw new TokenizerNotSupportedException(Prefix + "model", model, $"{source}: {Prefix}model = '{model}' is not a WordPiece (bert) vocabulary");

            string[] tokens = file.GetArray<string>(Prefix + "tokens")
                ?? throw new GgufFormatException($"{source}: required metadata '{Prefix}tokens' is missing");
            int[]? types = file.GetArray<int>(Prefix + "token_type");
            if (types != null && types.Length != tokens.Length)
                throw new GgufFormatException($"{source}: {Prefix}token_type has {types.Length} entries for {tokens.Length} tokens");
            var attributes = new TokenAttributes[tokens.Length];
            for (int i = 0; i < tokens.Length; i++) attributes[i] = types == null ? TokenAttributes.Normal : TokenTypes.ToAttributes(types[i]);

            // llama.cpp's WPM defaults (llama_vocab::impl::load), overridden by the metadata; llama.cpp frames with its BOS.
            int cls = SpecialId(file, "bos_token_id", SpecialId(file, "cls_token_id", 101, tokens.Length), tokens.Length);
            int sep = SpecialId(file, "seperator_token_id", 102, tokens.Length);
            int unk = SpecialId(file, "unknown_token_id", 100, tokens.Length);
            int pad = SpecialId(file, "padding_token_id", 0, tokens.Length);
            int mask = SpecialId(file, "mask_token_id", 103, tokens.Length);

            // llama.cpp lower-cases and strips accents whatever the metadata says; a file that says false is a cased model.
            bool lowerCase = file.GetBool(Prefix + "normalizer.lowercase", true);
            bool stripAccents = file.GetBool(Prefix + "normalizer.strip_accents", true);

            string?[] pieces = WordPieces(source, tokens, attributes);
            var options = new BertOptions
            {
                Normalizer = new LlamaCppWordPieceNormalizer(lowerCase, stripAccents),
                PreTokenizer = PreTokenizer.CreateWhiteSpace(),
                SplitOnSpecialTokens = false,
                UnknownToken = Piece(unk, "unknown_token_id"),
                ClassificationToken = Piece(cls, "bos_token_id"),
                SeparatorToken = Piece(sep, "seperator_token_id"),
                PaddingToken = Piece(pad, "padding_token_id"),
                MaskingToken = Piece(mask, "mask_token_id"),
                ContinuingSubwordPrefix = Continuation,
                MaxInputCharsPerWord = MaxCharsPerWord,
            };
            BertTokenizer bert;
            using (var vocab = VocabularyFile(pieces))
            {
                try
                {
                    bert = BertTokenizer.Create(vocab, options);
                }
                catch (Exception e) when (e is ArgumentException || e is KeyNotFoundException)
                {
                    throw new GgufFormatException($"{source}: the WordPiece vocabulary is unusable: {e.Message}", e);
                }
            }
            return new GgufWordPieceTokenizer(bert, tokens, attributes, cls, sep);

            string Piece(int id, string key) => pieces[id]
                ?? throw new GgufFormatException($"{source}: {Prefix}{key} = {id} names a token whose WordPiece form '{tokens[id]}' is taken by an earlier token");
        }

        /// <summary>Tokenizes like <c>llama_tokenize</c> on a WPM vocabulary.</summary>
        /// <param name="text">The text.</param>
        /// <param name="addSpecial">Frame the ids with [CLS] … [SEP].</param>
        /// <param name="parseSpecial">Turn CONTROL token texts in <paramref name="text"/> (e.g. "[SEP]") into their ids.</param>
        public int[] Encode(string text, bool addSpecial = true, bool parseSpecial = true)
        {
            if (text == null) throw new ArgumentNullException(nameof(text));
            var ids = new List<int>(text.Length / 4 + 2);
            foreach (SpecialTokenSplitter.Fragment fragment in _specialTokens.Split(text, parseSpecial))
            {
                if (fragment.TokenId >= 0)
                    ids.Add(fragment.TokenId);
                else
                    ids.AddRange(_bert.EncodeToIds(text.Substring(fragment.Start, fragment.Length), addSpecialTokens: false));
            }
            if (!addSpecial) return ids.ToArray();
            // llama.cpp puts BOS and SEP around every WPM sequence, whatever add_bos_token/add_eos_token say.
            var framed = new int[ids.Count + 2];
            framed[0] = ClsId;
            ids.CopyTo(framed, 1);
            framed[framed.Length - 1] = SepId;
            return framed;
        }

        /// <summary>The text of one token like <c>llama_token_to_piece(lstrip: 0, special: true)</c>: a word start gets its space back.</summary>
        public string TokenToPiece(int id)
        {
            if ((uint)id >= (uint)_tokens.Length) throw new ArgumentOutOfRangeException(nameof(id), id, $"token id outside the vocabulary (0..{_tokens.Length - 1})");
            TokenAttributes a = _attributes[id];
            if ((a & (TokenAttributes.Control | TokenAttributes.Unknown | TokenAttributes.UserDefined)) != 0) return _tokens[id];
            if ((a & TokenAttributes.Normal) != 0) return _tokens[id].Replace(WordStart, " ");
            return string.Empty; // llama.cpp renders other token types (unused, byte) as nothing for WPM
        }

        /// <summary>
        /// The GGUF tokens in BERT <c>vocab.txt</c> form: llama.cpp's converter wrote word starts "word" as "▁word" and
        /// continuations "##piece" as "piece", and left CONTROL tokens ("[CLS]") as they were. Null where a form repeats.
        /// </summary>
        private static string?[] WordPieces(string source, string[] tokens, TokenAttributes[] attributes)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var pieces = new string?[tokens.Length];
            for (int id = 0; id < tokens.Length; id++)
            {
                string token = tokens[id];
                if (token.IndexOf('\n') >= 0 || token.IndexOf('\r') >= 0)
                    throw new TokenizerNotSupportedException(Prefix + "tokens", token, $"{source}: token {id} contains a line break, which a WordPiece vocabulary cannot hold");
                string piece = (attributes[id] & TokenAttributes.Control) != 0 ? token
                    : token.StartsWith(WordStart, StringComparison.Ordinal) ? token.Substring(WordStart.Length)
                    : Continuation + token;
                // Two entries can meet in WordPiece form (a CONTROL "[X]" and a word "▁[X]"). '[' always stands alone as
                // punctuation, so neither is ever looked up inside a word, and leaving the later one out loses nothing.
                pieces[id] = piece.Length > 0 && seen.Add(piece) ? piece : null;
            }
            return pieces;
        }

        /// <summary>One piece per line, line number = id (an empty line keeps the numbering for a left-out piece).</summary>
        private static MemoryStream VocabularyFile(string?[] pieces)
        {
            var text = new StringBuilder(pieces.Length * 8);
            foreach (string? piece in pieces) text.Append(piece).Append('\n');
            return new MemoryStream(new UTF8Encoding(false).GetBytes(text.ToString()), writable: false);
        }

        private static int SpecialId(GgufFile file, string key, int fallback, int vocabSize)
        {
            long id = file.GetInt64(Prefix + key, fallback);
            if (id < 0 || id >= vocabSize)
                throw new GgufFormatException($"{file.Source}: metadata '{Prefix}{key}' = {id} is outside the vocabulary (0..{vocabSize - 1})");
            return (int)id;
        }
    }
}
