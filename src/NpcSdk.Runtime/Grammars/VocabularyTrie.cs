using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using NpcSdk.Tokenization;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// A vocabulary's token bytes as a trie stored flat in preorder, each node with the index just past its subtree, so a
    /// mask walks shared prefixes once and skips a whole subtree when the grammar rejects its first byte. Built once per
    /// tokenizer. Control, unknown and end-of-generation tokens (and tokens without bytes) are not in the trie: they are
    /// never matched as text.
    /// </summary>
    internal sealed class VocabularyTrie
    {
        private static readonly ConditionalWeakTable<GgufTokenizer, VocabularyTrie> s_cache = new ConditionalWeakTable<GgufTokenizer, VocabularyTrie>();

        private VocabularyTrie(int vocabSize, byte[][] pieces, bool[] inTrie, int[] endOfGeneration, byte[] nodeByte, int[] nodeDepth,
            int[] nodeSkip, int[] tokenStart, int[] tokenIds, int maxDepth)
        {
            VocabSize = vocabSize;
            Pieces = pieces;
            InTrie = inTrie;
            EndOfGeneration = endOfGeneration;
            NodeByte = nodeByte;
            NodeDepth = nodeDepth;
            NodeSkip = nodeSkip;
            TokenStart = tokenStart;
            TokenIds = tokenIds;
            MaxDepth = maxDepth;
        }

        public int VocabSize { get; }

        /// <summary>Per token: its bytes (as llama_token_to_piece; empty for control and unknown tokens).</summary>
        public byte[][] Pieces { get; }

        /// <summary>Per token: whether it is matched by its bytes.</summary>
        public bool[] InTrie { get; }

        /// <summary>The tokenizer's end-of-generation tokens.</summary>
        public int[] EndOfGeneration { get; }

        /// <summary>Number of nodes (node 0 is the root).</summary>
        public int NodeCount => NodeByte.Length;

        /// <summary>Per node: the byte on the edge into it.</summary>
        public byte[] NodeByte { get; }

        /// <summary>Per node: its depth (the root is 0).</summary>
        public int[] NodeDepth { get; }

        /// <summary>Per node: the first node after its subtree.</summary>
        public int[] NodeSkip { get; }

        /// <summary>Per node (and one past the last): where its tokens start in <see cref="TokenIds"/>.</summary>
        public int[] TokenStart { get; }

        /// <summary>Token ids by node.</summary>
        public int[] TokenIds { get; }

        /// <summary>The longest token in bytes.</summary>
        public int MaxDepth { get; }

        /// <summary>The trie of <paramref name="tokenizer"/>'s vocabulary (built on first use, then shared).</summary>
        public static VocabularyTrie For(GgufTokenizer tokenizer) => s_cache.GetValue(tokenizer, Build);

        internal static VocabularyTrie Build(GgufTokenizer tokenizer)
        {
            int n = tokenizer.VocabSize;
            var pieces = new byte[n][];
            var inTrie = new bool[n];
            var eog = new List<int>();
            var order = new List<int>(n);
            for (int id = 0; id < n; id++)
            {
                // special: false renders control and unknown tokens as nothing; they must never match as text.
                pieces[id] = tokenizer.TokenToPiece(id, special: false);
                bool endOfGeneration = tokenizer.IsEndOfGeneration(id);
                if (endOfGeneration) eog.Add(id);
                if (pieces[id].Length == 0 || endOfGeneration || tokenizer.IsControl(id)) continue;
                inTrie[id] = true;
                order.Add(id);
            }
            order.Sort((a, b) =>
            {
                int c = pieces[a].AsSpan().SequenceCompareTo(pieces[b]);
                return c != 0 ? c : a.CompareTo(b);
            });

            var nodeByte = new List<byte> { 0 };
            var nodeDepth = new List<int> { 0 };
            var nodeSkip = new List<int> { 0 };
            var tokenStart = new List<int> { 0 };
            var tokenIds = new List<int>(order.Count);
            var open = new List<int> { 0 }; // open[d] = node at depth d on the current path
            byte[] previous = Array.Empty<byte>();
            int maxDepth = 0;
            foreach (int id in order)
            {
                byte[] piece = pieces[id];
                int common = 0;
                while (common < previous.Length && common < piece.Length && previous[common] == piece[common]) common++;
                // Close the nodes below the shared prefix: their subtrees end here.
                while (open.Count - 1 > common)
                {
                    nodeSkip[open[open.Count - 1]] = nodeByte.Count;
                    open.RemoveAt(open.Count - 1);
                }
                for (int d = common; d < piece.Length; d++)
                {
                    open.Add(nodeByte.Count);
                    nodeByte.Add(piece[d]);
                    nodeDepth.Add(d + 1);
                    nodeSkip.Add(0);
                    tokenStart.Add(tokenIds.Count);
                }
                // Tokens arrive in sorted order, so a token's node is always the newest one and its ids stay contiguous.
                tokenIds.Add(id);
                maxDepth = Math.Max(maxDepth, piece.Length);
                previous = piece;
            }
            while (open.Count > 0)
            {
                nodeSkip[open[open.Count - 1]] = nodeByte.Count;
                open.RemoveAt(open.Count - 1);
            }
            tokenStart.Add(tokenIds.Count);
            return new VocabularyTrie(n, pieces, inTrie, eog.ToArray(), nodeByte.ToArray(), nodeDepth.ToArray(), nodeSkip.ToArray(),
                tokenStart.ToArray(), tokenIds.ToArray(), maxDepth);
        }
    }
}
