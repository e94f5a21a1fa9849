using System;
using System.Collections.Generic;
using System.Linq;
using NpcSdk.Generation;
using NpcSdk.Models;
using NpcSdk.Sampling;
using NpcSdk.Tests;
using Xunit;

namespace NpcSdk.Tests.Generation
{
    public sealed class SharedPrefixAndOverflowTests
    {
        private static readonly string NpcModel = TestPaths.Model("npc-q8_0.gguf");

        /// <summary>A persona system prompt of exactly <paramref name="length"/> tokens (BOS included).</summary>
        private static int[] Persona(Model model, int length)
        {
            var text = "<|im_start|>system\nYou are Brom Ironhand, the blacksmith of Oakvale.\nPersonality: gruff, speaks in short, blunt sentences.\nLocation: the forge, Oakvale.\n";
            var facts = string.Concat(Enumerable.Range(0, 40).Select(i => $"- Fact {i}: the north gate closes at dusk and the wolves come at night.\n"));
            var ids = model.Tokenizer.Encode(text + "Memories:\n" + facts, addSpecial: true, parseSpecial: true);
            Assert.True(ids.Length >= length, $"persona text has only {ids.Length} tokens");
            return ids.Take(length).ToArray();
        }

        [Fact]
        public void Eight_Sessions_Share_One_Prefill_Of_A_300_Token_Persona()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            var persona = Persona(model, 300);
            long before = model.EvaluatedTokenCount;
            var prefix = model.CreatePrefix(persona);
            Assert.Equal(300, model.EvaluatedTokenCount - before);

            var sessions = new List<InferenceSession>();
            for (int i = 0; i < 8; i++)
            {
                var own = model.Tokenizer.Encode($"<|im_end|>\n<|im_start|>user\nHello number {i}!<|im_end|>\n<|im_start|>assistant\n", addSpecial: false, parseSpecial: true);
                int[] prompt = persona.Concat(own).ToArray();
                long evaluated = model.EvaluatedTokenCount;
                long allocated = GC.GetAllocatedBytesForCurrentThread();
                var s = model.CreateSession();
                s.Evaluate(prompt);
                allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
                Assert.Equal(own.Length, model.EvaluatedTokenCount - evaluated); // only its own tokens were prefilled
                Assert.Equal(300, s.SharedPrefixLength);
                Assert.Equal(300, s.PinnedLength);
                // Memory: only the blocks holding its own tokens (block granularity 16 positions).
                long perPosition = prefix.KvCacheBytes / 304; // the prefix allocated ceil(300/16)*16 positions
                long ownBlocks = (300 + own.Length - 1) / 16 - 300 / 16 + 1;
                Assert.Equal(ownBlocks * 16 * perPosition, s.KvCacheBytes);
                // And beyond its cache, its logits and bookkeeping: the step's activations are lent by the model (one
                // set for all eight, as their steps never overlap), not held by each session.
                Assert.True(allocated <= s.KvCacheBytes + 4L * model.Config.VocabSize + (128 << 10),
                    $"session {i} allocated {allocated} bytes for {s.KvCacheBytes} bytes of cache");
                sessions.Add(s);
            }
            Assert.Equal(1, model.Passes.Created);

            // A session with the prefix computes exactly what one without it computes.
            using var plain = model.CreateSession(new SessionOptions());
            model.Prefixes.Remove(prefix);
            var ownTokens = model.Tokenizer.Encode("<|im_end|>\n<|im_start|>user\nHello number 0!<|im_end|>\n<|im_start|>assistant\n", addSpecial: false, parseSpecial: true);
            plain.Evaluate(persona.Concat(ownTokens).ToArray());
            Assert.Equal(0, plain.SharedPrefixLength);
            Assert.True(plain.Logits.SequenceEqual(sessions[0].Logits.ToArray()));
        }

