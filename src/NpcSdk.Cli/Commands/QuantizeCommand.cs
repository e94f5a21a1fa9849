using System;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using NpcSdk.Quantization;
using Spectre.Console;

namespace NpcSdk.Cli.Commands
{
    /// <summary>
    /// <c>npcsdk quantize IN.gguf OUT.gguf TYPE [--json]</c>: what llama-quantize writes without an importance matrix
    /// (same per-tensor types, metadata and bytes), with a progress bar on stderr.
    /// </summary>
    internal static class QuantizeCommand
    {
        public static Command Create()
        {
            var input = new Argument<string>("input") { Description = "GGUF model to read (F32, F16 or BF16 weights)" };
            var output = new Argument<string>("output") { Description = "GGUF file to write" };
            var type = new Argument<string>("type")
            {
                Description = "Target, as llama-quantize names it: " + string.Join(", ", QuantizationMix.All.Select(m => m.Name)),
            };
            var threads = new Option<int>("--threads", "-t") { Description = "Threads converting rows (default: every core)", DefaultValueFactory = _ => Environment.ProcessorCount };
            var requantize = new Option<bool>("--allow-requantize") { Description = "Also convert tensors that are already quantized (loses precision twice)" };
            var json = CliOptions.Json();
            string mixes = string.Join(Environment.NewLine, QuantizationMix.All.Select(m => $"  {m.Name,-7} {m.Description}"));
            var cmd = new Command("quantize",
                "Quantize a model as llama-quantize does (no imatrix): output.weight and tied embeddings at Q6_K (Q8_0 for " +
                "Q8_0), more bits for attn_v/ffn_down in the _M mixes, legacy or F16 fallbacks for rows that are not whole " +
                "K-quant blocks, 1-D tensors kept F32." + Environment.NewLine + "Types:" + Environment.NewLine + mixes)
            {
                input, output, type, threads, requantize, json,
            };
            cmd.SetAction(r => CliOptions.Guard(() =>
            {
                var mix = QuantizationMix.Parse(r.GetValue(type)!);
                var options = new QuantizationOptions { Threads = Math.Max(1, r.GetValue(threads)), AllowRequantize = r.GetValue(requantize) };
                try
                {
                    return Run(r.GetValue(input)!, r.GetValue(output)!, mix, options, r.GetValue(json));
                }
                catch (QuantizationException e)
                {
                    Console.Error.WriteLine($"error: {e.Message}");
                    return 1;
                }
            }));
            return cmd;
        }

        private static int Run(string input, string output, QuantizationMix mix, QuantizationOptions options, bool json)
        {
            QuantizationResult result;
            if (json)
            {
                result = ModelQuantizer.Quantize(input, output, mix, options);
                WriteJson(input, output, result);
                return 0;
            }

            if (Console.IsErrorRedirected)
            {
                // Not a terminal (a log): one line per tensor, as llama-quantize logs, instead of a redrawn bar.
                int last = -1;
                options.Progress = p =>
                {
                    if (p.TensorIndex == last) return;
                    last = p.TensorIndex;
                    var t = p.Tensor;
                    Console.Error.WriteLine($"[{p.TensorIndex + 1,4}/{p.TensorCount,4}] {t.Name,-36} [{string.Join(", ", t.Shape)}] {t.SourceType} -> {t.TargetType}{(t.FellBack ? " (fallback)" : "")}");
                };
                result = ModelQuantizer.Quantize(input, output, mix, options);
            }
            else
            {
                result = ProgressBar(input, output, mix, options);
            }

            Console.WriteLine($"{output}: {mix.Name} (general.file_type {mix.FileType}), {Megabytes(result.SourceFileBytes)} -> {Megabytes(result.OutputFileBytes)}, {result.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s");
            foreach (var g in result.Tensors.GroupBy(t => t.TargetType).OrderBy(g => g.Key))
                Console.WriteLine($"  {g.Key,-5} {g.Count(),4} tensors  {Megabytes(g.Sum(t => t.TargetBytes))}");
            int fallbacks = result.Tensors.Count(t => t.FellBack);
            if (fallbacks > 0)
                Console.WriteLine($"  {fallbacks} tensor(s) fell back to another type: rows not whole blocks of the mix's type");
            return 0;
        }

        private static QuantizationResult ProgressBar(string input, string output, QuantizationMix mix, QuantizationOptions options)
        {
            var stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
            return stderr.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask($"{mix.Name}", maxValue: 1);
                    options.Progress = p =>
                    {
                        task.MaxValue = Math.Max(1, p.TotalBytes);
                        task.Value = p.BytesWritten;
                        task.Description = Markup.Escape($"[{p.TensorIndex + 1}/{p.TensorCount}] {p.Tensor.Name} -> {p.Tensor.TargetType}");
                    };
                    var done = ModelQuantizer.Quantize(input, output, mix, options);
                    task.Description = Markup.Escape($"{mix.Name}: {done.Tensors.Count} tensors");
                    task.Value = task.MaxValue;
                    return done;
                });
        }

        private static string Megabytes(long bytes) => (bytes / 1e6).ToString("F2", CultureInfo.InvariantCulture) + " MB";

        private static void WriteJson(string input, string output, QuantizationResult result)
        {
            using var stdout = Console.OpenStandardOutput();
            using var w = CliOptions.JsonWriter(stdout);
            w.WriteStartObject();
            w.WriteString("input", input);
            w.WriteString("output", output);
            w.WriteString("type", result.Mix.Name);
            w.WriteNumber("file_type", result.Mix.FileType);
            w.WriteNumber("input_bytes", result.SourceFileBytes);
            w.WriteNumber("output_bytes", result.OutputFileBytes);
            w.WriteNumber("seconds", Math.Round(result.Elapsed.TotalSeconds, 3));
            w.WriteStartArray("tensors");
            foreach (var t in result.Tensors)
            {
                w.WriteStartObject();
                w.WriteString("name", t.Name);
                w.WriteStartArray("shape");
                foreach (long d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteString("from", t.SourceType.ToString());
                w.WriteString("to", t.TargetType.ToString());
                w.WriteNumber("bytes", t.TargetBytes);
                w.WriteBoolean("fallback", t.FellBack);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.Flush();
            Console.WriteLine();
        }
    }
}
