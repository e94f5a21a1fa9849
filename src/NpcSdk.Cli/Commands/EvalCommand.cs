using System;
using System.CommandLine;
using System.Linq;

namespace NpcSdk.Cli.Commands
{
    /// <summary><c>npcsdk eval -m MODEL -p PROMPT [--top 20]</c>: the top logits at every prompt position, as JSON.</summary>
    internal static class EvalCommand
    {
        public static Command Create()
        {
            var input = new PromptInput();
            var top = new Option<int>("--top") { Description = "Logits to print per position", DefaultValueFactory = _ => 20 };
            var cmd = new Command("eval", "Logits of every prompt position (JSON)") { top };
            input.AddTo(cmd);
            cmd.SetAction(r => CliOptions.Guard(() =>
            {
                string prompt = input.ReadPrompt(r);
                int k = Math.Max(1, r.GetValue(top));
                using var model = input.LoadModel(r);
                int[] ids = model.Tokenizer.Encode(prompt, addSpecial: true, parseSpecial: r.GetValue(input.Special));
                using var session = model.CreateSession(input.SessionOptions(r));
                using var stdout = Console.OpenStandardOutput();
                using var w = CliOptions.JsonWriter(stdout);
                w.WriteStartObject();
                CliOptions.WriteIntArray(w, "prompt_ids", ids);
                w.WriteStartArray("steps");
                session.Evaluate(ids, (pos, logits) =>
                {
                    w.WriteStartObject();
                    w.WriteNumber("pos", pos);
                    w.WriteStartArray("top");
                    foreach (int id in TopIds(logits, k))
                    {
                        w.WriteStartArray();
                        w.WriteNumberValue(id);
                        w.WriteNumberValue(logits[id]);
                        w.WriteEndArray();
                    }
                    w.WriteEndArray();
                    w.WriteEndObject();
                });
                w.WriteEndArray();
                w.WriteEndObject();
                w.Flush();
                Console.WriteLine();
                return 0;
            }));
            return cmd;
        }

        /// <summary>Ids of the k largest logits, best first, lower id first on ties.</summary>
        internal static int[] TopIds(float[] logits, int k)
        {
            return Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i).Take(k).ToArray();
        }
    }
}
