using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.IO;
using System.Linq;
using NpcSdk.Generation;
using NpcSdk.Models;
using Spectre.Console;

namespace NpcSdk.Cli.Commands
{
    /// <summary>
    /// <c>npcsdk bench</c>: prompt processing and decode speed like llama-bench (pp = one batch of P prompt tokens,
    /// tg = N single-token steps from an empty context, mean ± sd over R runs after a warm-up), plus decode as a
    /// fraction of this machine's read-bandwidth ceiling (through 2 MiB pages when the model's weights are on them),
    /// measured right after each decode run and paired with it.
    /// <c>--synthetic SHAPE --type MIX</c> benches a random-weight
    /// model of a known shape: the device probe a game runs to choose a model.
    /// </summary>
    internal static class BenchCommand
    {
        public static Command Create()
        {
            var model = new Option<string?>("--model", "-m") { Description = "GGUF model to bench" };
            var synthetic = new Option<string?>("--synthetic") { Description = "Bench a random-weight model of this shape: " + string.Join(", ", SyntheticShape.Known.Select(s => s.Name)) };
            var type = new Option<string>("--type") { Description = "Type mix of the synthetic model: " + string.Join(", ", SyntheticModel.Mixes), DefaultValueFactory = _ => "Q8_0" };
            var threads = new Option<string>("--threads", "-t") { Description = "Thread counts, comma-separated", DefaultValueFactory = _ => "1,2" };
            var pp = new Option<int>("--n-prompt", "-p") { Description = "Prompt tokens (0 = skip)", DefaultValueFactory = _ => 128 };
            var tg = new Option<int>("--n-gen", "-n") { Description = "Generated tokens (0 = skip)", DefaultValueFactory = _ => 64 };
            var reps = new Option<int>("--repetitions", "-r") { Description = "Runs per test", DefaultValueFactory = _ => 3 };
            var backend = new Option<string>("--backend") { Description = "Kernels, comma-separated: managed, native, auto", DefaultValueFactory = _ => "managed" };
            var keep = new Option<string?>("--keep") { Description = "Write the synthetic model to this path and keep it (default: a temp file, deleted)" };
            var json = CliOptions.Json();
            var cmd = new Command("bench", "Measure prefill and decode speed") { model, synthetic, type, keep, threads, pp, tg, reps, backend, json };
            cmd.SetAction(r => CliOptions.Guard(() => Run(r.GetValue(model), r.GetValue(synthetic), r.GetValue(type)!, r.GetValue(keep), r.GetValue(threads)!,
                r.GetValue(pp), r.GetValue(tg), Math.Max(1, r.GetValue(reps)), r.GetValue(backend)!, r.GetValue(json))));
            return cmd;
        }

        private sealed class Row
        {
            public string Model = "", Type = "", Backend = "";
            public int Threads;
            public double PpMean, PpSd, TgMean, TgSd, CeilingFraction, CeilingGBps;
            public bool HugePages;
        }

