using System;
using System.Collections.Generic;

namespace NpcSdk.Grammars
{
    /// <summary>
    /// Lowers code-point rules to a <see cref="GrammarProgram"/>: literals become byte terminals, character classes their
    /// UTF-8 byte sequences, and nested alternatives and repetitions become helper rules (<c>x*</c> as the right-recursive
    /// <c>S ::= x S | ""</c>, which the matcher runs as a tail call in constant stack). Rejects undefined and
    /// left-recursive rules, and grammars whose start rule matches no finite text.
    /// </summary>
    internal sealed class GrammarCompiler
    {
        private readonly Dictionary<string, int> _ruleIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        private readonly List<string> _names = new List<string>();
        private readonly List<int[]?> _alternatives = new List<int[]?>();
        private readonly List<int> _kind = new List<int>();
        private readonly List<int> _argument = new List<int>();
        private readonly List<ByteSet> _sets = new List<ByteSet>();
        private readonly Dictionary<ByteSet, int> _setIndex = new Dictionary<ByteSet, int>();
        private readonly Dictionary<string, int> _classRules = new Dictionary<string, int>(StringComparer.Ordinal);
        private readonly Dictionary<long, int> _starRules = new Dictionary<long, int>();

        private GrammarCompiler() { }

        public static GrammarProgram Compile(IReadOnlyList<KeyValuePair<string, GrammarExpression>> rules, string root)
        {
            var c = new GrammarCompiler();
            foreach (var rule in rules)
            {
                if (c._ruleIndex.ContainsKey(rule.Key)) throw new GrammarFormatException($"rule '{rule.Key}' is defined twice");
                c.NewRule(rule.Key, named: true);
            }
            if (!c._ruleIndex.TryGetValue(root, out int rootIndex))
                throw new GrammarFormatException($"the grammar has no start rule '{root}'");
            foreach (var rule in rules) c.Define(c._ruleIndex[rule.Key], rule.Value, rule.Key);

            var program = new GrammarProgram(c._kind.ToArray(), c._argument.ToArray(), c._sets.ToArray(),
                c._alternatives.ConvertAll(a => a!).ToArray(), c._names.ToArray(), rootIndex);
            CheckLeftRecursion(program);
            CheckProductive(program);
            return program;
        }

        private int NewRule(string name, bool named)
        {
            int index = _names.Count;
            _names.Add(name);
            _alternatives.Add(null);
            if (named) _ruleIndex[name] = index;
            return index;
        }

        private void Define(int rule, GrammarExpression body, string context)
        {
            IReadOnlyList<GrammarExpression> alternatives = body is ChoiceExpression choice ? choice.Items : new[] { body };
            var lowered = new List<List<(int Kind, int Argument)>>();
            foreach (GrammarExpression alternative in alternatives)
            {
                var seq = new List<(int Kind, int Argument)>();
                Emit(alternative, seq, context);
                lowered.Add(seq);
            }
            DefineLowered(rule, lowered);
        }

        private void DefineLowered(int rule, List<List<(int Kind, int Argument)>> alternatives)
        {
            var starts = new int[alternatives.Count];
            for (int a = 0; a < alternatives.Count; a++)
            {
                starts[a] = _kind.Count;
                foreach (var (kind, argument) in alternatives[a])
                {
                    _kind.Add(kind);
                    _argument.Add(argument);
                }
                _kind.Add(GrammarProgram.End);
                _argument.Add(0);
            }
            _alternatives[rule] = starts;
        }

        private (int Kind, int Argument) Terminal(ByteSet set)
        {
            if (!_setIndex.TryGetValue(set, out int index))
            {
                index = _sets.Count;
                _sets.Add(set);
                _setIndex.Add(set, index);
            }
            return (GrammarProgram.Bytes, index);
        }

