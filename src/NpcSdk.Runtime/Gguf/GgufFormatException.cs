using System;

namespace NpcSdk.Gguf
{
    /// <summary>A GGUF file is malformed, truncated or uses something this runtime does not support.</summary>
    /// <remarks>The message names the file offset, metadata key or tensor involved.</remarks>
    public sealed class GgufFormatException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public GgufFormatException(string message) : base(message) { }

        /// <summary>Creates the exception with its cause.</summary>
        public GgufFormatException(string message, Exception inner) : base(message, inner) { }
    }
}
