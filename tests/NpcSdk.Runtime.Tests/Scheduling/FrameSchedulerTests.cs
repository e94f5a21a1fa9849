using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NpcSdk.Generation;
using NpcSdk.Models;
using NpcSdk.Sampling;
using NpcSdk.Scheduling;
using NpcSdk.Tests;
using Xunit;

namespace NpcSdk.Tests.Scheduling
{
    public sealed class FrameSchedulerTests
    {
        private static readonly string NpcModel = TestPaths.Model("npc-q8_0.gguf");

        private static readonly string[] Lines =
        {
            "I'll buy the iron sword.",
            "Tell me about the wolves north of town.",
            "Can you open the cellar door?",
        };

        private static string Prompt(string line) =>
            "<|im_start|>system\nYou are Brom Ironhand, the blacksmith of Oakvale.\nPersonality: gruff.\nPlayer gold: 35\nInventory:\n- iron sword: 12 gold\nMemories: none\nTools:\n- sell_item(item, price): sell an item from your inventory to the player<|im_end|>\n"
            + $"<|im_start|>user\n{line}<|im_end|>\n<|im_start|>assistant\n";

        private static GenerationRequest Request(Model model, int i) => new GenerationRequest
        {
            Tokens = model.Tokenizer.Encode(Prompt(Lines[i]), addSpecial: true, parseSpecial: true),
            MaxTokens = 24,
            Sampling = new SamplingOptions { Temperature = 0.8f, Seed = (ulong)(100 + i) },
            Priority = i == 0 ? 10 : 0,
        };