        private void Emit(GrammarExpression e, List<(int Kind, int Argument)> seq, string context)
        {
            switch (e)
            {
                case LiteralExpression literal:
                    foreach (byte b in System.Text.Encoding.UTF8.GetBytes(literal.Text)) seq.Add(Terminal(ByteSet.Single(b)));
                    break;
                case SequenceExpression sequence:
                    foreach (GrammarExpression item in sequence.Items) Emit(item, seq, context);
                    break;
                case RuleReference reference:
                    if (!_ruleIndex.TryGetValue(reference.Name, out int target))
                        throw new GrammarFormatException($"rule '{context}' refers to undefined rule '{reference.Name}'");
                    seq.Add((GrammarProgram.Rule, target));
                    break;
                case CharClassExpression cls:
                    seq.Add(ClassAtom(cls, context));
                    break;
                case ChoiceExpression choice:
                    {
                        int rule = NewRule(context + "-" + _names.Count, named: false);
                        Define(rule, choice, context);
                        seq.Add((GrammarProgram.Rule, rule));
                        break;
                    }
                case RepeatExpression repeat:
                    EmitRepeat(repeat, seq, context);
                    break;
                default:
                    throw new InvalidOperationException("unknown grammar expression " + e.GetType().Name);
            }
        }

        /// <summary>One element for a character class: a terminal when every member is one byte, else a rule over its UTF-8 sequences.</summary>
        private (int Kind, int Argument) ClassAtom(CharClassExpression cls, string context)
        {
            List<(int First, int Last)> ranges = Utf8Sequences.Normalize(cls.Ranges, cls.Negated);
            if (ranges.Count == 0) throw new GrammarFormatException($"rule '{context}': character class {cls} matches nothing");
            List<Utf8Sequences.ByteRange[]> sequences = Utf8Sequences.Encode(ranges);
            ByteSet single = ByteSet.Empty;
            var multi = new List<Utf8Sequences.ByteRange[]>();
            foreach (var s in sequences)
            {
                if (s.Length == 1) single = single.Union(ByteSet.Range(s[0].First, s[0].Last));
                else multi.Add(s);
            }
            if (multi.Count == 0) return Terminal(single);

            string key = cls.ToString();
            if (_classRules.TryGetValue(key, out int existing)) return (GrammarProgram.Rule, existing);
            int rule = NewRule(context + "-char", named: false);
            _classRules.Add(key, rule);
            var alternatives = new List<List<(int Kind, int Argument)>>();
            if (!single.IsEmpty) alternatives.Add(new List<(int, int)> { Terminal(single) });
            foreach (var s in multi)
            {
                var alt = new List<(int, int)>();
                foreach (var r in s) alt.Add(Terminal(ByteSet.Range(r.First, r.Last)));
                alternatives.Add(alt);
            }
            DefineLowered(rule, alternatives);
            return (GrammarProgram.Rule, rule);
        }

        private void EmitRepeat(RepeatExpression repeat, List<(int Kind, int Argument)> seq, string context)
        {
            // The repeated item as one element (a terminal or a rule), so copies share it.
            var inner = new List<(int Kind, int Argument)>();
            Emit(repeat.Item, inner, context);
            (int Kind, int Argument) atom;
            if (inner.Count == 1)
            {
                atom = inner[0];
            }
            else
            {
                int itemRule = NewRule(context + "-item-" + _names.Count, named: false);
                DefineLowered(itemRule, new List<List<(int, int)>> { inner });
                atom = (GrammarProgram.Rule, itemRule);
            }

            for (int i = 0; i < repeat.Min; i++) seq.Add(atom);
            if (repeat.Max < 0)
            {
                long key = ((long)atom.Kind << 32) | (uint)atom.Argument;
                if (!_starRules.TryGetValue(key, out int star))
                {
                    star = NewRule(context + "-star-" + _names.Count, named: false);
                    _starRules.Add(key, star);
                    DefineLowered(star, new List<List<(int, int)>>
                    {
                        new List<(int, int)> { atom, (GrammarProgram.Rule, star) },
                        new List<(int, int)>(),
                    });
                }
                seq.Add((GrammarProgram.Rule, star));
                return;
            }
            // x{0,n} as nested optionals: O1 ::= x | "" ; Ok ::= x O(k-1) | "".
            int previous = -1;
            for (int k = 1; k <= repeat.Max - repeat.Min; k++)
            {
                int optional = NewRule(context + "-opt-" + _names.Count, named: false);
                var first = new List<(int, int)> { atom };
                if (previous >= 0) first.Add((GrammarProgram.Rule, previous));
                DefineLowered(optional, new List<List<(int, int)>> { first, new List<(int, int)>() });
                previous = optional;
            }
            if (previous >= 0) seq.Add((GrammarProgram.Rule, previous));
        }

