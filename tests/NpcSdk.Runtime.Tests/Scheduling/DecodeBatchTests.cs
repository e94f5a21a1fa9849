using System;
using System.Collections.Generic;
using System.Linq;
using NpcSdk.Generation;
using NpcSdk.Models;
using NpcSdk.Sampling;
using NpcSdk.Scheduling;
using NpcSdk.Runtime.Tests.Native;
using Xunit;

namespace NpcSdk.Tests.Scheduling
{
    /// <summary>
    /// Several sessions' next tokens in one forward step (<see cref="DecodeBatch"/>): every row must get exactly the
    /// logits its session computes alone, whatever the formats, positions or rows dropped on the way.
    /// </summary>
    public sealed class DecodeBatchTests
    {
        public static IEnumerable<object[]> Models() => new[]
        {
            "npc-q8_0.gguf", "fx-llama-Q4_0.gguf", "fx-llama-Q4_K_M.gguf", "fx-llama-F16.gguf", "fx-llama-Q6_K.gguf",
            "fx-qwen2-Q8_0.gguf", "fx-qwen2-Q4_K_M.gguf",
        }.Select(m => new object[] { m });

        [Theory]
        [MemberData(nameof(Models))]
        public void Rows_Get_The_Logits_Of_Their_Own_One_Token_Step(string modelFile) => AssertBatchMatchesAlone(modelFile, KernelBackend.Managed);

        [NativeTheory]
        [MemberData(nameof(Models))]
        public void Rows_Get_The_Logits_Of_Their_Own_One_Token_Step_Native(string modelFile) => AssertBatchMatchesAlone(modelFile, KernelBackend.Native);

        [Theory]
        [InlineData(KvCacheType.F32)]
        [InlineData(KvCacheType.Q8_0)]
        public void Rows_Get_The_Logits_Of_Their_Own_One_Token_Step_With_Other_Caches(KvCacheType kv) =>
            AssertBatchMatchesAlone("npc-q8_0.gguf", KernelBackend.Managed, kv);

        private static void AssertBatchMatchesAlone(string modelFile, KernelBackend backend, KvCacheType kv = KvCacheType.F16)
        {
            using var model = Model.Load(TestPaths.Model(modelFile), new ModelOptions { Threads = 2, Backend = backend });
            var rng = new Random(7);
            int vocab = model.Config.VocabSize;
            // Three conversations of different lengths (a row's attention reads its own context only).
            var prompts = new[] { 5, 19, 41 }.Select(n => Enumerable.Range(0, n).Select(_ => rng.Next(3, vocab)).ToArray()).ToArray();
            var options = new SessionOptions { KvCacheType = kv };
            var alone = prompts.Select(p => { var s = model.CreateSession(options); s.Evaluate(p); return s; }).ToArray();
            var batched = prompts.Select(p => { var s = model.CreateSession(options); s.Evaluate(p); return s; }).ToArray();
            var batch = new DecodeBatch(model, 4);

            for (int step = 0; step < 3; step++)
            {
                var next = prompts.Select(_ => rng.Next(3, vocab)).ToArray();
                var handles = batched.Select((s, i) => s.Begin(new GenerationRequest { Tokens = new[] { next[i] }, MaxTokens = 0 })).ToArray();
                Assert.Equal(3, batch.Begin(handles));
                int dropAt = step == 2 ? model.Config.LayerCount / 2 : -1;
                for (int layer = 0; !batch.LayersDone; layer++)
                {
                    // The last step loses its middle row half-way through the layers (its request was cancelled).
                    if (layer == dropAt)
                    {
                        handles[1].Cancel();
                        handles[1].Advance(0, 0);
                    }
                    batch.RunNextLayer();
                }
                batch.Finish();
                Assert.False(batch.InProgress);

                for (int i = 0; i < 3; i++)
                {
                    if (i == 1 && step == 2)
                    {
                        Assert.Equal(GenerationStopReason.Cancelled, handles[1].Result!.StopReason);
                        Assert.Equal(alone[1].Position, batched[1].Position); // nothing of the dropped row was kept
                        continue;
                    }
                    alone[i].Evaluate(new[] { next[i] });
                    Assert.Equal(alone[i].Position, batched[i].Position);
                    Assert.Equal(alone[i].Tokens, batched[i].Tokens);
                    var expected = alone[i].Logits.ToArray();
                    var got = batched[i].Logits.ToArray();
                    for (int v = 0; v < vocab; v++)
                        if (BitConverter.SingleToInt32Bits(expected[v]) != BitConverter.SingleToInt32Bits(got[v]))
                            Assert.Fail($"{modelFile} {backend}, step {step}, row {i}, logit {v}: {got[v]:R} batched vs {expected[v]:R} alone");
                }
            }

            // The cancelled session is usable: its next token evaluates as on the session that never batched.
            int last = rng.Next(3, vocab);
            alone[1].Evaluate(new[] { last });
            batched[1].Evaluate(new[] { last });
            Assert.Equal(alone[1].Logits.ToArray(), batched[1].Logits.ToArray());
        }

