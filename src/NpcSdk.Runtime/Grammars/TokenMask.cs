namespace NpcSdk.Grammars
{
    /// <summary>
    /// The tokens allowed in one grammar state: one bit per token, and for sparse masks (a literal, a key, an enum) also
    /// the allowed ids in ascending order, so a sampler can gather them without scanning the vocabulary.
    /// </summary>
    internal sealed class TokenMask
    {
        public TokenMask(ulong[] bits, int vocabSize)
        {
            Bits = bits;
            int count = 0;
            foreach (ulong word in bits) count += PopCount(word);
            Count = count;
            if (count > 64 && count > vocabSize / 32) return;
            var sparse = new int[count];
            int k = 0;
            for (int w = 0; w < bits.Length; w++)
            {
                ulong word = bits[w];
                for (int b = 0; word != 0; b++, word >>= 1)
                    if ((word & 1) != 0) sparse[k++] = (w << 6) + b;
            }
            Sparse = sparse;
        }

        /// <summary>One bit per token id.</summary>
        public ulong[] Bits { get; }

        /// <summary>The allowed ids in ascending order when there are few (at most 1/32 of the vocabulary or 64), else null.</summary>
        public int[]? Sparse { get; }

        /// <summary>How many tokens are allowed.</summary>
        public int Count { get; }

        public bool Contains(int id) => (uint)id < (uint)(Bits.Length << 6) && ((Bits[id >> 6] >> (id & 63)) & 1) != 0;

        private static int PopCount(ulong x)
        {
            x -= (x >> 1) & 0x5555555555555555UL;
            x = (x & 0x3333333333333333UL) + ((x >> 2) & 0x3333333333333333UL);
            x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FUL;
            return (int)((x * 0x0101010101010101UL) >> 56);
        }
    }
}