        private static bool[] Nullable(GrammarProgram p)
        {
            int n = p.RuleNames.Length;
            var nullable = new bool[n];
            bool changed = true;
            while (changed)
            {
                changed = false;
                for (int r = 0; r < n; r++)
                {
                    if (nullable[r]) continue;
                    foreach (int start in p.RuleAlternatives[r])
                    {
                        int pos = start;
                        while (p.Kind[pos] == GrammarProgram.Rule && nullable[p.Argument[pos]]) pos++;
                        if (p.Kind[pos] == GrammarProgram.End)
                        {
                            nullable[r] = true;
                            changed = true;
                            break;
                        }
                    }
                }
            }
            return nullable;
        }

        private static void CheckLeftRecursion(GrammarProgram p)
        {
            bool[] nullable = Nullable(p);
            int n = p.RuleNames.Length;
            var left = new List<int>[n];
            for (int r = 0; r < n; r++)
            {
                left[r] = new List<int>();
                foreach (int start in p.RuleAlternatives[r])
                {
                    for (int pos = start; p.Kind[pos] == GrammarProgram.Rule; pos++)
                    {
                        left[r].Add(p.Argument[pos]);
                        if (!nullable[p.Argument[pos]]) break;
                    }
                }
            }
            var color = new byte[n]; // 0 new, 1 on the path, 2 done
            for (int r = 0; r < n; r++)
            {
                if (color[r] != 0) continue;
                // Iterative DFS over leftmost references.
                var stack = new Stack<(int Rule, int Next)>();
                stack.Push((r, 0));
                color[r] = 1;
                while (stack.Count > 0)
                {
                    var (rule, next) = stack.Pop();
                    if (next < left[rule].Count)
                    {
                        stack.Push((rule, next + 1));
                        int target = left[rule][next];
                        if (color[target] == 1)
                            throw new GrammarFormatException($"rule '{p.RuleNames[target]}' is left-recursive (through '{p.RuleNames[rule]}'); rewrite it with repetition");
                        if (color[target] == 0)
                        {
                            color[target] = 1;
                            stack.Push((target, 0));
                        }
                    }
                    else
                    {
                        color[rule] = 2;
                    }
                }
            }
        }

        private static void CheckProductive(GrammarProgram p)
        {
            int n = p.RuleNames.Length;
            var productive = new bool[n];
            bool changed = true;
            while (changed)
            {
                changed = false;
                for (int r = 0; r < n; r++)
                {
                    if (productive[r]) continue;
                    foreach (int start in p.RuleAlternatives[r])
                    {
                        int pos = start;
                        while (p.Kind[pos] == GrammarProgram.Bytes || (p.Kind[pos] == GrammarProgram.Rule && productive[p.Argument[pos]])) pos++;
                        if (p.Kind[pos] == GrammarProgram.End)
                        {
                            productive[r] = true;
                            changed = true;
                            break;
                        }
                    }
                }
            }
            if (!productive[p.Root])
                throw new GrammarFormatException($"start rule '{p.RuleNames[p.Root]}' matches no finite text (every alternative recurses forever)");
        }
    }
}
