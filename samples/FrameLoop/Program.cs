using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Threading;
using NpcSdk.Generation;
using NpcSdk.Models;
using NpcSdk.Sampling;
using NpcSdk.Scheduling;

namespace NpcSdk.Samples.FrameLoop
{
    /// <summary>
    /// A simulated 60 FPS game: every frame does fixed fake game work, then gives the NPC scheduler its budget.
    /// The player visits the NPCs in turn: says a few lines to one (high priority; the first line of a visit opens a new
    /// conversation on the NPC's cached persona prefix), reads each reply for a second, then walks to the next. The
    /// others chat ambiently meanwhile. Prints frame and scheduler statistics.
    /// </summary>
    internal static class Program
    {
        private static readonly (string Name, string Role, string Personality)[] Cast =
        {
            ("Brom Ironhand", "blacksmith", "gruff, speaks in short, blunt sentences"),
            ("Mira", "innkeeper", "cheerful and warm"),
            ("Captain Hale", "guard", "stern and suspicious"),
            ("Tilda", "baker", "kind and gentle"),
            ("Orrin", "wizard", "mysterious and cryptic"),
            ("Pip", "bard", "boisterous and loud"),
            ("Greta", "farmer", "nervous and timid"),
            ("Silas", "merchant", "greedy and money-minded"),
        };

        private static readonly string[] PlayerLines =
        {
            "Good evening! What do you have for sale?",
            "I'll buy the iron sword.",
            "Have you heard anything about the wolves?",
            "Can you tell me the way to the north gate?",
            "What's the news in town today?",
        };

        private const int PlayerPriority = 10;

        private static readonly string[] AmbientLines =
        {
            "Lovely weather today, isn't it?",
            "Did you hear about the wolves near the farms?",
            "How is business this week?",
            "Have you seen the mayor lately?",
        };

        private static int Main(string[] args)
        {
            var o = Options.Parse(args);
            if (o == null) return 2;
            if (o.Synthetic == null) return Run(o, o.Model);
            // A random-weight model of a known shape (e.g. one whose decode step is longer than the budget), deleted afterwards.
            string path = Path.Combine(Path.GetTempPath(), $"frameloop-{o.Synthetic}-{o.Type}-{Environment.ProcessId}.gguf");
            SyntheticModel.Write(path, SyntheticShape.Find(o.Synthetic), o.Type);
            try
            {
                return Run(o, path);
            }
            finally
            {
                File.Delete(path);
            }
        }

