using System;
using System.Collections.Generic;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// Turns sets of Unicode code points into the UTF-8 byte sequences that encode them, each a short list of byte
    /// ranges (the construction of Rust's regex-syntax <c>Utf8Sequences</c>). This is what lets a code-point grammar run
    /// over bytes, so a character split across two tokens is matched byte by byte.
    /// </summary>
    internal static class Utf8Sequences
    {
        public const int MaxCodePoint = 0x10FFFF;

        /// <summary>A byte range [First, Last] at one position of an encoded character.</summary>
        public readonly struct ByteRange
        {
            public ByteRange(int first, int last) { First = (byte)first; Last = (byte)last; }
            public byte First { get; }
            public byte Last { get; }
        }

        /// <summary>
        /// Sorts and merges <paramref name="ranges"/>, complements them when <paramref name="negated"/>, and removes the
        /// surrogates (which UTF-8 cannot encode).
        /// </summary>
        public static List<(int First, int Last)> Normalize(IEnumerable<(int First, int Last)> ranges, bool negated)
        {
            var sorted = new List<(int First, int Last)>(ranges);
            sorted.Sort((a, b) => a.First.CompareTo(b.First));
            var merged = new List<(int First, int Last)>();
            foreach (var r in sorted)
            {
                if (r.First > r.Last) continue;
                if (merged.Count > 0 && r.First <= merged[merged.Count - 1].Last + 1)
                {
                    var last = merged[merged.Count - 1];
                    merged[merged.Count - 1] = (last.First, Math.Max(last.Last, r.Last));
                }
                else
                {
                    merged.Add(r);
                }
            }
            if (negated)
            {
                var complement = new List<(int First, int Last)>();
                int next = 0;
                foreach (var r in merged)
                {
                    if (r.First > next) complement.Add((next, r.First - 1));
                    next = Math.Max(next, r.Last + 1);
                }
                if (next <= MaxCodePoint) complement.Add((next, MaxCodePoint));
                merged = complement;
            }
            var result = new List<(int First, int Last)>();
            foreach (var r in merged)
            {
                int first = Math.Max(r.First, 0), last = Math.Min(r.Last, MaxCodePoint);
                if (first > last) continue;
                if (last < 0xD800 || first > 0xDFFF)
                {
                    result.Add((first, last));
                    continue;
                }
                if (first < 0xD800) result.Add((first, 0xD7FF));
                if (last > 0xDFFF) result.Add((0xE000, last));
            }
            return result;
        }

        /// <summary>The byte-range sequences that encode exactly the code points of the (normalized) ranges.</summary>
        public static List<ByteRange[]> Encode(List<(int First, int Last)> ranges)
        {
            var output = new List<ByteRange[]>();
            foreach (var r in ranges) Split(r.First, r.Last, output);
            return output;
        }

        private static void Split(int first, int last, List<ByteRange[]> output)
        {
            // Ranges that cross an encoded-length boundary are split at it.
            int[] maxima = { 0x7F, 0x7FF, 0xFFFF };
            foreach (int max in maxima)
            {
                if (first <= max && last > max)
                {
                    Split(first, max, output);
                    Split(max + 1, last, output);
                    return;
                }
            }
            if (last <= 0x7F)
            {
                output.Add(new[] { new ByteRange(first, last) });
                return;
            }
            // Split until every continuation byte position spans a full 0x80-0xBF range or a single prefix.
            for (int i = 1; i < 4; i++)
            {
                int mask = (1 << (6 * i)) - 1;
                if ((first & ~mask) != (last & ~mask))
                {
                    if ((first & mask) != 0)
                    {
                        Split(first, first | mask, output);
                        Split((first | mask) + 1, last, output);
                        return;
                    }
                    if ((last & mask) != mask)
                    {
                        Split(first, (last & ~mask) - 1, output);
                        Split(last & ~mask, last, output);
                        return;
                    }
                }
            }
            byte[] a = EncodeCodePoint(first), b = EncodeCodePoint(last);
            var seq = new ByteRange[a.Length];
            for (int i = 0; i < a.Length; i++) seq[i] = new ByteRange(a[i], b[i]);
            output.Add(seq);
        }

        /// <summary>The UTF-8 bytes of one code point (not a surrogate).</summary>
        public static byte[] EncodeCodePoint(int cp)
        {
            if (cp < 0x80) return new[] { (byte)cp };
            if (cp < 0x800) return new[] { (byte)(0xC0 | (cp >> 6)), (byte)(0x80 | (cp & 0x3F)) };
            if (cp < 0x10000) return new[] { (byte)(0xE0 | (cp >> 12)), (byte)(0x80 | ((cp >> 6) & 0x3F)), (byte)(0x80 | (cp & 0x3F)) };
            return new[] { (byte)(0xF0 | (cp >> 18)), (byte)(0x80 | ((cp >> 12) & 0x3F)), (byte)(0x80 | ((cp >> 6) & 0x3F)), (byte)(0x80 | (cp & 0x3F)) };
        }
    }
}
