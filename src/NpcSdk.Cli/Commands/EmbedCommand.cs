using System;
using System.CommandLine;
using System.Globalization;
using System.Linq;
using NpcSdk.Embeddings;
using NpcSdk.Tokenization;
using Spectre.Console;

namespace NpcSdk.Cli.Commands
{
    /// <summary>
    /// <c>npcsdk embed -m MODEL TEXT... [--json]</c>: sentence embeddings from a BERT GGUF (e.g. models/minilm-q8_0.gguf),
    /// computed like <c>llama-embedding</c> on the same list of texts.
    /// </summary>
    internal static class EmbedCommand
    {
        private const int ShownValues = 6;

        public static Command Create()
        {
            var model = CliOptions.Model();
            var texts = new Argument<string[]>("text") { Description = "Texts to embed (each one argument)", Arity = ArgumentArity.OneOrMore };
            var json = CliOptions.Json();
            var threads = CliOptions.Threads();
            var cmd = new Command("embed", "Sentence embeddings (unit length) and their cosine similarities") { model, texts, json, threads };
            cmd.SetAction(r => CliOptions.Guard(() =>
            {
                try
                {
                    return Run(r.GetValue(model)!, r.GetValue(texts)!, r.GetValue(json), r.GetValue(threads));
                }
                catch (TokenizerNotSupportedException e)
                {
                    // A bert file with another vocabulary; Guard does not know this runtime error.
                    Console.Error.WriteLine($"error: {e.Message}");
                    return 1;
                }
            }));
            return cmd;
        }

        private static int Run(string path, string[] texts, bool json, int threads)
        {
            using var model = EmbeddingModel.Load(path, Math.Max(1, threads));
            int[][] ids = texts.Select(model.Tokenize).ToArray();
            float[][] embeddings = model.Embed(texts);

            if (json)
            {
                using var stdout = Console.OpenStandardOutput();
                using var w = CliOptions.JsonWriter(stdout);
                w.WriteStartObject();
                w.WriteString("model", path);
                w.WriteStartArray("data");
                for (int i = 0; i < texts.Length; i++)
                {
                    w.WriteStartObject();
                    w.WriteString("text", texts[i]);
                    CliOptions.WriteIntArray(w, "ids", ids[i]);
                    w.WriteStartArray("embedding");
                    foreach (float v in embeddings[i]) w.WriteNumberValue(v);
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
                w.Flush();
                Console.WriteLine();
                return 0;
            }

            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(path)}[/]: {model.Dimensions} dimensions, unit length");
            var list = new Table().AddColumn("#").AddColumn("tokens").AddColumn("first values").AddColumn("text");
            for (int i = 0; i < texts.Length; i++)
            {
                string first = string.Join(" ", embeddings[i].Take(ShownValues).Select(v => v.ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture))) + " …";
                list.AddRow((i + 1).ToString(CultureInfo.InvariantCulture), ids[i].Length.ToString(CultureInfo.InvariantCulture), first, Markup.Escape(texts[i]));
            }
            AnsiConsole.Write(list);

            if (texts.Length > 1)
            {
                var cosines = new Table().Title("cosine similarity").AddColumn("");
                for (int j = 0; j < texts.Length; j++) cosines.AddColumn(new TableColumn((j + 1).ToString(CultureInfo.InvariantCulture)).RightAligned());
                for (int i = 0; i < texts.Length; i++)
                {
                    var row = new string[texts.Length + 1];
                    row[0] = (i + 1).ToString(CultureInfo.InvariantCulture);
                    for (int j = 0; j < texts.Length; j++)
                    {
                        float c = EmbeddingModel.Cosine(embeddings[i], embeddings[j]);
                        string cell = c.ToString("0.000", CultureInfo.InvariantCulture);
                        row[j + 1] = i == j ? $"[grey]{cell}[/]" : c >= 0.5f ? $"[green]{cell}[/]" : cell;
                    }
                    cosines.AddRow(row);
                }
                AnsiConsole.Write(cosines);
            }
            return 0;
        }
    }
}
