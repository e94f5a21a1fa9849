using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using NpcSdk.Grammars;
using NpcSdk.Sampling;
using NpcSdk.Tests.Tokenization;
using NpcSdk.Tokenization;
using Xunit;
using Xunit.Abstractions;

namespace NpcSdk.Tests.Grammar
{
    using Grammar = NpcSdk.Grammars.Grammar;

    /// <summary>
    /// The per-token cost of grammar-constrained sampling against the unconstrained sampler, with random logits, on the NPC
    /// vocabulary (4096) and on Llama 3's (128256). The tool-call grammar is restarted after each call, or 48 tokens into
    /// one (random logits rarely close a free string). Times are the sampling thread's CPU time (on Linux; wall time
    /// elsewhere) and runs interleave short batches of each variant and report medians, since the machine is shared;
    /// they print the numbers and assert only loose bounds.
    /// </summary>
    public sealed class GrammarMaskCostTests
    {
        private const int Batch = 16;

        /// <summary>The calling thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID), or wall time where that is unavailable.</summary>
        private static class ThreadClock
        {
            private static readonly bool s_cpu = OperatingSystem.IsLinux();

            public static string Kind => s_cpu ? "thread CPU time" : "wall time";

            public static long Now()
            {
                if (s_cpu && clock_gettime(3, out TimeSpec t) == 0) return t.Seconds * 1_000_000_000L + t.Nanoseconds;
                return (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));
            }

            private struct TimeSpec
            {
                public long Seconds;
                public long Nanoseconds;
            }

            [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
            private static extern int clock_gettime(int clock, out TimeSpec time);
        }
        private readonly ITestOutputHelper _output;

        public GrammarMaskCostTests(ITestOutputHelper output) => _output = output;

        private static Grammar ToolGrammar() => Grammar.ToolCall(new[]
        {
            ToolCallGrammarTests.SellItem, ToolCallGrammarTests.OpenDoor, ToolCallGrammarTests.Remember, ToolCallGrammarTests.FollowPlayer,
        });

        private static float[][] RandomRows(int rows, int vocab, int seed)
        {
            var rng = new Random(seed);
            var result = new float[rows][];
            for (int r = 0; r < rows; r++)
            {
                result[r] = new float[vocab];
                for (int i = 0; i < vocab; i++) result[r][i] = (float)(rng.NextDouble() * 8 - 4);
            }
            return result;
        }

        /// <summary>One way of choosing tokens, timed per batch.</summary>
        private sealed class Variant
        {
            private readonly Func<float[], long> _step; // returns the ticks to count
            private readonly GrammarSampler? _grammar;
            private readonly List<double> _batches = new List<double>();
            private int _row, _inCall;

            public Variant(string name, Func<float[], long> step, GrammarSampler? grammar)
            {
                Name = name;
                _step = step;
                _grammar = grammar;
            }

            public string Name { get; }

            public double Median => _batches.OrderBy(x => x).ElementAt(_batches.Count / 2);

            public void RunBatch(float[][] rows, bool record)
            {
                long ticks = 0;
                for (int t = 0; t < Batch; t++)
                {
                    if (_grammar != null && (_grammar.IsFinished || _inCall == 48))
                    {
                        _grammar.Reset();
                        _inCall = 0;
                    }
                    ticks += _step(rows[_row++ % rows.Length]);
                    _inCall++;
                }
                if (record) _batches.Add(ticks / 1e3 / Batch);
            }
        }

        private static Variant Chain(string name, SamplerChain chain, GrammarSampler? grammar)
        {
            var history = Array.Empty<int>();
            return new Variant(name, logits =>
            {
                long t0 = ThreadClock.Now();
                chain.Sample(logits, history); // the chain passes the draw to the grammar (ITokenObserver)
                return ThreadClock.Now() - t0;
            }, grammar);
        }

        /// <summary>GrammarSampler.Apply alone over every candidate (full mask), after loading the candidates.</summary>
        private static Variant MaskOnly(string name, GrammarSampler grammar)
        {
            var c = new TokenCandidates();
            var history = Array.Empty<int>();
            return new Variant(name, logits =>
            {
                c.Reset(logits);
                long t0 = ThreadClock.Now();
                grammar.Apply(c, history);
                long ticks = ThreadClock.Now() - t0;
                Span<float> l = c.Logits;
                int best = 0;
                for (int i = 1; i < l.Length; i++) if (l[i] > l[best]) best = i;
                grammar.Accept(c.Ids[best]);
                return ticks;
            }, grammar);
        }

