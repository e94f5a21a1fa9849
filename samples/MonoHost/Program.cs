using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading;
using NpcSdk.Generation;
using NpcSdk.Models;
using NpcSdk.Sampling;
using NpcSdk.Scheduling;

namespace NpcSdk.Samples.MonoHost
{
    /// <summary>
    /// The runtime on Mono (Unity's scripting runtime): loads a model, checks its greedy replies against llama.cpp's
    /// reference, measures decode speed, and runs a FrameLoop-style budgeted loop. Exits 1 when a reply differs from
    /// the reference or the loop's p99 tick exceeds the budget by more than 0.5 ms.
    /// </summary>
    internal static class Program
    {
        private const double FrameMs = 1000.0 / 60;
        private const double TickSlackMs = 0.5;
        private const int DecodeSteps = 64;

        private static int Main(string[] args)
        {
            Options o;
            try
            {
                o = Options.Parse(args);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine(e.Message);
                Console.Error.WriteLine(Options.Usage);
                return 2;
            }
            if (o.Help)
            {
                Console.WriteLine(Options.Usage);
                return 0;
            }

            var reference = ReferenceReply.Load(o.Reference);
            using var model = Model.Load(o.Model, new ModelOptions { Threads = o.Threads, Backend = o.Backend });
            var report = new Report
            {
                Runtime = RuntimeInformation.FrameworkDescription,
                Model = Path.GetFileName(o.Model),
                Backend = model.BackendDescription,
                Threads = model.Threads,
            };
            if (!o.Json) Console.WriteLine($"{report.Runtime}; {report.Model}, {report.Backend}, {report.Threads} thread(s)");

            report.GreedyMismatches = CheckGreedy(model, reference, o.Json);
            report.GreedyReplies = reference.Count;
            report.DecodeTokS = MeasureDecode(model, reference[0].PromptIds);
            if (!o.Json) Console.WriteLine($"decode: {report.DecodeTokS:F1} tok/s ({DecodeSteps} single-token steps, mean of 3 runs)");

            RunFrameLoop(model, reference, o, report);
            report.Passed = report.GreedyMismatches == 0 && report.LoopMismatches == 0 && report.TickMs.P99 <= o.BudgetMs + TickSlackMs;
            if (o.Json)
            {
                Console.WriteLine(JsonSerializer.Serialize(report, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower }));
            }
            else
            {
                Console.WriteLine($"frame loop: {report.Frames} frames after {o.WarmupFrames} warm-up, budget {o.BudgetMs} ms (safety {report.SafetyFactor}): tick p50 {report.TickMs.P50:F2}  p99 {report.TickMs.P99:F2}  max {report.TickMs.Max:F2} ms "
                    + $"(p99 limit {o.BudgetMs + TickSlackMs} ms); {report.LoopReplies} replies, {report.LoopMismatches} differing from the reference, {report.LoopTokS:F1} tok/s, {report.LoopCollections} GCs");
                Console.WriteLine(report.Passed ? "PASS" : "FAIL");
            }
            return report.Passed ? 0 : 1;
        }

        /// <summary>Tokenizes and generates every reference prompt greedily; returns how many differ from the reference.</summary>
        private static int CheckGreedy(Model model, IReadOnlyList<ReferenceReply> reference, bool quiet)
        {
            int mismatches = 0;
            for (int i = 0; i < reference.Count; i++)
            {
                var r = reference[i];
                int[] promptIds = model.Tokenizer.Encode(r.Prompt, addSpecial: true, parseSpecial: true);
                using var session = model.CreateSession(ReferenceSession());
                var ids = session.Generate(promptIds, r.Tokens.Length, new SamplerChain(SamplingOptions.Greedy)).ToArray();
                bool promptOk = promptIds.SequenceEqual(r.PromptIds), replyOk = ids.SequenceEqual(r.Tokens);
                if (!promptOk || !replyOk) mismatches++;
                if (!quiet || !promptOk || !replyOk)
                {
                    Console.Error.WriteLine($"greedy {i}: prompt {promptIds.Length} tokens {(promptOk ? "=" : "!=")} reference, reply {ids.Length} tokens {(replyOk ? "=" : "!=")} reference");
                    if (!replyOk) Console.Error.WriteLine($"  got      {string.Join(" ", ids)}\n  expected {string.Join(" ", r.Tokens)}");
                }
            }
            return mismatches;
        }

