using System;

namespace NpcSdk.Tokenization
{
    /// <summary>The GGUF file names a tokenizer family or pre-tokenizer this runtime does not implement.</summary>
    /// <remarks>The message names the file, the metadata key (<c>tokenizer.ggml.model</c> or <c>tokenizer.ggml.pre</c>) and its value.</remarks>
    public sealed class TokenizerNotSupportedException : NotSupportedException
    {
        /// <summary>Creates the exception.</summary>
        public TokenizerNotSupportedException(string key, string value, string message) : base(message)
        {
            Key = key;
            Value = value;
        }

        /// <summary>The metadata key whose value is unsupported.</summary>
        public string Key { get; }

        /// <summary>The unsupported value.</summary>
        public string Value { get; }
    }
}
