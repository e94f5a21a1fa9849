using System;

namespace NpcSdk.Tokenization
{
    /// <summary>
    /// What a vocabulary entry is, as llama.cpp's <c>llama_token_attr</c> (bit flags, so an auto-detected end-of-turn
    /// token can be NORMAL and CONTROL at once).
    /// </summary>
    [Flags]
    internal enum TokenAttributes
    {
        Undefined = 0,
        Unknown = 1 << 0,
        Unused = 1 << 1,
        Normal = 1 << 2,
        Control = 1 << 3,
        UserDefined = 1 << 4,
        Byte = 1 << 5,
    }

    internal static class TokenTypes
    {
        /// <summary>Maps a <c>tokenizer.ggml.token_type</c> value (llama_token_type) to attributes.</summary>
        public static TokenAttributes ToAttributes(int tokenType)
        {
            switch (tokenType)
            {
                case 1: return TokenAttributes.Normal;
                case 2: return TokenAttributes.Unknown;
                case 3: return TokenAttributes.Control;
                case 4: return TokenAttributes.UserDefined;
                case 5: return TokenAttributes.Unused;
                case 6: return TokenAttributes.Byte;
                default: return TokenAttributes.Undefined;
            }
        }
    }
}
