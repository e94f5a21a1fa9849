using System;
using System.CommandLine;
using System.Globalization;
using NpcSdk.Evaluation;
using NpcSdk.Models;
using Spectre.Console;

namespace NpcSdk.Cli.Commands
{
    /// <summary>
    /// <c>npcsdk perplexity -m MODEL -f TEXT [-c CTX]</c>: llama-perplexity's measurement (see <see cref="Perplexity"/>)
    /// plus bits per token, character and word.
    /// </summary>
    internal static class PerplexityCommand
    {
        private const string Help =
            "Perplexity of a model on a text, as llama-perplexity computes it: the text is tokenized once (BOS per the " +
            "model's metadata, special tokens not parsed unless --special), cut into floor(tokens/CTX) chunks of CTX " +
            "tokens, each evaluated from an empty cache with its first token replaced by BOS; only the second half of each " +
            "chunk is scored (the logits at positions CTX/2 .. CTX-2 predict the next token). PPL = exp(mean NLL).\n" +
            "Bits per token = mean NLL / ln 2. Bits per character and per word = total bits of the scored tokens divided " +
            "by the characters (Unicode code points) or the words (runs of non-white-space characters, counted where they " +
            "start) of the scored tokens' text.\n" +
            "--json prints ppl, ppl_stderr, bits_per_token, bits_per_char, bits_per_word, tokens (scored), text_tokens, " +
            "characters, words, n_ctx and chunks (each with its running_ppl).";

        public static Command Create()
        {
            var model = CliOptions.Model();
            var file = new Option<string>("--file", "-f") { Description = "Text to score (exact UTF-8 bytes of the file)", Required = true };
            var context = new Option<int>("--ctx", "-c") { Description = "Tokens per chunk (0 = the model's training context, capped at 4096)" };
            var batch = new Option<int>("--batch", "-b") { Description = "Tokens per forward step (0 = a whole chunk)" };
            var chunks = new Option<int>("--chunks") { Description = "Score at most this many chunks (0 = all)" };
            var kvType = new Option<string>("--kv-type") { Description = "KV cache type: f16 (llama.cpp's default), f32 or q8_0", DefaultValueFactory = _ => "f16" };
            var special = CliOptions.Special();
            var threads = CliOptions.Threads();
            var json = CliOptions.Json();
            var cmd = new Command("perplexity", Help) { model, file, context, batch, chunks, kvType, special, threads, json };
            cmd.SetAction(r => CliOptions.Guard(() =>
            {
                string kv = r.GetValue(kvType)!;
                var options = new PerplexityOptions
                {
                    ContextLength = r.GetValue(context),
                    BatchSize = r.GetValue(batch),
                    MaxChunks = r.GetValue(chunks),
                    ParseSpecial = r.GetValue(special),
                    KvCacheType = PromptInput.ParseKvType(kv),
                };
                string text = CliOptions.ReadTextFile(r.GetValue(file)!);
                using var m = Model.Load(r.GetValue(model)!, new ModelOptions { Threads = r.GetValue(threads) });
                return Run(m, text, options, r.GetValue(json));
            }));
            return cmd;
        }

        private static int Run(Model model, string text, PerplexityOptions options, bool json)
        {
            PerplexityResult result;
            if (json)
            {
                result = Perplexity.Measure(model, text, options);
                WriteJson(result);
                return 0;
            }

            if (Console.IsErrorRedirected)
            {
                // Not a terminal (a log): llama-perplexity's "[chunk]running-ppl," lines.
                options.ChunkDone = c => Console.Error.WriteLine($"[{c.Index + 1}]{F(c.RunningPerplexity, 4)},");
                result = Perplexity.Measure(model, text, options);
            }
            else
            {
                var stderr = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
                result = stderr.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask("perplexity", maxValue: 1);
                        options.ChunkDone = c =>
                        {
                            task.MaxValue = c.Count;
                            task.Value = c.Index + 1;
                            task.Description = Markup.Escape($"[{c.Index + 1}/{c.Count}] PPL {F(c.RunningPerplexity, 4)}");
                        };
                        return Perplexity.Measure(model, text, options);
                    });
            }

            Console.WriteLine($"PPL = {F(result.Value, 4)} +/- {F(result.PerplexityStandardError, 5)}  ({result.Chunks.Count} chunks of {result.ContextLength} tokens, {result.ScoredTokens} of {result.TextTokens} tokens scored)");
            Console.WriteLine($"bits per token     {F(result.BitsPerToken, 4)}");
            Console.WriteLine($"bits per character {F(result.BitsPerCharacter, 4)}  ({result.Characters} characters)");
            Console.WriteLine($"bits per word      {F(result.BitsPerWord, 4)}  ({result.Words} words)");
            return 0;
        }

        private static string F(double v, int decimals) => v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

        private static void WriteNumberOrNull(System.Text.Json.Utf8JsonWriter w, string name, double value)
        {
            if (double.IsNaN(value)) w.WriteNull(name);
            else w.WriteNumber(name, value);
        }

        private static void WriteJson(PerplexityResult result)
        {
            using var stdout = Console.OpenStandardOutput();
            using var w = CliOptions.JsonWriter(stdout);
            w.WriteStartObject();
            w.WriteNumber("ppl", result.Value);
            w.WriteNumber("ppl_stderr", result.PerplexityStandardError);
            w.WriteNumber("bits_per_token", result.BitsPerToken);
            WriteNumberOrNull(w, "bits_per_char", result.BitsPerCharacter);
            WriteNumberOrNull(w, "bits_per_word", result.BitsPerWord);
            w.WriteNumber("tokens", result.ScoredTokens);
            w.WriteNumber("text_tokens", result.TextTokens);
            w.WriteNumber("characters", result.Characters);
            w.WriteNumber("words", result.Words);
            w.WriteNumber("n_ctx", result.ContextLength);
            w.WriteStartArray("chunks");
            foreach (var c in result.Chunks)
            {
                w.WriteStartObject();
                w.WriteNumber("chunk", c.Index + 1);
                w.WriteNumber("first_token", c.FirstToken);
                w.WriteNumber("tokens", c.ScoredTokens);
                w.WriteNumber("mean_nll", c.MeanNegativeLogLikelihood);
                w.WriteNumber("ppl", c.Perplexity);
                w.WriteNumber("running_ppl", c.RunningPerplexity);
                w.WriteNumber("characters", c.Characters);
                w.WriteNumber("words", c.Words);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
            w.Flush();
            Console.WriteLine();
        }
    }
}