        private static int Run(string? modelPath, string? synthetic, string mix, string? keep, string threadList, int pp, int tg, int reps, string backend, bool json)
        {
            if ((modelPath == null) == (synthetic == null)) throw new ArgumentException("give either --model PATH or --synthetic SHAPE");
            if (keep != null && synthetic == null) throw new ArgumentException("--keep needs --synthetic");
            int[] threadCounts = threadList.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s.Trim(), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            if (threadCounts.Length == 0 || threadCounts.Any(t => t < 1)) throw new ArgumentException("--threads needs counts of at least 1");
            string? temp = null;
            try
            {
                string label;
                if (synthetic != null)
                {
                    var shape = SyntheticShape.Find(synthetic);
                    modelPath = keep ?? Path.Combine(Path.GetTempPath(), $"npcsdk-synthetic-{shape.Name}-{mix}-{Environment.ProcessId}.gguf");
                    if (keep == null) temp = modelPath;
                    if (!json) Console.Error.WriteLine($"writing a random-weight {shape.Name} {mix} model to {modelPath} ...");
                    SyntheticModel.Write(modelPath, shape, mix);
                    label = shape.Name;
                }
                else
                {
                    label = Path.GetFileNameWithoutExtension(modelPath!);
                }
                using var smallPages = new MemoryBandwidth(hugePages: false);
                var bandwidth = threadCounts.Distinct().ToDictionary(t => t, t => smallPages.MeasureGBps(t));
                // Weights on 2 MiB pages are held to the ceiling of reads through 2 MiB pages.
                using var hugePages = NpcSdk.Native.WeightArena.HugePagesAvailable ? new MemoryBandwidth(hugePages: true) : null;
                var hugeBandwidth = hugePages != null ? threadCounts.Distinct().ToDictionary(t => t, t => hugePages.MeasureGBps(t)) : null;
                var rows = new List<Row>();
                var backends = backend.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(b => CliOptions.ParseBackend(b.Trim())).ToArray();
                foreach (var kb in backends)
                foreach (int t in threadCounts)
                {
                    using var m = Model.Load(modelPath!, new ModelOptions { Threads = t, Backend = kb });
                    string typeName = synthetic != null ? mix : DominantType(m);
                    long bytesPerToken = WeightBytesPerToken(m);
                    var (ppMean, ppSd) = pp > 0 ? Measure(reps, () => Prefill(m, pp)) : (0, 0);
                    // Each decode run is paired with a ceiling measured right after it, on the same threads and pages: a VM's
                    // bandwidth can change between the start of a bench and a row minutes later (here two vCPUs read
                    // 33-37 or 59-64 GB/s, depending on whether they share a core at the moment).
                    var meter = m.WeightsOnHugePages ? hugePages! : smallPages;
                    var ceilings = new List<double>();
                    var fractions = new List<double>();
                    var (tgMean, tgSd) = tg > 0 ? Measure(reps, () => Decode(m, tg), tokS =>
                    {
                        double gbps = meter.MeasureGBps(t);
                        ceilings.Add(gbps);
                        fractions.Add(tokS * bytesPerToken / (gbps * 1e9));
                    }) : (0, 0);
                    rows.Add(new Row
                    {
                        Model = label, Type = typeName, Threads = t, Backend = m.BackendDescription,
                        PpMean = ppMean, PpSd = ppSd, TgMean = tgMean, TgSd = tgSd,
                        HugePages = m.WeightsOnHugePages,
                        CeilingGBps = ceilings.Count > 0 ? ceilings.Average() : 0,
                        CeilingFraction = fractions.Count > 0 ? fractions.Average() : 0,
                    });
                }
                Print(rows, bandwidth, hugeBandwidth, json);
                return 0;
            }
            finally
            {
                if (temp != null) File.Delete(temp);
            }
        }

