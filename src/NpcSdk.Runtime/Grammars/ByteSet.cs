using System;
using System.Text;

namespace NpcSdk.Grammars
{
    /// <summary>A set of byte values (256 bits): the terminal of a compiled grammar.</summary>
    internal readonly struct ByteSet : IEquatable<ByteSet>
    {
        private readonly ulong _w0, _w1, _w2, _w3;

        private ByteSet(ulong w0, ulong w1, ulong w2, ulong w3)
        {
            _w0 = w0; _w1 = w1; _w2 = w2; _w3 = w3;
        }

        public static ByteSet Empty => default;

        /// <summary>The bytes <paramref name="first"/>..<paramref name="last"/> inclusive.</summary>
        public static ByteSet Range(int first, int last)
        {
            ByteSet s = default;
            for (int b = first; b <= last; b++) s = s.With((byte)b);
            return s;
        }

        public static ByteSet Single(byte b) => default(ByteSet).With(b);

        public bool IsEmpty => (_w0 | _w1 | _w2 | _w3) == 0;

        public bool Contains(byte b)
        {
            ulong word;
            switch (b >> 6)
            {
                case 0: word = _w0; break;
                case 1: word = _w1; break;
                case 2: word = _w2; break;
                default: word = _w3; break;
            }
            return ((word >> (b & 63)) & 1) != 0;
        }

        public ByteSet With(byte b)
        {
            ulong bit = 1UL << (b & 63);
            switch (b >> 6)
            {
                case 0: return new ByteSet(_w0 | bit, _w1, _w2, _w3);
                case 1: return new ByteSet(_w0, _w1 | bit, _w2, _w3);
                case 2: return new ByteSet(_w0, _w1, _w2 | bit, _w3);
                default: return new ByteSet(_w0, _w1, _w2, _w3 | bit);
            }
        }

        public ByteSet Union(ByteSet other) => new ByteSet(_w0 | other._w0, _w1 | other._w1, _w2 | other._w2, _w3 | other._w3);

        public bool Equals(ByteSet other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

        public override bool Equals(object? obj) => obj is ByteSet other && Equals(other);

        public override int GetHashCode() => HashCode.Combine(_w0, _w1, _w2, _w3);

        /// <summary>GBNF-like text, e.g. <c>[\x41-\x5A]</c> (for debugging and error messages).</summary>
        public override string ToString()
        {
            var sb = new StringBuilder("[");
            int b = 0;
            while (b < 256)
            {
                if (!Contains((byte)b)) { b++; continue; }
                int end = b;
                while (end + 1 < 256 && Contains((byte)(end + 1))) end++;
                sb.Append("\\x").Append(b.ToString("X2"));
                if (end > b) sb.Append("-\\x").Append(end.ToString("X2"));
                b = end + 1;
            }
            return sb.Append(']').ToString();
        }
    }
}
