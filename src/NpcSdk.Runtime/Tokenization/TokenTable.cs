using System;
using System.Text;

namespace NpcSdk.Tokenization
{
    /// <summary>
    /// A vocabulary's token texts as one UTF-8 buffer: a 150k-token vocabulary takes about 2 MiB here instead of
    /// about 10 MiB as strings (which the tokenizer library keeps a copy of anyway). Texts are made on demand.
    /// </summary>
    internal sealed class TokenTable
    {
        private static readonly UTF8Encoding Utf8 = new UTF8Encoding(false, false);
        private readonly byte[] _utf8;
        private readonly int[] _offsets; // token i is [_offsets[i], _offsets[i + 1])

        public TokenTable(string[] tokens)
        {
            _offsets = new int[tokens.Length + 1];
            long total = 0;
            for (int i = 0; i < tokens.Length; i++)
            {
                total += Utf8.GetByteCount(tokens[i]);
                if (total > int.MaxValue) throw new ArgumentException("the vocabulary's texts exceed 2 GiB", nameof(tokens));
                _offsets[i + 1] = (int)total;
            }
            _utf8 = new byte[total];
            for (int i = 0; i < tokens.Length; i++) Utf8.GetBytes(tokens[i], 0, tokens[i].Length, _utf8, _offsets[i]);
        }

        /// <summary>Number of tokens.</summary>
        public int Count => _offsets.Length - 1;

        /// <summary>The text of token <paramref name="id"/> (a new string).</summary>
        public string this[int id] => Utf8.GetString(_utf8, _offsets[id], _offsets[id + 1] - _offsets[id]);

        /// <summary>The UTF-8 bytes of token <paramref name="id"/>.</summary>
        public ReadOnlySpan<byte> Utf8Bytes(int id) => new ReadOnlySpan<byte>(_utf8, _offsets[id], _offsets[id + 1] - _offsets[id]);
    }
}
