using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// One right-hand side of a grammar rule, over Unicode code points as in GBNF: literals, character classes,
    /// sequences, alternatives, repetition and references to named rules. <see cref="GrammarCompiler"/> lowers it to
    /// byte terminals.
    /// </summary>
    internal abstract class GrammarExpression
    {
        public static readonly GrammarExpression Empty = new SequenceExpression(Array.Empty<GrammarExpression>());

        public static GrammarExpression Literal(string text) => new LiteralExpression(text);

        public static GrammarExpression Sequence(params GrammarExpression[] items) => items.Length == 1 ? items[0] : new SequenceExpression(items);

        public static GrammarExpression Choice(params GrammarExpression[] items) => items.Length == 1 ? items[0] : new ChoiceExpression(items);

        public static GrammarExpression Rule(string name) => new RuleReference(name);

        public static GrammarExpression Repeat(GrammarExpression item, int min, int max) => new RepeatExpression(item, min, max);

        public static GrammarExpression Class(bool negated, params (int First, int Last)[] ranges) => new CharClassExpression(ranges, negated);

        /// <summary>Writes the expression in GBNF; <paramref name="nested"/> wraps alternatives in parentheses.</summary>
        public abstract void Write(StringBuilder sb, bool nested);

        public override string ToString()
        {
            var sb = new StringBuilder();
            Write(sb, nested: false);
            return sb.ToString();
        }

        internal static void WriteEscaped(StringBuilder sb, int cp, bool inClass)
        {
            switch (cp)
            {
                case '\n': sb.Append("\\n"); return;
                case '\r': sb.Append("\\r"); return;
                case '\t': sb.Append("\\t"); return;
                case '\\': sb.Append("\\\\"); return;
            }
            if (!inClass && cp == '"') { sb.Append("\\\""); return; }
            if (inClass && (cp == ']' || cp == '[' || cp == '-' || cp == '^')) { sb.Append('\\').Append((char)cp); return; }
            if (cp < 0x20 || cp == 0x7F) { sb.Append("\\x").Append(cp.ToString("X2", CultureInfo.InvariantCulture)); return; }
            if (cp > 0xFFFF) { sb.Append("\\U").Append(cp.ToString("X8", CultureInfo.InvariantCulture)); return; }
            if (cp >= 0x80 && (char.IsControl((char)cp) || char.IsWhiteSpace((char)cp) || (cp >= 0xD800 && cp <= 0xDFFF)))
            {
                sb.Append("\\u").Append(cp.ToString("X4", CultureInfo.InvariantCulture));
                return;
            }
            sb.Append((char)cp);
        }
    }

    /// <summary>A literal string (its UTF-8 bytes).</summary>
    internal sealed class LiteralExpression : GrammarExpression
    {
        public LiteralExpression(string text) => Text = text ?? throw new ArgumentNullException(nameof(text));

        public string Text { get; }

        public override void Write(StringBuilder sb, bool nested)
        {
            sb.Append('"');
            for (int i = 0; i < Text.Length; i++)
            {
                int cp = char.IsSurrogatePair(Text, i) ? char.ConvertToUtf32(Text, i++) : Text[i];
                WriteEscaped(sb, cp, inClass: false);
            }
            sb.Append('"');
        }
    }

    /// <summary>One code point from a set of ranges (<c>[a-z]</c>, <c>[^"\\]</c>, <c>.</c>).</summary>
    internal sealed class CharClassExpression : GrammarExpression
    {
        public CharClassExpression(IReadOnlyList<(int First, int Last)> ranges, bool negated)
        {
            Ranges = ranges;
            Negated = negated;
        }

        public IReadOnlyList<(int First, int Last)> Ranges { get; }

        public bool Negated { get; }

        public override void Write(StringBuilder sb, bool nested)
        {
            if (!Negated && Ranges.Count == 1 && Ranges[0].First == 0 && Ranges[0].Last == Utf8Sequences.MaxCodePoint)
            {
                sb.Append('.');
                return;
            }
            sb.Append('[');
            if (Negated) sb.Append('^');
            foreach (var (first, last) in Ranges)
            {
                WriteEscaped(sb, first, inClass: true);
                if (last != first)
                {
                    sb.Append('-');
                    WriteEscaped(sb, last, inClass: true);
                }
            }
            sb.Append(']');
        }
    }

    /// <summary>Items one after another.</summary>
    internal sealed class SequenceExpression : GrammarExpression
    {
        public SequenceExpression(IReadOnlyList<GrammarExpression> items) => Items = items;

        public IReadOnlyList<GrammarExpression> Items { get; }

        public override void Write(StringBuilder sb, bool nested)
        {
            if (Items.Count == 0)
            {
                sb.Append("\"\"");
                return;
            }
            for (int i = 0; i < Items.Count; i++)
            {
                if (i > 0) sb.Append(' ');
                Items[i].Write(sb, nested: true);
            }
        }
    }

    /// <summary>Alternatives: any one of the items.</summary>
    internal sealed class ChoiceExpression : GrammarExpression
    {
        public ChoiceExpression(IReadOnlyList<GrammarExpression> items) => Items = items;

        public IReadOnlyList<GrammarExpression> Items { get; }

        public override void Write(StringBuilder sb, bool nested)
        {
            if (nested) sb.Append('(');
            for (int i = 0; i < Items.Count; i++)
            {
                if (i > 0) sb.Append(" | ");
                Items[i].Write(sb, nested: false);
            }
            if (nested) sb.Append(')');
        }
    }

    /// <summary>The item <see cref="Min"/> to <see cref="Max"/> times (<see cref="Max"/> -1: unbounded).</summary>
    internal sealed class RepeatExpression : GrammarExpression
    {
        public RepeatExpression(GrammarExpression item, int min, int max)
        {
            if (min < 0 || (max >= 0 && max < min)) throw new ArgumentOutOfRangeException(nameof(max), $"bad repetition {{{min},{max}}}");
            Item = item;
            Min = min;
            Max = max;
        }

        public GrammarExpression Item { get; }

        public int Min { get; }

        public int Max { get; }

        public override void Write(StringBuilder sb, bool nested)
        {
            bool atomic = Item is LiteralExpression || Item is CharClassExpression || Item is RuleReference;
            if (!atomic) sb.Append('(');
            Item.Write(sb, nested: false);
            if (!atomic) sb.Append(')');
            if (Min == 0 && Max < 0) sb.Append('*');
            else if (Min == 1 && Max < 0) sb.Append('+');
            else if (Min == 0 && Max == 1) sb.Append('?');
            else if (Max < 0) sb.Append('{').Append(Min).Append(",}");
            else if (Max == Min) sb.Append('{').Append(Min).Append('}');
            else sb.Append('{').Append(Min).Append(',').Append(Max).Append('}');
        }
    }

    /// <summary>A reference to a named rule.</summary>
    internal sealed class RuleReference : GrammarExpression
    {
        public RuleReference(string name) => Name = name;

        public string Name { get; }

        public override void Write(StringBuilder sb, bool nested) => sb.Append(Name);
    }
}
