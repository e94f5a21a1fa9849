namespace NpcSdk.Grammars
{
    /// <summary>
    /// A grammar lowered to bytes, as llama.cpp lays out GBNF rules: one flat array of elements where every rule
    /// alternative is a run of elements closed by <see cref="End"/>. An element is a byte-set terminal or a reference to a
    /// rule; a parse position is an index into the array.
    /// </summary>
    internal sealed class GrammarProgram
    {
        public const int End = 0;
        public const int Bytes = 1;
        public const int Rule = 2;

        public GrammarProgram(int[] kind, int[] argument, ByteSet[] sets, int[][] ruleAlternatives, string[] ruleNames, int root)
        {
            Kind = kind;
            Argument = argument;
            Sets = sets;
            RuleAlternatives = ruleAlternatives;
            RuleNames = ruleNames;
            Root = root;
        }

        /// <summary>Per element: <see cref="End"/>, <see cref="Bytes"/> or <see cref="Rule"/>.</summary>
        public int[] Kind { get; }

        /// <summary>Per element: the index into <see cref="Sets"/> (terminal) or the rule index (reference).</summary>
        public int[] Argument { get; }

        /// <summary>The distinct terminals.</summary>
        public ByteSet[] Sets { get; }

        /// <summary>Per rule: the element index where each alternative starts.</summary>
        public int[][] RuleAlternatives { get; }

        /// <summary>Per rule: its name (synthesized rules are named after the rule they came from).</summary>
        public string[] RuleNames { get; }

        /// <summary>The start rule.</summary>
        public int Root { get; }
    }
}
