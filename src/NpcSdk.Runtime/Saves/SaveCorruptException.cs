using System;

namespace NpcSdk.Saves
{
    /// <summary>What is wrong with a save.</summary>
    public enum SaveProblem
    {
        /// <summary>Not a NpcSdk save (wrong magic).</summary>
        NotASave,
        /// <summary>The file ends early.</summary>
        Truncated,
        /// <summary>The checksum does not match: the bytes were changed or damaged.</summary>
        ChecksumMismatch,
        /// <summary>Written by a format version this build cannot read.</summary>
        UnsupportedVersion,
        /// <summary>Saved with another model (or another KV cache layout).</summary>
        WrongModel,
        /// <summary>The content is inconsistent.</summary>
        Malformed,
    }

    /// <summary>A save could not be loaded; the message names the problem. Nothing was changed.</summary>
    public sealed class SaveCorruptException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public SaveCorruptException(SaveProblem problem, string message, Exception? inner = null) : base(message, inner)
        {
            Problem = problem;
        }

        /// <summary>What is wrong.</summary>
        public SaveProblem Problem { get; }
    }
}
