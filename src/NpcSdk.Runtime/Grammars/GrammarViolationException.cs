using System;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// A token was fed to a <see cref="GrammarSampler"/> that its grammar does not allow, or no candidate token can continue
    /// the grammar. The message names the token (id and text) and the text accepted so far.
    /// </summary>
    public sealed class GrammarViolationException : InvalidOperationException
    {
        /// <summary>Creates the exception.</summary>
        public GrammarViolationException(string message, int tokenId = -1) : base(message) => TokenId = tokenId;

        /// <summary>The rejected token, or -1 when no candidate was left.</summary>
        public int TokenId { get; }
    }
}