        [Fact]
        public void A_Session_Fed_Three_Times_Its_Context_Keeps_Answering_And_Keeps_Its_Pinned_Prefix()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            var persona = Persona(model, 40);
            var trims = new List<ContextTrim>();
            using var session = model.CreateSession(new SessionOptions { ContextLength = 160 });
            session.ContextTrimmed += trims.Add;
            session.Evaluate(persona);
            session.PinnedLength = persona.Length;
            var sampler = new SamplerChain(new SamplingOptions { Temperature = 0.7f, Seed = 5 });
            int fed = persona.Length, turns = 0;
            while (fed < 3 * 160)
            {
                var line = model.Tokenizer.Encode($"<|im_end|>\n<|im_start|>user\nTell me more about the north gate, turn {turns}.<|im_end|>\n<|im_start|>assistant\n", addSpecial: false, parseSpecial: true);
                var reply = session.Run(new GenerationRequest { Tokens = line, MaxTokens = 24, Sampler = sampler });
                Assert.NotEqual(GenerationStopReason.Failed, reply.StopReason);
                Assert.NotEmpty(reply.Tokens);
                fed += line.Length + reply.Tokens.Count;
                turns++;
                Assert.True(session.Position <= 160);
                Assert.Equal(persona, session.Tokens.Take(persona.Length));
            }
            Assert.NotEmpty(trims);
            Assert.All(trims, t => Assert.Equal(persona.Length, t.PinnedLength));
            Assert.True(trims.Sum(t => t.DroppedTokens.Count) >= fed - 160);
        }

        [Fact]
        public void Trimmed_Session_Computes_What_A_Fresh_Session_With_The_Kept_Tokens_Computes()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            var persona = Persona(model, 20);
            using var session = model.CreateSession(new SessionOptions { ContextLength = 64, KvCacheType = KvCacheType.F32, ContextShift = ContextShift.Recompute });
            session.Evaluate(persona);
            session.PinnedLength = 20;
            for (int i = 0; i < 6; i++)
                session.Evaluate(model.Tokenizer.Encode($"<|im_start|>user\nLine {i} about bread.<|im_end|>\n", addSpecial: false, parseSpecial: true));
            var kept = session.Tokens.ToArray();
            using var fresh = model.CreateSession(new SessionOptions { ContextLength = 64, KvCacheType = KvCacheType.F32 });
            fresh.Evaluate(kept);
            Assert.True(fresh.Logits.SequenceEqual(session.Logits.ToArray()));
        }

        [Theory]
        [InlineData(KvCacheType.F32)]
        [InlineData(KvCacheType.F16)]
        [InlineData(KvCacheType.Q8_0)]
        public void Rotating_Keys_Trims_Without_Evaluating_Anything_Twice(KvCacheType kv)
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            var persona = Persona(model, 20);
            using var session = model.CreateSession(new SessionOptions { ContextLength = 64, KvCacheType = kv, ContextShift = ContextShift.RotateKeys });
            session.Evaluate(persona);
            session.PinnedLength = 20;
            long before = model.EvaluatedTokenCount;
            int fed = 0, trims = 0;
            session.ContextTrimmed += _ => trims++;
            for (int i = 0; i < 6; i++)
            {
                var line = model.Tokenizer.Encode($"<|im_start|>user\nLine {i} about bread.<|im_end|>\n", addSpecial: false, parseSpecial: true);
                session.Evaluate(line);
                fed += line.Length;
            }
            Assert.True(trims > 0);
            Assert.Equal(fed, model.EvaluatedTokenCount - before); // the kept tokens were moved, not evaluated again
            Assert.Equal(persona, session.Tokens.Take(20));
            Assert.All(session.Logits.ToArray(), l => Assert.True(float.IsFinite(l)));
        }

        [Theory]
        [InlineData(0, 1)]
        [InlineData(5, 3)]
        [InlineData(300, 117)]
        public void A_Shifted_Key_Equals_The_Key_Rotated_For_Its_New_Position(int newPosition, int delta)
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            var c = model.Config;
            var rng = new Random(newPosition + delta);
            var raw = Enumerable.Range(0, c.KvDim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            // RoPE written out from its definition (adjacent pairs for llama): angle_i = pos · base^(−2i/d).
            float[] Rotate(float[] v, int pos)
            {
                var r = (float[])v.Clone();
                for (int h = 0; h < c.KvHeadCount; h++)
                    for (int i = 0; i < c.RopeDim / 2; i++)
                    {
                        double angle = pos * c.RopeFreqScale * Math.Pow(c.RopeFreqBase, -2.0 * i / c.RopeDim);
                        int a = h * c.HeadDim + 2 * i;
                        double x0 = v[a], x1 = v[a + 1];
                        r[a] = (float)(x0 * Math.Cos(angle) - x1 * Math.Sin(angle));
                        r[a + 1] = (float)(x0 * Math.Sin(angle) + x1 * Math.Cos(angle));
                    }
                return r;
            }
            var shifted = Rotate(raw, newPosition + delta);
            new RopeShift(c).Apply(shifted, delta);
            var expected = Rotate(raw, newPosition);
            for (int i = 0; i < c.KvDim; i++) Assert.Equal(expected[i], shifted[i], 3e-4f);
        }

        [Fact]
        public void Overflow_Without_Dropping_Throws_And_So_Does_A_Pinned_Prefix_That_Fills_The_Context()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            using var strict = model.CreateSession(new SessionOptions { ContextLength = 32, DropOldTurnsOnOverflow = false });
            strict.Evaluate(Enumerable.Repeat(300, 30).ToArray());
            Assert.Throws<ContextFullException>(() => strict.Evaluate(Enumerable.Repeat(301, 5).ToArray()));

            using var pinned = model.CreateSession(new SessionOptions { ContextLength = 32 });
            pinned.Evaluate(Enumerable.Repeat(300, 30).ToArray());
            pinned.PinnedLength = 30;
            Assert.Throws<ContextFullException>(() => pinned.Evaluate(Enumerable.Repeat(301, 5).ToArray()));
        }
    }
}
