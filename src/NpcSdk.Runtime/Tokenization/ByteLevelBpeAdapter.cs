using System;
using System.Collections.Generic;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace NpcSdk.Tokenization
{
    /// <summary>
    /// <c>tokenizer.ggml.model = gpt2</c>: byte-level BPE, run by <see cref="BpeTokenizer"/> built from the GGUF tokens
    /// and merges, one pre-tokenized word at a time.
    /// </summary>
    /// <remarks>
    /// Words are split here rather than inside the library because llama.cpp's <c>unicode_regex_split</c> keeps text no
    /// pattern matches as a word of its own (the library's <see cref="RegexPreTokenizer"/> drops it), applies some
    /// pre-tokenizers as a sequence of patterns, and Llama 3 emits a word that is a vocabulary entry without merging
    /// (<c>ignore_merges</c>), which the library has no option for. The library still owns the vocabulary, the merges and
    /// the byte-level mapping.
    /// </remarks>
    internal sealed class ByteLevelBpeAdapter : IVocabularyModel
    {
        private readonly BpeTokenizer _bpe;
        private readonly RegexPreTokenizer[] _stages;
        private readonly bool _ignoreMerges;
        private readonly IReadOnlyDictionary<string, int> _tokenToId;

        public ByteLevelBpeAdapter(string source, Dictionary<string, int> tokenToId, string[] merges, BpePreTokenization pre)
        {
            _tokenToId = tokenToId;
            _ignoreMerges = pre.IgnoreMerges;
            _stages = new RegexPreTokenizer[pre.Patterns.Length];
            for (int i = 0; i < _stages.Length; i++)
                _stages[i] = new RegexPreTokenizer(new Regex(pre.Patterns[i], RegexOptions.CultureInvariant), null);

            try
            {
                _bpe = Create(tokenToId, merges);
            }
            catch (Exception e) when (e is InvalidOperationException || e is ArgumentException)
            {
                // llama.cpp tolerates merges it can never apply; the library rejects them. Drop those and retry.
                _bpe = Create(tokenToId, UsableMerges(tokenToId, merges));
            }

            BpeTokenizer Create(Dictionary<string, int> vocabulary, IEnumerable<string> mergeList)
            {
                return BpeTokenizer.Create(new BpeOptions(vocabulary)
                {
                    Merges = mergeList,
                    ByteLevel = true,
                    PreTokenizer = _stages[0],
                });
            }
        }

        public void EncodeFragment(string fragment, bool afterSpecial, List<int> output)
        {
            foreach (string word in SplitWords(fragment))
            {
                if (_ignoreMerges && _tokenToId.TryGetValue(ByteLevelAlphabet.Encode(word), out int whole))
                {
                    output.Add(whole);
                    continue;
                }
                output.AddRange(_bpe.EncodeToIds(word, considerPreTokenization: false, considerNormalization: false));
            }
        }

        public byte[] NormalPiece(string tokenText) => ByteLevelAlphabet.Decode(tokenText);

        /// <summary>Splits a fragment like llama.cpp's <c>unicode_regex_split</c>: matches and the gaps between them are words.</summary>
        internal List<string> SplitWords(string fragment)
        {
            var words = new List<string> { fragment };
            foreach (RegexPreTokenizer stage in _stages)
            {
                var next = new List<string>(words.Count * 2);
                foreach (string text in words)
                {
                    int end = 0;
                    foreach ((int offset, int length) in stage.PreTokenize(text))
                    {
                        if (offset > end) next.Add(text.Substring(end, offset - end));
                        next.Add(text.Substring(offset, length));
                        end = offset + length;
                    }
                    if (end < text.Length) next.Add(text.Substring(end));
                }
                words = next;
            }
            return words;
        }

        /// <summary>The merges the library accepts: "left right" with both sides and their concatenation in the vocabulary, first occurrence only.</summary>
        private static IEnumerable<string> UsableMerges(Dictionary<string, int> vocabulary, string[] merges)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (string merge in merges)
            {
                if (!seen.Add(merge)) continue;
                int space = merge.IndexOf(' ', 1);
                if (space < 0 || space == merge.Length - 1 || merge.IndexOf(' ', space + 1) >= 0) continue;
                string left = merge.Substring(0, space), right = merge.Substring(space + 1);
                if (vocabulary.ContainsKey(left) && vocabulary.ContainsKey(right) && vocabulary.ContainsKey(left + right))
                    yield return merge;
            }
        }
    }
}
