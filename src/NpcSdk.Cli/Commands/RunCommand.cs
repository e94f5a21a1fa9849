using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using NpcSdk.Sampling;

namespace NpcSdk.Cli.Commands
{
    /// <summary><c>npcsdk run</c>: generate a continuation of a prompt, streaming text (or one JSON object with --json).</summary>
    internal static class RunCommand
    {
        public static Command Create()
        {
            var input = new PromptInput();
            var n = new Option<int>("--n-predict", "-n") { Description = "Tokens to generate at most", DefaultValueFactory = _ => 64 };
            var temp = new Option<float>("--temp") { Description = "Temperature (0 = greedy)", DefaultValueFactory = _ => 0.8f };
            var topK = new Option<int>("--top-k") { Description = "Top-k (0 = off)", DefaultValueFactory = _ => 40 };
            var topP = new Option<float>("--top-p") { Description = "Top-p (1 = off)", DefaultValueFactory = _ => 0.95f };
            var minP = new Option<float>("--min-p") { Description = "Min-p (0 = off)", DefaultValueFactory = _ => 0.05f };
            var repeat = new Option<float>("--repeat-penalty") { Description = "Repetition penalty (1 = off)", DefaultValueFactory = _ => 1.0f };
            var seed = new Option<ulong>("--seed", "-s") { Description = "Random seed", DefaultValueFactory = _ => 0x5EEDUL };
            var json = CliOptions.Json();
            var cmd = new Command("run", "Generate text from a prompt") { n, temp, topK, topP, minP, repeat, seed, json };
            input.AddTo(cmd);
            cmd.SetAction(r => CliOptions.Guard(() =>
            {
                string prompt = input.ReadPrompt(r);
                bool asJson = r.GetValue(json);
                using var model = input.LoadModel(r);
                var tok = model.Tokenizer;
                int[] promptIds = tok.Encode(prompt, addSpecial: true, parseSpecial: r.GetValue(input.Special));
                using var session = model.CreateSession(input.SessionOptions(r));
                var sampler = new SamplerChain(new SamplingOptions
                {
                    Temperature = r.GetValue(temp),
                    TopK = r.GetValue(topK),
                    TopP = r.GetValue(topP),
                    MinP = r.GetValue(minP),
                    RepeatPenalty = r.GetValue(repeat),
                    Seed = r.GetValue(seed),
                });
                var ids = new List<int>();
                var stream = tok.CreateStreamDecoder();
                var clock = Stopwatch.StartNew();
                double prefillSeconds = 0;
                var stdout = Console.Out;
                foreach (int id in session.Generate(promptIds, r.GetValue(n), sampler))
                {
                    if (ids.Count == 0) prefillSeconds = clock.Elapsed.TotalSeconds;
                    ids.Add(id);
                    if (!asJson)
                    {
                        stdout.Write(stream.Append(id));
                        stdout.Flush();
                    }
                }
                double total = clock.Elapsed.TotalSeconds;
                // The first token comes with the prompt's logits; each later one costs one decode step.
                double prefillTokS = promptIds.Length / Math.Max(prefillSeconds, 1e-9);
                double decodeTokS = ids.Count > 1 ? (ids.Count - 1) / Math.Max(total - prefillSeconds, 1e-9) : 0;
                if (asJson)
                {
                    using var os = Console.OpenStandardOutput();
                    using var w = CliOptions.JsonWriter(os);
                    w.WriteStartObject();
                    CliOptions.WriteIntArray(w, "prompt_ids", promptIds);
                    CliOptions.WriteIntArray(w, "ids", ids);
                    w.WriteString("text", tok.Decode(ids));
                    w.WriteNumber("prefill_tok_s", Math.Round(prefillTokS, 2));
                    w.WriteNumber("decode_tok_s", Math.Round(decodeTokS, 2));
                    w.WriteEndObject();
                    w.Flush();
                    Console.WriteLine();
                }
                else
                {
                    stdout.Write(stream.Flush());
                    stdout.WriteLine();
                    stdout.Flush();
                    Console.Error.WriteLine($"[{promptIds.Length} prompt tokens: {prefillTokS:F1} tok/s; {ids.Count} generated: {decodeTokS:F1} tok/s; {model.Threads} threads, {model.BackendDescription}]");
                }
                return 0;
            }));
            return cmd;
        }
    }
}