        private static List<int[]> RunScheduled(int threads, double budgetMs, SchedulerMode mode)
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = threads });
            using var scheduler = new FrameScheduler(new SchedulerOptions { Mode = mode });
            var sessions = Enumerable.Range(0, 3).Select(_ => model.CreateSession()).ToArray();
            var handles = sessions.Select((s, i) => scheduler.Submit(s, Request(model, i))).ToArray();
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (handles.Any(h => !h.IsFinished))
            {
                Assert.True(DateTime.UtcNow < deadline, "scheduler made no progress");
                if (mode == SchedulerMode.MainThread) scheduler.Tick(budgetMs);
                else Thread.Sleep(5);
            }
            scheduler.DispatchEvents();
            return handles.Select(h => h.Result!.Tokens.ToArray()).ToList();
        }

        [Fact]
        public void Tokens_Are_Identical_Whatever_Budget_Threads_Or_Mode()
        {
            List<int[]> reference;
            using (var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 }))
                reference = Enumerable.Range(0, 3).Select(i => model.CreateSession().Run(Request(model, i)).Tokens.ToArray()).ToList();
            Assert.All(reference, r => Assert.NotEmpty(r));

            foreach (int threads in new[] { 1, 2 })
            {
                foreach (double budget in new[] { 0.5, 4.0, double.PositiveInfinity })
                {
                    var got = RunScheduled(threads, budget, SchedulerMode.MainThread);
                    for (int i = 0; i < 3; i++) Assert.True(reference[i].SequenceEqual(got[i]), $"session {i}, {threads} threads, budget {budget} ms");
                }
                var worker = RunScheduled(threads, 0, SchedulerMode.Worker);
                for (int i = 0; i < 3; i++) Assert.True(reference[i].SequenceEqual(worker[i]), $"session {i}, {threads} threads, worker mode");
            }
        }

        [Theory]
        [InlineData(SchedulerMode.MainThread)]
        [InlineData(SchedulerMode.Worker)]
        public void Sessions_Disposed_Mid_Step_Leave_The_Others_Tokens_Unchanged(SchedulerMode mode)
        {
            // Sessions borrow their steps' scratch from the model: NPCs thrown away mid-step (on the game thread, while
            // a worker may be running their slice) must hand it back once, so the others never share a pass.
            List<int[]> reference;
            using (var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 }))
                reference = Enumerable.Range(0, 3).Select(i => model.CreateSession().Run(Request(model, i)).Tokens.ToArray()).ToList();

            using (var model = Model.Load(NpcModel, new ModelOptions { Threads = 2 }))
            using (var scheduler = new FrameScheduler(new SchedulerOptions { Mode = mode, WorkerSliceMs = 0.5, MaxPrefillChunk = 8 }))
            {
                var rng = new Random(7);
                var thrown = new List<InferenceSession>();
                var deadline = DateTime.UtcNow.AddMinutes(2);
                int disposed = 0;
                for (int round = 0; round < 12; round++)
                {
                    var kept = Enumerable.Range(0, 3).Select(i => scheduler.Submit(model.CreateSession(), Request(model, i))).ToArray();
                    while (kept.Any(h => !h.IsFinished))
                    {
                        Assert.True(DateTime.UtcNow < deadline, "scheduler made no progress");
                        // Keep three long requests from other NPCs going, and throw one away at a random moment.
                        while (thrown.Count < 3)
                        {
                            var s = model.CreateSession();
                            var request = Request(model, rng.Next(3));
                            request.MaxTokens = 200;
                            request.Priority = 0;
                            scheduler.Submit(s, request);
                            thrown.Add(s);
                        }
                        if (rng.Next(3) == 0)
                        {
                            int k = rng.Next(thrown.Count);
                            thrown[k].Dispose();
                            thrown.RemoveAt(k);
                            disposed++;
                        }
                        if (mode == SchedulerMode.MainThread) scheduler.Tick(0.3);
                        else Thread.Sleep(rng.Next(2));
                    }
                    for (int i = 0; i < 3; i++) Assert.True(reference[i].SequenceEqual(kept[i].Result!.Tokens), $"round {round}, session {i}, {mode}, {disposed} others disposed");
                }
                Assert.True(disposed > 50, $"only {disposed} sessions were disposed");
                foreach (var s in thrown) s.Dispose();
            }
        }

        [Fact]
        public void Small_Budget_Slices_A_Step_Across_Ticks_By_Layers()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            using var scheduler = new FrameScheduler();
            var session = model.CreateSession();
            var handle = scheduler.Submit(session, Request(model, 0));
            int ticks = 0;
            while (!handle.IsFinished && ticks < 100_000) { scheduler.Tick(0.05); ticks++; }
            Assert.True(handle.IsFinished);
            // With a 50 µs budget a whole step (8 layers) never fits, so each step spreads over several ticks.
            int steps = handle.Tokens.Count + (int)Math.Ceiling(Request(model, 0).Tokens.Count / 32.0);
            Assert.True(handle.SlicesRun > steps * 2, $"{handle.SlicesRun} slices for {steps} steps");
        }

        [Theory]
        [InlineData("npc-q8_0.gguf")]
        [InlineData("fx-llama-Q4_0.gguf")]
        [InlineData("fx-qwen2-Q4_K_M.gguf")]
        public void An_Output_Projection_Sliced_Across_Ticks_Gives_The_Same_Logits(string modelFile)
        {
            using var model = Model.Load(TestPaths.Model(modelFile), new ModelOptions { Threads = 1 });
            var rng = new Random(3);
            var prompt = Enumerable.Range(0, 12).Select(_ => rng.Next(3, model.Config.VocabSize)).ToArray();
            var alone = model.CreateSession();
            alone.Evaluate(prompt);

            using var scheduler = new FrameScheduler();
            var session = model.CreateSession();
            var handle = scheduler.Submit(session, new GenerationRequest { Tokens = prompt, MaxTokens = 0 });
            // 1 µs: nothing fits, so each tick runs one unit, and the projection goes in slices of what fits in a whole
            // tick (at least 1/16 of the vocabulary): far less than a whole projection takes on any machine.
            while (!handle.IsFinished) scheduler.Tick(0.001);
            Assert.True(scheduler.LogitsSlicesRun >= 2, $"{scheduler.LogitsSlicesRun} projection slices");
            Assert.Equal(alone.Logits.ToArray().Select(BitConverter.SingleToInt32Bits), session.Logits.ToArray().Select(BitConverter.SingleToInt32Bits));
        }

        [Theory]
        [InlineData("npc-q8_0.gguf")]
        [InlineData("fx-qwen2-Q4_K_M.gguf")]
        public void Layers_Run_Part_By_Part_Under_A_Tiny_Budget_Give_The_Same_Tokens(string modelFile)
        {
            using var model = Model.Load(TestPaths.Model(modelFile), new ModelOptions { Threads = 1 });
            var rng = new Random(9);
            var prompt = Enumerable.Range(0, 20).Select(_ => rng.Next(3, model.Config.VocabSize)).ToArray();
            GenerationRequest Req() => new GenerationRequest { Tokens = prompt, MaxTokens = 12, StopAtEndOfGeneration = false, Sampling = new SamplingOptions { Temperature = 0.9f, Seed = 4 } };
            var expected = model.CreateSession().Run(Req()).Tokens;
            using var scheduler = new FrameScheduler();
            var handle = scheduler.Submit(model.CreateSession(), Req());
            // 2 µs: every layer is longer than half of it, so layers go one part per tick.
            for (int tick = 0; !handle.IsFinished; tick++)
            {
                Assert.True(tick < 100_000, "no progress");
                scheduler.Tick(0.002);
            }
            Assert.True(scheduler.StageUnitsRun >= NpcSdk.Models.ForwardPass.StagesPerLayer * model.Config.LayerCount, $"{scheduler.StageUnitsRun} part units");
            Assert.Equal(expected, handle.Result!.Tokens);
        }

        [Fact]
        public void A_Ticks_End_Runs_The_First_Part_Of_A_Layer_That_No_Longer_Fits_Whole()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            model.Calibrate();
            var rng = new Random(5);
            var prompt = Enumerable.Range(0, 16).Select(_ => rng.Next(8, model.Config.VocabSize)).ToArray();
            GenerationRequest Req() => new GenerationRequest { Tokens = prompt, MaxTokens = 4, StopAtEndOfGeneration = false, Sampling = new SamplingOptions { Temperature = 0.9f, Seed = 6 } };
            var expected = model.CreateSession().Run(Req()).Tokens;
            using var scheduler = new FrameScheduler();
            var session = model.CreateSession(new SessionOptions { BatchSize = 16 });
            // Two and a half predicted layers of the 16-token chunk: whole layers alone would leave half a layer idle
            // at the end of every tick (a layer this short otherwise runs whole, see the tiny-budget test).
            double budget = 2.5 * model.SliceCosts.LayerMs(session, 16) / new SchedulerOptions().SafetyFactor;
            var handle = scheduler.Submit(session, Req());
            for (int tick = 0; !handle.IsFinished; tick++)
            {
                Assert.True(tick < 10_000, "no progress");
                scheduler.Tick(budget);
            }
            Assert.True(scheduler.StageUnitsRun > 0, "no layer was begun part by part");
            Assert.Equal(expected, handle.Result!.Tokens);
        }

        [Fact]
        public void A_Context_Shift_Spread_Over_Slices_Gives_The_Same_Tokens()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            var request = Request(model, 1);
            request.MaxTokens = 60;
            request.StopAtEndOfGeneration = false;
            var options = new SessionOptions { ContextLength = request.Tokens.Count + 24, ContextShift = ContextShift.RotateKeys };
            int trims = 0;
            var reference = model.CreateSession(options);
            reference.ContextTrimmed += _ => trims++;
            var expected = reference.Run(request).Tokens;
            Assert.True(trims > 1, $"{trims} trims");
            foreach (double budget in new[] { 0.05, 1.0 })
            {
                using var scheduler = new FrameScheduler();
                var handle = scheduler.Submit(model.CreateSession(options), request);
                while (!handle.IsFinished) scheduler.Tick(budget);
                Assert.Equal(expected, handle.Result!.Tokens);
            }
        }

        [Fact]
        public async Task Events_Arrive_On_Dispatch_In_Order_With_Text()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            using var scheduler = new FrameScheduler(new SchedulerOptions { Mode = SchedulerMode.Worker });
            var handle = scheduler.Submit(model.CreateSession(), Request(model, 1));
            var seen = new List<int>();
            var text = new System.Text.StringBuilder();
            GenerationResult? finished = null;
            handle.TokenGenerated += (h, t) => { Assert.Equal(seen.Count, t.Index); seen.Add(t.Id); text.Append(t.Text); };
            handle.Finished += (h, r) => finished = r;
            await handle.Completion.WaitAsync(TimeSpan.FromMinutes(1));
            scheduler.DispatchEvents();
            Assert.NotNull(finished);
            Assert.Equal(handle.Result!.Tokens, seen);
            Assert.Equal(handle.Result.Text, text.ToString());
        }

        [Fact]
        public async Task Streaming_Text_Equals_The_Final_Text()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            using var scheduler = new FrameScheduler(new SchedulerOptions { Mode = SchedulerMode.Worker });
            var handle = scheduler.Submit(model.CreateSession(), Request(model, 2));
            var pieces = new List<string>();
            await foreach (var piece in handle.StreamTextAsync()) pieces.Add(piece);
            var result = await handle.Completion;
            Assert.Equal(result.Text, string.Concat(pieces));
            Assert.True(pieces.Count > 1);
        }

        [Fact]
        public void Cancellation_Stops_Between_Slices_And_Leaves_The_Session_Usable()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            using var scheduler = new FrameScheduler();
            var session = model.CreateSession();
            using var cts = new CancellationTokenSource();
            var request = Request(model, 0);
            request.CancellationToken = cts.Token;
            request.MaxTokens = 200;
            var handle = scheduler.Submit(session, request);
            while (handle.Tokens.Count < 3) scheduler.Tick(2);
            cts.Cancel();
            scheduler.Tick(2);
            Assert.Equal(GenerationStopReason.Cancelled, handle.Result!.StopReason);
            int position = session.Position;
            var again = scheduler.Submit(session, new GenerationRequest { Tokens = model.Tokenizer.Encode("<|im_end|>\n<|im_start|>user\nBye.<|im_end|>\n<|im_start|>assistant\n", false, true), MaxTokens = 5 });
            while (!again.IsFinished) scheduler.Tick(4);
            Assert.NotEqual(GenerationStopReason.Failed, again.Result!.StopReason);
            Assert.True(session.Position > position);
        }

        [Fact]
        public void Work_Outside_A_Scheduler_Calibrates_The_Models_Cost_Model()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            var session = model.CreateSession();
            double guess = model.SliceCosts.LayerMs(session, 1);
            var tokens = model.Tokenizer.Encode(Prompt(Lines[0]), addSpecial: true, parseSpecial: true);
            session.Evaluate(tokens.Take(8).ToArray());
            var clock = System.Diagnostics.Stopwatch.StartNew();
            int steps = 0;
            foreach (int t in tokens.Skip(8).Take(40))
            {
                session.Evaluate(new[] { t });
                steps++;
            }
            // One layer's share of a decode step (logits included, so an upper bound) against what the model predicts.
            double perLayer = clock.Elapsed.TotalMilliseconds / steps / model.Config.LayerCount;
            double mean = model.SliceCosts.MeanLayerMs(session, 1);
            Assert.NotEqual(guess, model.SliceCosts.LayerMs(session, 1));
            Assert.InRange(mean, perLayer / 10, perLayer * 2); // the first guess (from the file size) is about 3x here
        }

        [Fact]
        public void Calibrate_Measures_Every_Prompt_Chunk_Size_Before_The_First_Frame()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            var sizes = new[] { 2, 4, 8, 16, 32 };
            Assert.All(sizes, n => Assert.False(model.SliceCosts.BatchSizeMeasured(n)));
            Assert.False(model.SliceCosts.StagesMeasured);
            long before = model.EvaluatedTokenCount;
            model.Calibrate();
            Assert.All(sizes, n => Assert.True(model.SliceCosts.BatchSizeMeasured(n), $"{n} tokens"));
            Assert.True(model.SliceCosts.StagesMeasured);
            // 66 measured (4 one-token steps, then 2 + 4 + 8 + 16 + 32) and 2 x 16 run part by part, after the scheduler
            // warm-up's two sessions of 4 prompt tokens and 2 generated ones evaluated, then 1 and 2 more.
            Assert.Equal(66 + 2 * 16 + 2 * (4 + 2 + 1 + 2), model.EvaluatedTokenCount - before);
        }

        [Fact]
        public void Cancel_Between_Ticks_Ends_The_Request_At_Once_Even_Mid_Step()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            using var scheduler = new FrameScheduler();
            var session = model.CreateSession();
            var request = Request(model, 1);
            request.MaxTokens = 200;
            var handle = scheduler.Submit(session, request);
            // A tiny budget runs a unit or two per tick: stop while the prompt is part-way through the layers.
            scheduler.Tick(0.01);
            scheduler.Tick(0.01);
            Assert.False(handle.IsFinished);
            Assert.True(session.StepInProgress || session.HasWork);
            handle.Cancel();
            // No Tick in between: the game can reuse the session in the same frame (a player walks up to the NPC).
            Assert.True(handle.IsFinished);
            Assert.Equal(GenerationStopReason.Cancelled, handle.Result!.StopReason);
            session.Reset();
            var again = scheduler.Submit(session, Request(model, 0));
            while (!again.IsFinished) scheduler.Tick(4);
            Assert.NotEqual(GenerationStopReason.Failed, again.Result!.StopReason);

            // The same tokens as that request on a fresh session: the cancelled step left nothing behind.
            var fresh = model.CreateSession();
            var reference = Request(model, 0);
            var expected = fresh.Run(new GenerationRequest { Tokens = reference.Tokens, MaxTokens = reference.MaxTokens, Sampling = reference.Sampling });
            Assert.Equal(expected.Tokens, again.Result.Tokens);
        }

        [Fact]
        public void Higher_Priority_Gets_Its_First_Token_First_But_Low_Priority_Still_Progresses()
        {
            using var model = Model.Load(NpcModel, new ModelOptions { Threads = 1 });
            using var scheduler = new FrameScheduler();
            var low = Enumerable.Range(0, 4).Select(i => { var r = Request(model, 1 + i % 2); r.Priority = 0; r.MaxTokens = 200; r.StopAtEndOfGeneration = false; return scheduler.Submit(model.CreateSession(), r); }).ToArray();
            var highRequest = Request(model, 0);
            highRequest.Priority = 20;
            highRequest.MaxTokens = 200;
            highRequest.StopAtEndOfGeneration = false;
            var high = scheduler.Submit(model.CreateSession(), highRequest);
            for (int i = 0; i < 300; i++) scheduler.Tick(4.0);
            Assert.True(high.FirstTokenTick >= 0, $"high: first token tick {high.FirstTokenTick} {high.Result?.Error}, low: {string.Join(",", low.Select(l => $"{l.FirstTokenTick}/{l.SlicesRun}"))}");
            Assert.All(low, l => Assert.True(l.FirstTokenTick < 0 || l.FirstTokenTick >= high.FirstTokenTick));
            Assert.All(low, l => Assert.True(l.SlicesRun > 0, "a low-priority request starved"));
        }
    }
}
