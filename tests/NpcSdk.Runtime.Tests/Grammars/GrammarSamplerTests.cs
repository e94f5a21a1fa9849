using System;
using System.Collections.Generic;
using System.Linq;
using NpcSdk.Grammars;
using NpcSdk.Sampling;
using NpcSdk.Tests.Tokenization;
using NpcSdk.Tokenization;
using Xunit;

namespace NpcSdk.Tests.Grammar
{
    using Grammar = NpcSdk.Grammars.Grammar;

    public sealed class GrammarSamplerTests
    {
        private const int ToolCallStart = 6, ToolCallEnd = 7, ImStart = 4, ImEnd = 5;

        // The greedy reply of the NPC model to "I want to buy the iron sword." (logits_npc-q8_0.json), after <tool_call>.
        internal static readonly int[] ReferenceCall = { 406, 534, 342, 347, 750, 4047, 293, 447, 347, 537, 342, 549, 293, 342, 347, 567, 707, 447, 347, 754, 342, 4020, 4055, 4057, 532 };

        private static GgufTokenizer Npc => TokenizerTestData.Load("npc");

        private static Grammar NewToolGrammar() => Grammar.ToolCall(new[] { ToolCallGrammarTests.SellItem, ToolCallGrammarTests.OpenDoor, ToolCallGrammarTests.Remember });

        private static float[] RandomLogits(Random rng, int n)
        {
            var logits = new float[n];
            for (int i = 0; i < n; i++) logits[i] = (float)(rng.NextDouble() * 10 - 5);
            return logits;
        }

        private static HashSet<int> Survivors(ISampler sampler, float[] logits)
        {
            var c = new TokenCandidates();
            c.Reset(logits);
            sampler.Apply(c, Array.Empty<int>());
            return new HashSet<int>(c.Ids.ToArray());
        }

        /// <summary>The allowed tokens by brute force: each token's bytes fed to a matcher clone.</summary>
        private static HashSet<int> BruteForce(GgufTokenizer tok, GrammarMatcher matcher, int endToken)
        {
            var allowed = new HashSet<int>();
            for (int id = 0; id < tok.VocabSize; id++)
            {
                if (id == endToken)
                {
                    if (matcher.IsComplete) allowed.Add(id);
                    continue;
                }
                byte[] piece = tok.TokenToPiece(id, special: false);
                if (piece.Length == 0 || tok.IsControl(id) || tok.IsEndOfGeneration(id)) continue;
                if (matcher.CanAccept(piece)) allowed.Add(id);
            }
            return allowed;
        }

        [Fact]
        public void Masks_Equal_A_Token_By_Token_Check_At_Every_Step()
        {
            var tok = Npc;
            Grammar grammar = NewToolGrammar();
            var sampler = new GrammarSampler(grammar, tok);
            Assert.Equal(ToolCallEnd, sampler.EndTokenId);
            var matcher = grammar.CreateMatcher();
            var rng = new Random(1);
            // The model's call, then a remember call whose string has multi-byte characters split over byte tokens.
            var calls = new List<int[]> { ReferenceCall, tok.Encode("{\"name\": \"remember\", \"arguments\": {\"fact\": \"Aria liebt Käse 🧀\"}}", addSpecial: false) };
            foreach (int[] call in calls)
            {
                sampler.Reset();
                matcher.Reset();
                foreach (int token in call)
                {
                    Assert.Equal(BruteForce(tok, matcher, ToolCallEnd), Survivors(sampler, RandomLogits(rng, tok.VocabSize)));
                    sampler.Accept(token);
                    Assert.True(matcher.Accept(tok.TokenToPiece(token, special: false)));
                }
                Assert.True(sampler.IsComplete);
                Assert.Equal(new HashSet<int> { ToolCallEnd }, Survivors(sampler, RandomLogits(rng, tok.VocabSize)));
                sampler.Accept(ToolCallEnd);
                Assert.True(sampler.IsFinished);
                Assert.Equal(new HashSet<int>(Enumerable.Range(0, tok.VocabSize).Where(tok.IsEndOfGeneration)), Survivors(sampler, RandomLogits(rng, tok.VocabSize)));
                sampler.Accept(ImEnd);
            }
            Assert.Equal("{\"name\": \"remember\", \"arguments\": {\"fact\": \"Aria liebt Käse 🧀\"}}", sampler.Text);
        }

