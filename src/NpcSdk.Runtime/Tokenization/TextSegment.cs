namespace NpcSdk.Tokenization
{
    /// <summary>
    /// A piece of a prompt for <see cref="GgufTokenizer.Encode(System.Collections.Generic.IReadOnlyList{TextSegment}, bool)"/>:
    /// markup (written by the program: control tokens such as <c>&lt;|im_start|&gt;</c> are parsed) or content
    /// (written by a player or read from the world: always plain text, no token of any kind can be injected).
    /// </summary>
    public readonly struct TextSegment
    {
        private TextSegment(string text, bool isMarkup)
        {
            Text = text;
            IsMarkup = isMarkup;
        }

        /// <summary>The text.</summary>
        public string Text { get; }

        /// <summary>True for markup, false for content.</summary>
        public bool IsMarkup { get; }

        /// <summary>Program-written text whose special tokens are parsed.</summary>
        public static TextSegment Markup(string text) => new TextSegment(text, true);

        /// <summary>Untrusted text that is never parsed for special tokens.</summary>
        public static TextSegment Content(string text) => new TextSegment(text, false);
    }
}
