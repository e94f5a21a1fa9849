using System;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// A grammar or JSON schema could not be compiled: a GBNF syntax error (the message names line and column), an
    /// undefined or left-recursive rule, invalid schema JSON (the message names the offset) or an unsupported schema
    /// construct (the message names its JSON path and keyword, and the tool when building a tool-call grammar).
    /// </summary>
    public sealed class GrammarFormatException : FormatException
    {
        /// <summary>Creates the exception.</summary>
        public GrammarFormatException(string message) : base(message) { }

        /// <summary>Creates the exception with the error that caused it.</summary>
        public GrammarFormatException(string message, Exception inner) : base(message, inner) { }
    }
}