        [Fact]
        public void Control_And_End_Tokens_Never_Pass_Inside_A_String()
        {
            var tok = Npc;
            var sampler = new GrammarSampler(NewToolGrammar(), tok);
            foreach (int t in tok.Encode("{\"name\": \"remember\", \"arguments\": {\"fact\": \"x", addSpecial: false)) sampler.Accept(t);
            HashSet<int> allowed = Survivors(sampler, new float[tok.VocabSize]);
            Assert.True(allowed.Count > tok.VocabSize / 2);
            foreach (int special in new[] { ImStart, ImEnd, ToolCallEnd, tok.BosId, tok.EosId, 0 }) Assert.DoesNotContain(special, allowed);
            Assert.Throws<GrammarViolationException>(() => sampler.Accept(ToolCallEnd));
            Assert.Throws<GrammarViolationException>(() => sampler.Accept(ImEnd));
        }

        [Theory]
        [InlineData(1)]
        [InlineData(40)]
        public void KeepTop_Gives_What_A_Full_Mask_And_Top_K_Give(int k)
        {
            var tok = Npc;
            var rng = new Random(k);
            var prefixes = new[] { "", "{\"name\": \"", "{\"name\": \"remember\", \"arguments\": {\"fact\": \"Ar", "{\"name\": \"sell_item\", \"arguments\": {\"item\": \"iron sword\", \"price\": 1" };
            foreach (string prefix in prefixes)
            {
                foreach (string order in new[] { "as loaded", "sorted", "reordered" })
                {
                    // A fresh grammar each time, so the sorted path also runs without cached masks.
                    var full = new GrammarSampler(NewToolGrammar(), tok);
                    var top = new GrammarSampler(NewToolGrammar(), tok) { KeepTop = k };
                    foreach (int t in tok.Encode(prefix, addSpecial: false))
                    {
                        full.Accept(t);
                        top.Accept(t);
                    }
                    float[] logits = RandomLogits(rng, tok.VocabSize);
                    for (int i = 0; i < 50; i++) logits[rng.Next(logits.Length)] = logits[rng.Next(logits.Length)]; // ties
                    var a = new TokenCandidates();
                    a.Reset(logits);
                    full.Apply(a, Array.Empty<int>());
                    new TopKSampler(k).Apply(a, Array.Empty<int>());
                    var b = new TokenCandidates();
                    b.Reset(logits);
                    if (order != "as loaded") b.Sort();
                    // A penalty marks the list unsorted: candidates neither in id order nor known sorted.
                    if (order == "reordered") new PenaltySampler(64, 1.1f, 0f, 0f).Apply(b, new[] { 9999 });
                    top.Apply(b, Array.Empty<int>());
                    Assert.True(b.Count <= k);
                    new TopKSampler(k).Apply(b, Array.Empty<int>());
                    Assert.Equal(a.Ids.ToArray(), b.Ids.ToArray());
                    Assert.Equal(a.Logits.ToArray(), b.Logits.ToArray());
                }
            }
        }

