using System;

namespace NpcSdk.Templates
{
    /// <summary>
    /// A chat template failed to parse or to render: a syntax error, a runtime error (e.g. adding a number to a
    /// string), or the template itself calling <c>raise_exception(...)</c> to reject the conversation (e.g.
    /// Mistral's "Conversation roles must alternate user/assistant/user/assistant/...").
    /// </summary>
    public sealed class ChatTemplateException : Exception
    {
        /// <summary>Creates the exception; <see cref="Exception.Message"/> is prefixed with the position when known.</summary>
        public ChatTemplateException(string message, int line, int column, bool raisedByTemplate, Exception? inner = null)
            : base(line > 0 ? $"chat template line {line}, column {column}: {message}" : "chat template: " + message, inner)
        {
            TemplateMessage = message;
            Line = line;
            Column = column;
            RaisedByTemplate = raisedByTemplate;
        }

        /// <summary>The error without its position: for <see cref="RaisedByTemplate"/>, exactly the template's own message.</summary>
        public string TemplateMessage { get; }

        /// <summary>1-based line in the template source (after newline normalization); 0 when unknown.</summary>
        public int Line { get; }

        /// <summary>1-based column in the template source; 0 when unknown.</summary>
        public int Column { get; }

        /// <summary>True when the template called <c>raise_exception</c>: the input was rejected, the template is fine.</summary>
        public bool RaisedByTemplate { get; }
    }
}
