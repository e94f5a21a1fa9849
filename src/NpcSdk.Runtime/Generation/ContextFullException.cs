using System;

namespace NpcSdk.Generation
{
    /// <summary>A session's context has no room for the tokens it was asked to evaluate.</summary>
    public sealed class ContextFullException : Exception
    {
        /// <summary>Creates the exception.</summary>
        public ContextFullException(string message) : base(message) { }
    }
}