        /// <summary>
        /// Mean and standard deviation of tokens/s over <paramref name="reps"/> runs, after warming up: one run, repeated
        /// for at least a second, so that the JIT's tiered compilation has replaced the first, slower code.
        /// </summary>
        private static (double Mean, double Sd) Measure(int reps, Func<double> run, Action<double>? afterEach = null)
        {
            var warm = Stopwatch.StartNew();
            do run(); while (warm.ElapsedMilliseconds < 1000);
            var v = new double[reps];
            for (int i = 0; i < reps; i++)
            {
                v[i] = run();
                afterEach?.Invoke(v[i]);
            }
            double mean = v.Average();
            double sd = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1)) : 0;
            return (mean, sd);
        }

        private static int[] RandomTokens(Model m, int n, int seed)
        {
            var rng = new Random(seed);
            return Enumerable.Range(0, n).Select(_ => rng.Next(3, m.Config.VocabSize)).ToArray();
        }

        private static double Prefill(Model m, int n)
        {
            using var s = m.CreateSession(new SessionOptions { ContextLength = Math.Max(n, 16), BatchSize = n });
            var tokens = RandomTokens(m, n, 1);
            var sw = Stopwatch.StartNew();
            s.Evaluate(tokens);
            return n / sw.Elapsed.TotalSeconds;
        }

        private static double Decode(Model m, int n)
        {
            using var s = m.CreateSession(new SessionOptions { ContextLength = Math.Max(n, 16), BatchSize = 1 });
            var tokens = RandomTokens(m, n, 2);
            var one = new int[1];
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < n; i++)
            {
                one[0] = tokens[i];
                s.Evaluate(one);
            }
            return n / sw.Elapsed.TotalSeconds;
        }

        /// <summary>Bytes of weights one decode step reads: every layer matrix and the output projection (one embedding row aside).</summary>
        private static long WeightBytesPerToken(Model m)
        {
            long total = 0;
            foreach (var t in m.File.Tensors)
            {
                if (t.Name == "token_embd.weight" && m.File.FindTensor("output.weight") != null) continue;
                total += t.ByteSize;
            }
            return total;
        }

        private static string DominantType(Model m) =>
            m.File.Tensors.Where(t => t.Shape.Length == 2).GroupBy(t => t.Type).OrderByDescending(g => g.Sum(t => t.ByteSize)).First().Key.ToString();

        private static void Print(List<Row> rows, Dictionary<int, double> bandwidth, Dictionary<int, double>? hugeBandwidth, bool json)
        {
            if (json)
            {
                using var os = Console.OpenStandardOutput();
                using var w = CliOptions.JsonWriter(os);
                w.WriteStartObject();
                w.WriteStartObject("bandwidth_GBps");
                foreach (var kv in bandwidth) w.WriteNumber(kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), Math.Round(kv.Value, 2));
                w.WriteEndObject();
                if (hugeBandwidth != null)
                {
                    w.WriteStartObject("bandwidth_huge_pages_GBps");
                    foreach (var kv in hugeBandwidth) w.WriteNumber(kv.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), Math.Round(kv.Value, 2));
                    w.WriteEndObject();
                }
                w.WriteStartArray("results");
                foreach (var r in rows)
                {
                    w.WriteStartObject();
                    w.WriteString("model", r.Model);
                    w.WriteString("type", r.Type);
                    w.WriteNumber("threads", r.Threads);
                    w.WriteString("backend", r.Backend);
                    w.WriteNumber("pp_tok_s", Math.Round(r.PpMean, 2));
                    w.WriteNumber("pp_sd", Math.Round(r.PpSd, 2));
                    w.WriteNumber("tg_tok_s", Math.Round(r.TgMean, 2));
                    w.WriteNumber("tg_sd", Math.Round(r.TgSd, 2));
                    w.WriteNumber("ceiling_fraction", Math.Round(r.CeilingFraction, 3));
                    w.WriteNumber("ceiling_GBps", Math.Round(r.CeilingGBps, 2));
                    w.WriteBoolean("huge_pages", r.HugePages);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
                w.Flush();
                Console.WriteLine();
                return;
            }
            var table = new Table().AddColumns("model", "type", "threads", "backend", "pp tok/s", "tg tok/s", "tg / bandwidth ceiling");
            foreach (var r in rows)
                table.AddRow(Markup.Escape(r.Model), r.Type, r.Threads.ToString(), r.Backend, $"{r.PpMean:F1} ± {r.PpSd:F1}", $"{r.TgMean:F1} ± {r.TgSd:F1}", $"{r.CeilingFraction:P0} of {r.CeilingGBps:F1} GB/s");
            AnsiConsole.Write(table);
            Console.WriteLine("read bandwidth: " + string.Join(", ", bandwidth.Select(kv => $"{kv.Value:F1} GB/s at {kv.Key} thread(s)")));
            if (hugeBandwidth != null)
                Console.WriteLine("read bandwidth through 2 MiB pages (the ceiling of weights held on them): " + string.Join(", ", hugeBandwidth.Select(kv => $"{kv.Value:F1} GB/s at {kv.Key} thread(s)")));
        }
    }
}