        [Fact]
        public void Chain_Keeps_Grammar_Before_Cutting_Samplers_And_Follows_History()
        {
            var tok = Npc;
            var grammar = Grammar.ToolCall(new[] { ToolCallGrammarTests.SellItem, ToolCallGrammarTests.OpenDoor });
            var rng = new Random(5);
            foreach (float temperature in new[] { 0f, 0.7f, 1.5f })
            {
                var sampler = new GrammarSampler(grammar, tok);
                SamplerChain chain = sampler.CreateChain(new SamplingOptions { Temperature = temperature, TopK = 40, TopP = 0.9f, MinP = 0.05f, Seed = 3 });
                var history = new List<int> { 1, 4, ToolCallStart };
                for (int step = 0; step < 200 && !sampler.IsFinished; step++)
                {
                    // Logits that love forbidden tokens: only the grammar keeps the draw valid.
                    float[] logits = RandomLogits(rng, tok.VocabSize);
                    logits[ImEnd] = 30;
                    logits[ImStart] = 29;
                    logits[tok.Encode(" Hello", addSpecial: false)[0]] = 28;
                    int token = chain.Sample(logits, history);
                    history.Add(token); // the chain told the sampler (ITokenObserver.Accept)
                }
                string text = sampler.Text;
                Assert.True(sampler.IsFinished, text);
                Assert.True(grammar.Matches(text), text);
                Assert.Equal(ToolCallEnd, history.Last());
                Assert.Equal(text, tok.Decode(history.Skip(3).Take(history.Count - 4).ToList()));
            }
        }

        [Fact]
        public void Triggered_Sampler_Constrains_Only_Between_Start_And_End_Token()
        {
            var tok = Npc;
            var sampler = new GrammarSampler(NewToolGrammar(), tok, ToolCallEnd, ToolCallStart);
            float[] logits = new float[tok.VocabSize];
            Assert.Equal(tok.VocabSize, Survivors(sampler, logits).Count);
            foreach (int t in tok.Encode("Fine.\n", addSpecial: false)) sampler.Accept(t);
            Assert.False(sampler.IsActive);
            sampler.Accept(ToolCallStart);
            Assert.True(sampler.IsActive);
            Assert.True(Survivors(sampler, logits).Count < 100);
            foreach (int t in ReferenceCall) sampler.Accept(t);
            sampler.Accept(ToolCallEnd);
            Assert.False(sampler.IsActive);
            Assert.Equal(1, sampler.CompletedCount);
            Assert.Equal(tok.VocabSize, Survivors(sampler, logits).Count);
        }

        [Fact]
        public void Violations_Are_Typed_And_Leave_The_State_Unchanged()
        {
            var tok = Npc;
            var sampler = new GrammarSampler(NewToolGrammar(), tok);
            int hello = tok.Encode("Hello", addSpecial: false)[0];
            var e = Assert.Throws<GrammarViolationException>(() => sampler.Accept(hello));
            Assert.Equal(hello, e.TokenId);
            Assert.Throws<GrammarViolationException>(() => sampler.Accept(ToolCallEnd));
            sampler.Accept(ReferenceCall[0]);
            Assert.Equal("{\"", sampler.Text);

            // Appended after top-k as the last sampler, the mask can find nothing left to keep.
            var late = new SamplerChain(new SamplingOptions { Temperature = 1f, TopK = 1, TopP = 1f, MinP = 0f });
            late.Add(new GrammarSampler(NewToolGrammar(), tok));
            float[] logits = new float[tok.VocabSize];
            logits[hello] = 10;
            var dead = Assert.Throws<GrammarViolationException>(() => late.Sample(logits, Array.Empty<int>()));
            Assert.Contains("CreateChain", dead.Message);
        }

        [Fact]
        public void Grammar_Without_End_Token_Ends_With_End_Of_Generation()
        {
            var tok = Npc;
            var sampler = new GrammarSampler(Grammar.Parse("root ::= \" yes\" | \" no\""), tok);
            Assert.Null(sampler.EndTokenId);
            float[] logits = new float[tok.VocabSize];
            Assert.DoesNotContain(ImEnd, Survivors(sampler, logits));
            foreach (int t in tok.Encode(" yes", addSpecial: false)) sampler.Accept(t);
            Assert.True(sampler.IsComplete);
            Assert.Contains(ImEnd, Survivors(sampler, logits));
            Assert.DoesNotContain(ImStart, Survivors(sampler, logits));
            sampler.Accept(ImEnd);
            Assert.True(sampler.IsFinished);
        }
    }
}