        private static GenerationRequest Request(Model model, int i, int maxTokens) => new GenerationRequest
        {
            Tokens = model.Tokenizer.Encode($"<|im_start|>user\nTell me story number {i} about the {(i % 2 == 0 ? "wolves" : "old mill")}.<|im_end|>\n<|im_start|>assistant\n", addSpecial: true, parseSpecial: true),
            MaxTokens = maxTokens,
            StopAtEndOfGeneration = false,
            Sampling = new SamplingOptions { Temperature = 0.8f, Seed = (ulong)(40 + i) },
        };

        /// <summary>A session with request <paramref name="i"/>'s prompt already evaluated, so that several start generating together.</summary>
        private static InferenceSession Prepared(Model model, int i, SessionOptions? options = null)
        {
            var s = model.CreateSession(options);
            s.Evaluate(Request(model, i, 0).Tokens);
            return s;
        }

        /// <summary>Request <paramref name="i"/>'s generation after its <see cref="Prepared"/> prompt: <paramref name="maxTokens"/> tokens, its own sampling.</summary>
        private static GenerationRequest Continue(Model model, int i, int maxTokens) =>
            new GenerationRequest { Tokens = Array.Empty<int>(), MaxTokens = maxTokens, StopAtEndOfGeneration = false, Sampling = Request(model, i, 0).Sampling };

        [Theory]
        [InlineData(1, 4.0)]
        [InlineData(2, 1.0)]
        [InlineData(1, double.PositiveInfinity)]
        public void Scheduled_Requests_Batch_Their_Decode_Steps_With_The_Same_Tokens_As_Alone(int threads, double budgetMs)
        {
            using var model = Model.Load(TestPaths.Model("npc-q8_0.gguf"), new ModelOptions { Threads = threads });
            // A small context, so that sessions trim old tokens (shifting their keys) while their steps are batched.
            // Prompts evaluated beforehand, so the requests start generating together and batch from their first step
            // whatever the machine's timing.
            var options = new SessionOptions { ContextLength = 64, ContextShift = ContextShift.RotateKeys };
            InferenceSession Prepared(int i) => DecodeBatchTests.Prepared(model, i, options);
            GenerationRequest Continue(int i) => DecodeBatchTests.Continue(model, i, 70);
            var expected = Enumerable.Range(0, 5).Select(i => Prepared(i).Run(Continue(i)).Tokens).ToArray();

            using var scheduler = new FrameScheduler(new SchedulerOptions { MaxDecodeBatch = 4 });
            var sessions = Enumerable.Range(0, 5).Select(Prepared).ToArray();
            var handles = sessions.Select((s, i) => scheduler.Submit(s, Continue(i))).ToArray();
            int trims = 0;
            foreach (var h in handles) h.ContextTrimmed += (_, _) => trims++;
            for (int tick = 0; handles.Any(h => !h.IsFinished); tick++)
            {
                Assert.True(tick < 200_000, "no progress");
                scheduler.Tick(budgetMs);
            }
            for (int i = 0; i < 5; i++) Assert.Equal(expected[i], handles[i].Result!.Tokens);
            // With a small budget, whether a batch's layer fits in half of it depends on the machine's speed.
            if (budgetMs >= 4.0) Assert.True(scheduler.BatchUnitsRun > 0, "no decode step was batched");
            Assert.True(trims > 0, "no context was trimmed");
        }

        [Fact]
        public void A_Full_Context_Fails_Its_Own_Request_In_A_Batch_And_Never_The_Tick()
        {
            using var model = Model.Load(TestPaths.Model("npc-q8_0.gguf"), new ModelOptions { Threads = 1 });
            using var scheduler = new FrameScheduler();
            var handles = Enumerable.Range(0, 3).Select(i =>
            {
                var prompt = Request(model, i, 0).Tokens;
                // Room for the prompt (evaluated beforehand, so the three generate together) and a few tokens more,
                // different for each; no dropping of old turns.
                var s = model.CreateSession(new SessionOptions { ContextLength = prompt.Count + 4 + 3 * i, DropOldTurnsOnOverflow = false });
                s.Evaluate(prompt);
                return scheduler.Submit(s, new GenerationRequest { Tokens = Array.Empty<int>(), MaxTokens = 100, StopAtEndOfGeneration = false });
            }).ToArray();
            for (int tick = 0; handles.Any(h => !h.IsFinished); tick++)
            {
                Assert.True(tick < 10_000, "no progress");
                scheduler.Tick(4);
            }
            Assert.True(scheduler.BatchUnitsRun > 0, "no decode step was batched");
            foreach (var h in handles)
            {
                Assert.Equal(GenerationStopReason.Failed, h.Result!.StopReason);
                Assert.IsType<ContextFullException>(h.Result.Error);
                Assert.Equal(h.Session.ContextLength, h.Session.Position);
            }
        }