        // Compiled optimized up front: as a tiered method, its frame loop was recompiled on the fly (OSR) during
        // frame 1, a 38 ms frame that was the sample's own, not the SDK's.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static int Run(Options o, string modelPath)
        {
            using var model = Model.Load(modelPath, new ModelOptions { Threads = o.Threads });
            double standalone = MeasureStandaloneDecode(model, o.KvType);
            var tok = model.Tokenizer;

            // One persona prefix per NPC, prefilled once before the game starts (as a game would at level load). It
            // ends with the header of the first user turn, fixed text that every conversation starts with.
            var personas = Enumerable.Range(0, o.Npcs).Select(i => tok.Encode(Persona(i) + UserHeader, addSpecial: true, parseSpecial: true)).ToArray();
            foreach (var p in personas) model.CreatePrefix(p, o.KvType);
            model.Calibrate();
            var sessions = personas.Select(p => model.CreateSession(new SessionOptions { BatchSize = 32, KvCacheType = o.KvType })).ToArray();
            // The KV memory every NPC can grow to, allocated now, and a collection to end the "level load": play then
            // allocates no cache memory, and no collection of it lands in a frame.
            model.ReserveKvCache(sessions.Sum(s => s.ContextLength), o.KvType);
            GC.Collect();

            using var scheduler = new FrameScheduler(new SchedulerOptions
            {
                Mode = o.Worker ? SchedulerMode.Worker : SchedulerMode.MainThread,
                WorkerCpuShare = Math.Min(1.0, o.BudgetMs / (1000.0 / o.Fps)),
                // Ambient NPCs never outrank the one the player talks to; they run while the player reads a reply.
                MaxAgingBonus = PlayerPriority - 1,
            });
            var rng = new Random(1);
            var handles = new GenerationHandle?[o.Npcs];
            var tokens = new long[o.Npcs];
            var openingFrames = new List<int>();
            var followUpFrames = new List<int>();
            int frame = 0;
            int[] submitFrame = new int[o.Npcs];
            bool[] awaitingFirst = new bool[o.Npcs];
            bool[] headerOpen = new bool[o.Npcs]; // the session ends with an evaluated user-turn header
            int nextPlayerLine = 0;
            long promptTokens = 0; // evaluated for requests, beyond cached prefixes

            // The player: talking to NPC talkTo, line linesThisVisit of the visit, in one of four states.
            var state = PlayerState.Speaking;
            int talkTo = 0, linesThisVisit = 0, saidFrame = 0, readUntil = 0;
            bool opening = true;

            void Submit(int i, bool player)
            {
                string line = player ? PlayerLines[nextPlayerLine++ % PlayerLines.Length] : AmbientLines[rng.Next(AmbientLines.Length)];
                var s = sessions[i];
                var turn = new List<int>();
                if (s.Position == 0) turn.AddRange(personas[i]);
                else if (!headerOpen[i]) turn.AddRange(NextUserHeader(i));
                headerOpen[i] = false;
                turn.AddRange(tok.Encode(line, addSpecial: false, parseSpecial: false));
                turn.AddRange(tok.Encode("<|im_end|>\n<|im_start|>assistant\n", addSpecial: false, parseSpecial: true));
                promptTokens += turn.Count - (s.Position == 0 ? personas[i].Length : 0);
                var h = scheduler.Submit(s, new GenerationRequest
                {
                    Tokens = turn,
                    MaxTokens = 48,
                    Priority = player ? PlayerPriority : 0,
                    Sampling = new SamplingOptions { Temperature = 0.7f, Seed = (ulong)(i * 1000 + frame) },
                });
                int npc = i;
                var ttft = player ? (opening ? openingFrames : followUpFrames) : null;
                h.TokenGenerated += (_, t) =>
                {
                    tokens[npc]++;
                    if (awaitingFirst[npc])
                    {
                        awaitingFirst[npc] = false;
                        // Counted from the frame the player spoke (the line's own frame is 1).
                        ttft?.Add(frame - saidFrame + 1);
                    }
                };
                handles[i] = h;
                submitFrame[i] = frame;
                awaitingFirst[i] = true;
            }

            // Closes the last reply and opens the next user turn.
            List<int> NextUserHeader(int i)
            {
                var header = new List<int>();
                // A reply that ended with <|im_end|> stopped before evaluating it.
                if (handles[i]?.Result?.StopReason == GenerationStopReason.EndOfGeneration) header.Add(handles[i]!.Result!.Tokens[^1]);
                header.AddRange(tok.Encode("\n" + UserHeader, addSpecial: false, parseSpecial: true));
                return header;
            }

            // While the player reads a reply, the fixed start of their next turn is evaluated (a prompt-only request),
            // so that only their own words are left when they speak.
            void PreRoll(int i)
            {
                var header = NextUserHeader(i);
                promptTokens += header.Count;
                var h = scheduler.Submit(sessions[i], new GenerationRequest { Tokens = header, MaxTokens = 0, Priority = PlayerPriority });
                h.Finished += (_, r) => headerOpen[i] = r.StopReason == GenerationStopReason.MaxTokens;
                handles[i] = h;
            }

            void Player()
            {
                switch (state)
                {
                    case PlayerState.Reading:
                        if (frame < readUntil) return;
                        state = PlayerState.Speaking;
                        goto case PlayerState.Speaking;
                    case PlayerState.Speaking:
                        if (linesThisVisit == o.LinesPerVisit)
                        {
                            // Walk to the next NPC: it stops chatting and starts a new conversation with the player.
                            talkTo = (talkTo + 1) % o.Npcs;
                            linesThisVisit = 0;
                            opening = true;
                            handles[talkTo]?.Cancel();
                        }
                        saidFrame = frame;
                        state = PlayerState.Waiting;
                        goto case PlayerState.Waiting;
                    case PlayerState.Waiting:
                        // A cancelled ambient request ends at the scheduler's next slice boundary.
                        if (handles[talkTo] != null && !handles[talkTo]!.IsFinished) return;
                        if (opening) sessions[talkTo].Reset(); // the persona prefix stays cached in the model
                        Submit(talkTo, player: true);
                        linesThisVisit++;
                        state = PlayerState.Answering;
                        return;
                    case PlayerState.Answering:
                        if (!handles[talkTo]!.IsFinished) return;
                        opening = false;
                        PreRoll(talkTo);
                        readUntil = frame + o.Fps; // the player reads the answer for a second
                        state = PlayerState.Reading;
                        return;
                }
            }

            var frameMs = new List<double>();
            var tickMs = new List<double>();
            double frameBudget = 1000.0 / o.Fps;
            var clock = Stopwatch.StartNew();
            int gc0 = GC.CollectionCount(0), gc2 = GC.CollectionCount(2);
            long lastReport = 0;
            long[] lastTokens = new long[o.Npcs];
            if (!o.Json) Console.WriteLine($"FrameLoop: {o.Npcs} NPCs on {(o.Synthetic != null ? $"synthetic {o.Synthetic} {o.Type}" : Path.GetFileName(modelPath))}, {o.Fps} FPS, budget {o.BudgetMs} ms, game work {o.GameMs} ms, {o.Threads} threads, {(o.Worker ? "worker" : "main-thread")} mode; standalone decode {standalone:F0} tok/s");
            while (clock.Elapsed.TotalSeconds < o.Seconds)
            {
                long frameStart = Stopwatch.GetTimestamp();
                // The game: fixed fake work.
                SpinFor(o.GameMs);
                Player();
                for (int i = 0; i < o.Npcs; i++)
                {
                    if (i == talkTo || (handles[i] != null && !handles[i]!.IsFinished)) continue;
                    Submit(i, player: false);
                }
                long tickStart = Stopwatch.GetTimestamp();
                if (o.Worker) scheduler.DispatchEvents();
                else scheduler.Tick(o.BudgetMs);
                tickMs.Add(Ms(tickStart));
                // Wait for the frame's end (vsync).
                while (Ms(frameStart) < frameBudget) { if (frameBudget - Ms(frameStart) > 1.5) Thread.Sleep(1); }
                frameMs.Add(Ms(frameStart));
                frame++;
                if (!o.Json && clock.ElapsedMilliseconds - lastReport >= 1000)
                {
                    lastReport = clock.ElapsedMilliseconds;
                    var recent = tickMs.Skip(Math.Max(0, tickMs.Count - o.Fps)).ToList();
                    long total = tokens.Sum() - lastTokens.Sum();
                    Array.Copy(tokens, lastTokens, o.Npcs);
                    Console.WriteLine($"t={clock.Elapsed.TotalSeconds,5:F1}s  frame p99 {Pct(frameMs.Skip(Math.Max(0, frameMs.Count - o.Fps)).ToList(), 99),6:F2} ms  tick p50 {Pct(recent, 50),5:F2} p99 {Pct(recent, 99),5:F2} max {recent.Max(),5:F2} ms  {total,4} tok/s");
                }
            }
            double seconds = clock.Elapsed.TotalSeconds;
            foreach (var h in handles) h?.Cancel();

            var summary = new Summary
            {
                Model = o.Synthetic != null ? $"synthetic {o.Synthetic} {o.Type}" : Path.GetFileName(o.Model),
                Npcs = o.Npcs,
                BudgetMs = o.BudgetMs,
                GameMs = o.GameMs,
                Frames = frameMs.Count,
                FrameMs = Stats.Of(frameMs),
                TickMs = Stats.Of(tickMs),
                TicksOverBudgetPct = 100.0 * tickMs.Count(t => t > o.BudgetMs) / tickMs.Count,
                BudgetUsedPct = 100.0 * tickMs.Sum() / (tickMs.Count * o.BudgetMs),
                TokensPerS = tokens.Sum() / seconds,
                PromptTokensPerS = promptTokens / seconds,
                TokensPerSPerNpc = tokens.Select(t => t / seconds).ToArray(),
                TtftFramesPlayer = FrameStats(openingFrames.Concat(followUpFrames)),
                TtftFramesPlayerOpening = FrameStats(openingFrames),
                TtftFramesPlayerFollowUp = FrameStats(followUpFrames),
                StandaloneDecodeTokS = standalone,
                GcCollections = GC.CollectionCount(0) - gc0,
                GcGen2Collections = GC.CollectionCount(2) - gc2,
                Mode = o.Worker ? "worker" : "main",
                Threads = o.Threads,
            };
            summary.TargetTokensPerS = 0.8 * standalone * o.BudgetMs / frameBudget;
            if (o.Plot != null) Plot.Write(o.Plot, frameMs, tickMs, o.BudgetMs, frameBudget);
            if (o.Json)
            {
                Console.WriteLine(JsonSerializer.Serialize(summary, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            }
            else
            {
                Console.WriteLine();
                Console.WriteLine($"garbage collections during the run: {summary.GcCollections} ({summary.GcGen2Collections} full)");
                Console.WriteLine($"frames: {summary.Frames}   frame ms  p50 {summary.FrameMs.P50:F2}  p95 {summary.FrameMs.P95:F2}  p99 {summary.FrameMs.P99:F2}  max {summary.FrameMs.Max:F2}");
                Console.WriteLine($"scheduler Tick ms  p50 {summary.TickMs.P50:F2}  p99 {summary.TickMs.P99:F2}  max {summary.TickMs.Max:F2}  (budget {o.BudgetMs} ms; p99 over by {Math.Max(0, summary.TickMs.P99 - o.BudgetMs):F2} ms, max over by {Math.Max(0, summary.TickMs.Max - o.BudgetMs):F2} ms; {summary.BudgetUsedPct:F1} % of the budget used)");
                Console.WriteLine($"prompt tokens evaluated: {summary.PromptTokensPerS:F1}/s (new turns, beyond the cached persona prefixes)");
                Console.WriteLine($"tokens/s total {summary.TokensPerS:F1} (target >= {summary.TargetTokensPerS:F1} = 0.8 x {standalone:F0} x {o.BudgetMs}/{frameBudget:F1});  per NPC: {string.Join(" ", summary.TokensPerSPerNpc.Select(t => t.ToString("F1", CultureInfo.InvariantCulture)))}");
                void Ttft(string what, Stats? st, int count)
                {
                    if (st != null) Console.WriteLine($"player time to first token, {what}: p50 {st.P50:F0} frames, p95 {st.P95:F0}, max {st.Max:F0} ({count} replies)");
                }
                Ttft("opening a conversation (cached persona prefix)", summary.TtftFramesPlayerOpening, openingFrames.Count);
                Ttft("later lines", summary.TtftFramesPlayerFollowUp, followUpFrames.Count);
                if (o.Plot != null) Console.WriteLine($"frame-time chart: {o.Plot}");
            }
            return 0;
        }

        private static Stats? FrameStats(IEnumerable<int> frames)
        {
            var v = frames.Select(f => (double)f).ToList();
            return v.Count > 0 ? Stats.Of(v) : null;
        }

        private enum PlayerState { Reading, Speaking, Waiting, Answering }

        private const string UserHeader = "<|im_start|>user\n";

        private static string Persona(int i)
        {
            var (name, role, personality) = Cast[i % Cast.Length];
            return $"<|im_start|>system\nYou are {name}, the {role} of Oakvale.\nPersonality: {personality}.\nLocation: Oakvale.\nPlayer gold: 35\n"
                + "Inventory:\n- iron sword: 12 gold\n- ale: 2 gold\nMemories: none\nTools:\n- sell_item(item, price): sell an item from your inventory to the player\n- remember(fact): remember a fact about the player<|im_end|>\n";
        }

        /// <summary>
        /// Decode tokens/s of one session running flat out (sampling included, after a persona and a question): the
        /// reference for the throughput target. Median of 5 runs of 64 tokens, after a second of warm-up so that the
        /// JIT has settled on optimized code.
        /// </summary>
        private static double MeasureStandaloneDecode(Model model, KvCacheType kvType)
        {
            var prompt = model.Tokenizer.Encode(Persona(0) + "<|im_start|>user\nTell me a long story about the wolves.<|im_end|>\n<|im_start|>assistant\n", true, true);
            double Once()
            {
                using var s = model.CreateSession(new SessionOptions { KvCacheType = kvType });
                s.Evaluate(prompt);
                var sampler = new SamplerChain(new SamplingOptions { Temperature = 0.7f, Seed = 3 });
                var sw = Stopwatch.StartNew();
                var r = s.Run(new GenerationRequest { Tokens = Array.Empty<int>(), MaxTokens = 64, Sampler = sampler, StopAtEndOfGeneration = false });
                return r.Tokens.Count / sw.Elapsed.TotalSeconds;
            }
            var warm = Stopwatch.StartNew();
            while (warm.ElapsedMilliseconds < 1000) Once();
            var runs = Enumerable.Range(0, 5).Select(_ => Once()).OrderBy(x => x).ToList();
            return runs[2];
        }

        private static void SpinFor(double ms)
        {
            long end = Stopwatch.GetTimestamp() + (long)(ms * Stopwatch.Frequency / 1000);
            while (Stopwatch.GetTimestamp() < end) Thread.SpinWait(20);
        }

        private static double Ms(long since) => (Stopwatch.GetTimestamp() - since) * 1000.0 / Stopwatch.Frequency;

        internal static double Pct(List<double> values, double p)
        {
            if (values.Count == 0) return 0;
            var sorted = values.OrderBy(v => v).ToList();
            int idx = (int)Math.Ceiling(p / 100 * sorted.Count) - 1;
            return sorted[Math.Clamp(idx, 0, sorted.Count - 1)];
        }
    }

    internal sealed class Stats
    {
        public double P50 { get; set; }
        public double P95 { get; set; }
        public double P99 { get; set; }
        public double Max { get; set; }

        public static Stats Of(List<double> v) => new Stats { P50 = Program.Pct(v, 50), P95 = Program.Pct(v, 95), P99 = Program.Pct(v, 99), Max = v.Count > 0 ? v.Max() : 0 };
    }

    internal sealed class Summary
    {
        public string Model { get; set; } = "";
        public int Npcs { get; set; }
        public string Mode { get; set; } = "";
        public int Threads { get; set; }
        public double BudgetMs { get; set; }
        public double GameMs { get; set; }
        public int Frames { get; set; }
        public Stats TickMs { get; set; } = new Stats();
        public Stats FrameMs { get; set; } = new Stats();
        public double TicksOverBudgetPct { get; set; }
        public double BudgetUsedPct { get; set; }
        public double TokensPerS { get; set; }
        public double PromptTokensPerS { get; set; }
        public double[] TokensPerSPerNpc { get; set; } = Array.Empty<double>();
        public double TargetTokensPerS { get; set; }
        public Stats? TtftFramesPlayer { get; set; }
        public Stats? TtftFramesPlayerOpening { get; set; }
        public Stats? TtftFramesPlayerFollowUp { get; set; }
        public double StandaloneDecodeTokS { get; set; }
        public int GcCollections { get; set; }
        public int GcGen2Collections { get; set; }
    }

    internal sealed class Options
    {
        public int Npcs = 8;
        public double BudgetMs = 4;
        public double GameMs = 8;
        public double Seconds = 60;
        public int Fps = 60;
        public int LinesPerVisit = 3;
        public string Model = Path.Combine("models", "npc-q8_0.gguf");
        public string? Synthetic;
        public string Type = "Q8_0";
        public KvCacheType KvType = KvCacheType.F16;
        public int Threads = Math.Max(1, Environment.ProcessorCount - 1);
        public bool Worker;
        public bool Json;
        public string? Plot;

        public static Options? Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                double Num() => double.Parse(Next(), CultureInfo.InvariantCulture);
                switch (args[i])
                {
                    case "--npcs": o.Npcs = (int)Num(); break;
                    case "--budget-ms": o.BudgetMs = Num(); break;
                    case "--game-ms": o.GameMs = Num(); break;
                    case "--seconds": o.Seconds = Num(); break;
                    case "--fps": o.Fps = (int)Num(); break;
                    case "--lines-per-visit": o.LinesPerVisit = Math.Max(1, (int)Num()); break;
                    case "--model": o.Model = Next(); break;
                    case "--synthetic": o.Synthetic = Next(); break;
                    case "--type": o.Type = Next(); break;
                    case "--threads": o.Threads = (int)Num(); break;
                    case "--kv": o.KvType = Enum.Parse<KvCacheType>(Next(), ignoreCase: true); break;
                    case "--mode": o.Worker = Next() switch { "worker" => true, "main" => false, var m => throw new ArgumentException($"--mode must be main or worker, not {m}") }; break;
                    case "--json": o.Json = true; break;
                    case "--plot": o.Plot = Next(); break;
                    case "-h":
                    case "--help":
                        Console.WriteLine("FrameLoop [--npcs 8] [--budget-ms 4] [--game-ms 8] [--seconds 60] [--fps 60] [--lines-per-visit 3] [--model PATH | --synthetic SHAPE [--type Q8_0]] [--threads T] [--kv f16|q8_0|f32] [--mode main|worker] [--json] [--plot frames.svg]");
                        return null;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            return o;
        }
    }

    /// <summary>Writes an SVG chart of frame times and scheduler tick times.</summary>
    internal static class Plot
    {
        public static void Write(string path, List<double> frames, List<double> ticks, double budgetMs, double frameBudgetMs)
        {
            const int W = 1200, H = 400, Pad = 40;
            double maxY = Math.Max(frameBudgetMs * 1.5, Math.Max(frames.DefaultIfEmpty(0).Max(), ticks.DefaultIfEmpty(0).Max()) * 1.1);
            string X(int i, int n) => (Pad + (double)i / Math.Max(1, n - 1) * (W - 2 * Pad)).ToString("F1", CultureInfo.InvariantCulture);
            string Y(double v) => (H - Pad - v / maxY * (H - 2 * Pad)).ToString("F1", CultureInfo.InvariantCulture);
            string Line(List<double> v) => string.Join(" ", v.Select((y, i) => $"{X(i, v.Count)},{Y(y)}"));
            var sb = new StringBuilder();
            sb.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">");
            sb.AppendLine($"<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>");
            sb.AppendLine($"<line x1=\"{Pad}\" y1=\"{Y(frameBudgetMs)}\" x2=\"{W - Pad}\" y2=\"{Y(frameBudgetMs)}\" stroke=\"#999\" stroke-dasharray=\"4\"/><text x=\"{W - Pad - 150}\" y=\"{Y(frameBudgetMs)}\" dy=\"-4\">frame budget {frameBudgetMs:F1} ms</text>");
            sb.AppendLine($"<line x1=\"{Pad}\" y1=\"{Y(budgetMs)}\" x2=\"{W - Pad}\" y2=\"{Y(budgetMs)}\" stroke=\"#c60\" stroke-dasharray=\"4\"/><text x=\"{W - Pad - 150}\" y=\"{Y(budgetMs)}\" dy=\"-4\">NPC budget {budgetMs} ms</text>");
            sb.AppendLine($"<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1\" points=\"{Line(frames)}\"/>");
            sb.AppendLine($"<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1\" points=\"{Line(ticks)}\"/>");
            sb.AppendLine($"<text x=\"{Pad}\" y=\"20\">frame time (blue) and scheduler Tick time (red), ms; {frames.Count} frames</text>");
            for (double v = 0; v <= maxY; v += 5) sb.AppendLine($"<text x=\"4\" y=\"{Y(v)}\">{v:F0}</text>");
            sb.AppendLine("</svg>");
            File.WriteAllText(path, sb.ToString());
        }
    }
}