        /// <summary>Decode tokens/s: <see cref="DecodeSteps"/> single-token evaluations from an empty context, as npcsdk bench's tg.</summary>
        private static double MeasureDecode(Model model, int[] tokens)
        {
            double Run()
            {
                using var s = model.CreateSession(new SessionOptions { ContextLength = DecodeSteps, BatchSize = 1 });
                var one = new int[1];
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < DecodeSteps; i++)
                {
                    one[0] = tokens[i % tokens.Length];
                    s.Evaluate(one);
                }
                return DecodeSteps / sw.Elapsed.TotalSeconds;
            }

            Run(); // warm-up: JIT and caches
            return (Run() + Run() + Run()) / 3;
        }

        /// <summary>
        /// One NPC per reference prompt, greedy, the first at the player's priority; each frame one scheduler Tick with
        /// the budget, then a wait for the frame's end. A finished reply is checked against the reference and asked again.
        /// Ticks are timed after the warm-up frames, in which the JIT compiles the scheduler's paths and its cost model
        /// learns this machine (a game would run them behind its loading screen).
        /// </summary>
        private static void RunFrameLoop(Model model, IReadOnlyList<ReferenceReply> reference, Options o, Report report)
        {
            var options = new SchedulerOptions();
            if (o.SafetyFactor > 0) options.SafetyFactor = o.SafetyFactor;
            using var scheduler = new FrameScheduler(options);
            var sessions = reference.Select(_ => model.CreateSession(ReferenceSession())).ToArray();
            var handles = new GenerationHandle[sessions.Length];
            void Submit(int i)
            {
                sessions[i].Reset();
                handles[i] = scheduler.Submit(sessions[i], new GenerationRequest
                {
                    Tokens = reference[i].PromptIds,
                    MaxTokens = reference[i].Tokens.Length,
                    Sampling = SamplingOptions.Greedy,
                    Priority = i == 0 ? 10 : 0,
                });
            }

            for (int i = 0; i < sessions.Length; i++) Submit(i);
            var ticks = new List<double>(o.Frames);
            long tokens = 0;
            var clock = new Stopwatch();
            int collections = 0;
            for (int frame = -o.WarmupFrames; frame < o.Frames; frame++)
            {
                if (frame == 0)
                {
                    clock.Start();
                    collections = GC.CollectionCount(0);
                }
                long frameStart = Stopwatch.GetTimestamp();
                int generated = scheduler.Tick(o.BudgetMs).TokensGenerated;
                if (frame >= 0)
                {
                    ticks.Add(Ms(frameStart));
                    tokens += generated;
                }

                for (int i = 0; i < sessions.Length; i++)
                {
                    if (!handles[i].IsFinished) continue;
                    report.LoopReplies++; // warm-up replies are checked too
                    if (!handles[i].Result!.Tokens.SequenceEqual(reference[i].Tokens)) report.LoopMismatches++;
                    Submit(i);
                }
                while (Ms(frameStart) < FrameMs) Thread.Sleep(1);
            }
            report.LoopTokS = tokens / clock.Elapsed.TotalSeconds;
            report.LoopCollections = GC.CollectionCount(0) - collections;
            foreach (var s in sessions) s.Dispose();
            report.Frames = ticks.Count;
            report.WarmupFrames = o.WarmupFrames;
            report.BudgetMs = o.BudgetMs;
            report.SafetyFactor = options.SafetyFactor;
            report.TickMs = Stats.Of(ticks);
        }

        /// <summary>The reference's llama.cpp settings: f32 KV cache, 512-token context.</summary>
        private static SessionOptions ReferenceSession() => new SessionOptions { KvCacheType = KvCacheType.F32, ContextLength = 512 };

        private static double Ms(long since) => (Stopwatch.GetTimestamp() - since) * 1000.0 / Stopwatch.Frequency;
    }

    /// <summary>One greedy reply of llama.cpp's reference file: its prompt, the prompt's tokens and the reply's tokens.</summary>
    internal sealed class ReferenceReply
    {
        public string Prompt = "";
        public int[] PromptIds = Array.Empty<int>();
        public int[] Tokens = Array.Empty<int>();

        public static List<ReferenceReply> Load(string path)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            return doc.RootElement.GetProperty("greedy").EnumerateArray().Select(g => new ReferenceReply
            {
                Prompt = g.GetProperty("prompt").GetString()!,
                PromptIds = g.GetProperty("prompt_token_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                Tokens = g.GetProperty("generated_token_ids").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
            }).ToList();
        }
    }

    internal sealed class Stats
    {
        public double P50 { get; set; }
        public double P99 { get; set; }
        public double Max { get; set; }

        public static Stats Of(List<double> values)
        {
            var sorted = values.OrderBy(v => v).ToList();
            double Pct(double p) => sorted[Math.Max(0, Math.Min(sorted.Count - 1, (int)Math.Ceiling(p / 100 * sorted.Count) - 1))];
            return new Stats { P50 = Pct(50), P99 = Pct(99), Max = sorted[sorted.Count - 1] };
        }
    }

    internal sealed class Report
    {
        public string Runtime { get; set; } = "";
        public string Model { get; set; } = "";
        public string Backend { get; set; } = "";
        public int Threads { get; set; }
        public int GreedyReplies { get; set; }
        public int GreedyMismatches { get; set; }
        public double DecodeTokS { get; set; }
        public double BudgetMs { get; set; }
        public double SafetyFactor { get; set; }
        public int Frames { get; set; }
        public int WarmupFrames { get; set; }
        public Stats TickMs { get; set; } = new Stats();
        public int LoopReplies { get; set; }
        public int LoopMismatches { get; set; }
        public double LoopTokS { get; set; }
        public int LoopCollections { get; set; }
        public bool Passed { get; set; }
    }

    internal sealed class Options
    {
        public const string Usage = "mono MonoHost.dll --model PATH --reference logits_MODEL.json [--backend native|managed|auto] [--budget-ms 4] [--safety F] [--frames 300] [--warmup-frames 60] [--threads 1] [--json]";

        public string Model = Path.Combine("models", "npc-q8_0.gguf");
        public string Reference = Path.Combine("tests", "data", "reference", "logits_npc-q8_0.json");
        public KernelBackend Backend = KernelBackend.Native;
        public double BudgetMs = 4;
        public double SafetyFactor; // 0: the scheduler's default
        public int Frames = 300;
        public int WarmupFrames = 60;
        public int Threads = 1;
        public bool Json;
        public bool Help;

        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                double Num()
                {
                    string s = Next();
                    return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0 ? v : throw new ArgumentException($"{args[i - 1]} needs a positive number, not '{s}'");
                }
                int Count()
                {
                    string s = Next();
                    return int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : throw new ArgumentException($"{args[i - 1]} needs a count, not '{s}'");
                }
                switch (args[i])
                {
                    case "--model": o.Model = Next(); break;
                    case "--reference": o.Reference = Next(); break;
                    case "--backend":
                        string b = Next();
                        o.Backend = b == "native" ? KernelBackend.Native : b == "managed" ? KernelBackend.Managed : b == "auto" ? KernelBackend.Auto
                            : throw new ArgumentException($"--backend must be native, managed or auto, not '{b}'");
                        break;
                    case "--budget-ms": o.BudgetMs = Num(); break;
                    case "--safety": o.SafetyFactor = Num(); break;
                    case "--frames": o.Frames = Math.Max(1, Count()); break;
                    case "--warmup-frames": o.WarmupFrames = Count(); break;
                    case "--threads": o.Threads = Math.Max(1, Count()); break;
                    case "--json": o.Json = true; break;
                    case "-h":
                    case "--help": o.Help = true; break;
                    default: throw new ArgumentException($"unknown option {args[i]}");
                }
            }
            return o;
        }
    }
}