        [Fact]
        public void A_Batch_Layer_That_No_Longer_Fits_Begins_Part_By_Part_With_The_Same_Tokens()
        {
            using var model = Model.Load(TestPaths.Model("npc-q8_0.gguf"), new ModelOptions { Threads = 1 });
            model.Calibrate();
            // Prompts evaluated beforehand, so the three requests generate together from their first step.
            InferenceSession Prepared(int i) => DecodeBatchTests.Prepared(model, i);
            GenerationRequest Continue(int i) => DecodeBatchTests.Continue(model, i, 30);
            var expected = Enumerable.Range(0, 3).Select(i => Prepared(i).Run(Continue(i)).Tokens).ToArray();
            int batchUnits = 0, batchStages = 0;
            // Budgets of 5.5 to 7.5 predicted one-token layers: a batch of the three forms (its layer is worth about
            // 2.5 of them) and whole layers alone would leave remainders at the end of ticks.
            foreach (double layers in new[] { 5.5, 6.0, 6.5, 7.0, 7.5 })
            {
                using var scheduler = new FrameScheduler();
                var sessions = Enumerable.Range(0, 3).Select(Prepared).ToArray();
                double budget = layers * model.SliceCosts.LayerMs(sessions[0], 1) / new SchedulerOptions().SafetyFactor;
                var handles = sessions.Select((s, i) => scheduler.Submit(s, Continue(i))).ToArray();
                for (int tick = 0; handles.Any(h => !h.IsFinished); tick++)
                {
                    Assert.True(tick < 100_000, "no progress");
                    scheduler.Tick(budget);
                }
                for (int i = 0; i < 3; i++) Assert.Equal(expected[i], handles[i].Result!.Tokens);
                batchUnits += scheduler.BatchUnitsRun;
                batchStages += scheduler.BatchStageUnitsRun;
            }
            Assert.True(batchUnits > 0, "no decode step was batched");
            Assert.True(batchStages > 0, "no batch layer was begun part by part");
        }

        [Fact]
        public void A_Request_Cancelled_In_A_Batch_Leaves_The_Others_Unchanged_And_Its_Session_Usable()
        {
            using var model = Model.Load(TestPaths.Model("npc-q8_0.gguf"), new ModelOptions { Threads = 1 });
            // Prompts evaluated beforehand, so the three requests start generating together and batch from their first step.
            InferenceSession Prepared(int i) => DecodeBatchTests.Prepared(model, i);
            GenerationRequest Continue(int i) => DecodeBatchTests.Continue(model, i, 60);
            var expected = Enumerable.Range(0, 3).Select(i => Prepared(i).Run(Continue(i)).Tokens).ToArray();

            using var scheduler = new FrameScheduler();
            var sessions = Enumerable.Range(0, 3).Select(Prepared).ToArray();
            var handles = sessions.Select((s, i) => scheduler.Submit(s, Continue(i))).ToArray();
            // Stop at the end of a tick that left a batch step of all three part-way through its layers.
            for (int tick = 0; !(sessions[1].Batch is { } b && !b.LayersDone && b.Count == 3); tick++)
            {
                Assert.True(tick < 10_000 && !handles[1].IsFinished, $"the three requests never shared a step: {string.Join(", ", handles.Select(h => $"{h.Tokens.Count} tokens, {h.Status}"))}, {scheduler.BatchUnitsRun} batch units, tick {tick}");
                scheduler.Tick(1.5);
            }
            handles[1].Cancel();
            Assert.Equal(GenerationStopReason.Cancelled, handles[1].Result!.StopReason);
            Assert.Null(sessions[1].Batch);
            int kept = sessions[1].Position;
            while (!handles[0].IsFinished || !handles[2].IsFinished) scheduler.Tick(1.5);
            Assert.Equal(expected[0], handles[0].Result!.Tokens);
            Assert.Equal(expected[2], handles[2].Result!.Tokens);
            Assert.Equal(kept, sessions[1].Position);
            var again = scheduler.Submit(sessions[1], new GenerationRequest { Tokens = model.Tokenizer.Encode("\nGo on.", false, false), MaxTokens = 5 });
            while (!again.IsFinished) scheduler.Tick(4);
            Assert.NotEqual(GenerationStopReason.Failed, again.Result!.StopReason);
        }
    }
}
