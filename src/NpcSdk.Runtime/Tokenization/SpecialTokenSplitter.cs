using System;
using System.Collections.Generic;
using System.Text;

namespace NpcSdk.Tokenization
{
    /// <summary>
    /// Splits text around special tokens before the tokenizer model sees it, like llama.cpp's
    /// <c>tokenizer_st_partition</c>: for each CONTROL, USER_DEFINED or UNKNOWN token, longest text first, every
    /// occurrence in the remaining plain-text fragments becomes that token.
    /// </summary>
    /// <remarks>Without <c>parseSpecial</c> only USER_DEFINED tokens are split out, so plain text (a player typing
    /// "&lt;|im_start|&gt;") never produces a CONTROL token.</remarks>
    internal sealed class SpecialTokenSplitter
    {
        private readonly Dictionary<int, string> _texts = new Dictionary<int, string>();
        private readonly TokenAttributes[] _attributes;
        private readonly int[] _longestFirst;

        /// <summary>Orders the vocabulary's special tokens for splitting.</summary>
        /// <param name="tokens">The vocabulary (the special tokens' texts are kept).</param>
        /// <param name="attributes">Final token attributes; kept by reference.</param>
        public SpecialTokenSplitter(string[] tokens, TokenAttributes[] attributes)
        {
            _attributes = attributes;

            const TokenAttributes special = TokenAttributes.Control | TokenAttributes.UserDefined | TokenAttributes.Unknown;
            var ids = new List<int>();
            var lengths = new Dictionary<int, int>();
            for (int i = 0; i < tokens.Length; i++)
            {
                if ((attributes[i] & special) == 0) continue;
                ids.Add(i);
                _texts[i] = tokens[i];
                lengths[i] = Encoding.UTF8.GetByteCount(tokens[i]);
            }
            // llama.cpp orders by UTF-8 length only (std::sort, unstable); equal lengths go by id here.
            ids.Sort((a, b) => lengths[a] != lengths[b] ? lengths[b].CompareTo(lengths[a]) : a.CompareTo(b));
            _longestFirst = ids.ToArray();
        }

        /// <summary>Splits <paramref name="text"/> into special tokens and plain-text spans, in order.</summary>
        /// <param name="text">The text.</param>
        /// <param name="parseSpecial">Also split out CONTROL and UNKNOWN tokens.</param>
        public List<Fragment> Split(string text, bool parseSpecial)
        {
            var fragments = new List<Fragment>();
            if (text.Length == 0) return fragments;
            fragments.Add(new Fragment(-1, 0, text.Length));

            foreach (int id in _longestFirst)
            {
                if (!parseSpecial && (_attributes[id] & (TokenAttributes.Control | TokenAttributes.Unknown)) != 0) continue;
                string special = _texts[id];
                List<Fragment>? split = null;
                for (int f = 0; f < fragments.Count; f++)
                {
                    Fragment fragment = fragments[f];
                    int match = fragment.TokenId < 0 ? text.IndexOf(special, fragment.Start, fragment.Length, StringComparison.Ordinal) : -1;
                    if (match < 0)
                    {
                        split?.Add(fragment);
                        continue;
                    }

                    if (split == null)
                    {
                        split = new List<Fragment>(fragments.Count + 2);
                        for (int k = 0; k < f; k++) split.Add(fragments[k]);
                    }
                    int pos = fragment.Start, end = fragment.Start + fragment.Length;
                    while (match >= 0)
                    {
                        if (match > pos) split.Add(new Fragment(-1, pos, match - pos));
                        split.Add(new Fragment(id, match, special.Length));
                        pos = match + special.Length;
                        match = pos < end ? text.IndexOf(special, pos, end - pos, StringComparison.Ordinal) : -1;
                    }
                    if (pos < end) split.Add(new Fragment(-1, pos, end - pos));
                }
                if (split != null) fragments = split;
            }
            return fragments;
        }

        /// <summary>A special token (<see cref="TokenId"/> ≥ 0) or a span of plain text (<see cref="TokenId"/> = -1).</summary>
        internal readonly struct Fragment
        {
            public Fragment(int tokenId, int start, int length)
            {
                TokenId = tokenId;
                Start = start;
                Length = length;
            }

            public int TokenId { get; }

            public int Start { get; }

            public int Length { get; }
        }
    }
}