        private static Variant LoadOnly()
        {
            var c = new TokenCandidates();
            return new Variant("loading the candidates (TokenCandidates.Reset)", logits =>
            {
                long t0 = ThreadClock.Now();
                c.Reset(logits);
                return ThreadClock.Now() - t0;
            }, null);
        }

        private void Compare(string vocabulary, int batches)
        {
            GgufTokenizer tok = TokenizerTestData.Load(vocabulary);
            int[] endIds = tok.Encode("</tool_call>", addSpecial: false, parseSpecial: true);
            int? end = endIds.Length == 1 ? endIds[0] : (int?)null;
            long t0 = ThreadClock.Now();
            VocabularyTrie trie = VocabularyTrie.Build(tok);
            double trieMs = (ThreadClock.Now() - t0) / 1e6;
            float[][] rows = RandomRows(32, tok.VocabSize, 7);

            // Cold: a new grammar (the second, so JIT is done), every state's mask computed on first sight.
            _output.WriteLine($"{vocabulary} ({tok.VocabSize} tokens), {ThreadClock.Kind}: vocabulary trie ({trie.NodeCount} nodes) built in {trieMs:F0} ms, once per tokenizer");
            for (int round = 0; round < 2; round++)
            {
                Grammar coldGrammar = ToolGrammar();
                var cold = new GrammarSampler(coldGrammar, tok, end);
                var coldRun = MaskOnly("cold", cold);
                t0 = ThreadClock.Now();
                for (int b = 0; b < 400 / Batch; b++) coldRun.RunBatch(rows, record: false);
                double coldMs = (ThreadClock.Now() - t0) / 1e6;
                int masks = cold.MasksComputed;
                t0 = ThreadClock.Now();
                for (int b = 0; b < 400 / Batch; b++) coldRun.RunBatch(rows, record: false);
                double warmMs = (ThreadClock.Now() - t0) / 1e6;
                if (round == 1)
                    _output.WriteLine($"  a new grammar: first 400 tokens {coldMs:F1} ms ({masks} masks computed, {coldGrammar.Automaton.StateCount} states), " +
                        $"next 400 {warmMs:F1} ms ({cold.MasksComputed - masks} more masks): ~{(coldMs - warmMs) * 1000 / Math.Max(1, masks):F0} µs per new mask");
            }
            SamplingOptions topK = new SamplingOptions { Seed = 1 }, greedy = SamplingOptions.Greedy;
            var variants = new List<Variant>
            {
                LoadOnly(),
                Chain("unconstrained, top-k 40 T 0.8 (default chain)", new SamplerChain(topK), null),
                Chain("unconstrained, greedy", new SamplerChain(greedy), null),
            };
            // A tool call (mostly literal and enum states, sparse masks), and a free string (dense masks, the worst case).
            var grammars = new[] { ("tool call", ToolGrammar()), ("free string", Grammar.Parse("root ::= \"\\\"\" [^\"\\\\\\x00-\\x1F]* \"\\\"\"")) };
            foreach (var (name, grammar) in grammars)
            {
                int? endToken = grammar.EndMarker != null ? end : null;
                var g1 = new GrammarSampler(grammar, tok, endToken);
                var g2 = new GrammarSampler(grammar, tok, endToken);
                var g3 = new GrammarSampler(grammar, tok, endToken);
                variants.Add(Chain($"{name}: constrained top-k 40 T 0.8 (CreateChain, KeepTop 40)", g1.CreateChain(topK), g1));
                variants.Add(Chain($"{name}: constrained greedy (CreateChain, KeepTop 1)", g2.CreateChain(greedy), g2));
                variants.Add(MaskOnly($"{name}: mask alone (Apply, full mask, every candidate)", g3));
            }
            for (int b = 0; b < 25; b++) foreach (Variant v in variants) v.RunBatch(rows, record: false); // JIT, masks cached
            for (int b = 0; b < batches; b++) foreach (Variant v in variants) v.RunBatch(rows, record: true);
            foreach (Variant v in variants) _output.WriteLine($"  {v.Name,-72} {v.Median,9:F1} µs/token");

            double load = variants[0].Median;
            for (int g = 0; g < grammars.Length; g++)
            {
                Assert.True(variants[3 + 3 * g].Median < variants[1].Median * 1.5 + 50, "a constrained top-k chain is much slower than the unconstrained one");
                Assert.True(variants[5 + 3 * g].Median < 10 * load + 50, "the full mask costs far more than loading the candidates");
            }
        }

        [Fact]
        public void Mask_Cost_On_The_Npc_Vocabulary()
        {
            Compare("npc", 60);
        }

        [Fact]
        public void Mask_Cost_On_A_128K_Vocabulary()
        {
            Compare("llama-bpe", 12);
        }
    }
}
