using System;
using System.CommandLine;
using System.Linq;
using NpcSdk.Gguf;
using NpcSdk.Models;
using NpcSdk.Tokenization;
using Spectre.Console;

namespace NpcSdk.Cli.Commands
{
    /// <summary><c>npcsdk inspect MODEL</c>: architecture, hyper-parameters, tokenizer, tensors by type, file size.</summary>
    internal static class InspectCommand
    {
        public static Command Create()
        {
            var path = new Argument<string>("model") { Description = "Path to a GGUF file" };
            var json = CliOptions.Json();
            var cmd = new Command("inspect", "Describe a GGUF model") { path, json };
            cmd.SetAction(r => CliOptions.Guard(() => Run(r.GetValue(path)!, r.GetValue(json))));
            return cmd;
        }

        private static int Run(string path, bool json)
        {
            using var file = GgufFile.Open(path);
            var byType = file.Tensors.GroupBy(t => t.Type).OrderBy(g => g.Key).Select(g => (Type: g.Key.ToString(), Count: g.Count(), Bytes: g.Sum(t => t.ByteSize))).ToList();
            string? arch = file.GetString("general.architecture");
            ModelConfig? config = null;
            string? configError = null;
            if (file.Tensors.Count > 0)
            {
                try { config = ModelConfig.FromGguf(file); }
                catch (Exception e) when (e is ModelNotSupportedException || e is GgufFormatException) { configError = e.Message; }
            }
            GgufTokenizer? tok = null;
            string? tokError = null;
            try { tok = GgufTokenizer.FromGguf(file); }
            catch (Exception e) { tokError = e.Message; }

            if (json)
            {
                using var stdout = Console.OpenStandardOutput();
                using var w = CliOptions.JsonWriter(stdout);
                w.WriteStartObject();
                w.WriteString("file", path);
                w.WriteNumber("file_size", file.FileSize);
                w.WriteNumber("gguf_version", file.Version);
                w.WriteString("architecture", arch);
                w.WriteString("name", file.GetString("general.name"));
                if (config != null)
                {
                    w.WriteStartObject("hparams");
                    w.WriteNumber("n_ctx_train", config.ContextLength);
                    w.WriteNumber("n_embd", config.Dim);
                    w.WriteNumber("n_layer", config.LayerCount);
                    w.WriteNumber("n_ff", config.FeedForwardDim);
                    w.WriteNumber("n_head", config.HeadCount);
                    w.WriteNumber("n_head_kv", config.KvHeadCount);
                    w.WriteNumber("head_dim", config.HeadDim);
                    w.WriteNumber("n_vocab", config.VocabSize);
                    w.WriteNumber("rope_freq_base", config.RopeFreqBase);
                    w.WriteNumber("rope_freq_scale", config.RopeFreqScale);
                    w.WriteNumber("rms_eps", config.RmsEpsilon);
                    w.WriteEndObject();
                }
                if (configError != null) w.WriteString("model_error", configError);
                w.WriteStartObject("tokenizer");
                w.WriteString("model", file.GetString("tokenizer.ggml.model"));
                w.WriteString("pre", file.GetString("tokenizer.ggml.pre"));
                if (tok != null)
                {
                    w.WriteNumber("n_vocab", tok.VocabSize);
                    w.WriteNumber("bos", tok.BosId);
                    w.WriteNumber("eos", tok.EosId);
                    w.WriteBoolean("add_bos", tok.AddBos);
                }
                if (tokError != null) w.WriteString("error", tokError);
                w.WriteEndObject();
                w.WriteNumber("n_tensors", file.Tensors.Count);
                w.WriteStartObject("tensor_types");
                foreach (var g in byType)
                {
                    w.WriteStartObject(g.Type);
                    w.WriteNumber("count", g.Count);
                    w.WriteNumber("bytes", g.Bytes);
                    w.WriteEndObject();
                }
                w.WriteEndObject();
                w.WriteEndObject();
                w.Flush();
                Console.WriteLine();
                return 0;
            }

            var table = new Table().AddColumn("property").AddColumn("value");
            table.AddRow("file", Markup.Escape(path));
            table.AddRow("size", $"{file.FileSize / 1048576.0:F1} MiB ({file.FileSize} bytes)");
            table.AddRow("GGUF version", file.Version.ToString());
            table.AddRow("architecture", Markup.Escape(arch ?? "(none)"));
            table.AddRow("name", Markup.Escape(file.GetString("general.name") ?? ""));
            if (config != null)
            {
                table.AddRow("context", config.ContextLength.ToString());
                table.AddRow("dim / layers / ffn", $"{config.Dim} / {config.LayerCount} / {config.FeedForwardDim}");
                table.AddRow("heads / kv heads / head dim", $"{config.HeadCount} / {config.KvHeadCount} / {config.HeadDim}");
                table.AddRow("rope", $"base {config.RopeFreqBase}, scale {config.RopeFreqScale}, dims {config.RopeDim}, {config.Architecture.Rope}");
                table.AddRow("vocab", config.VocabSize.ToString());
            }
            if (configError != null) table.AddRow("[red]model[/]", Markup.Escape(configError));
            table.AddRow("tokenizer", Markup.Escape($"{file.GetString("tokenizer.ggml.model")} / {file.GetString("tokenizer.ggml.pre") ?? "default"}"
                + (tok != null ? $", {tok.VocabSize} tokens, bos {tok.BosId}, eos {tok.EosId}" : $": {tokError}")));
            table.AddRow("tensors", file.Tensors.Count.ToString());
            foreach (var g in byType) table.AddRow($"  {g.Type}", $"{g.Count} tensors, {g.Bytes / 1048576.0:F2} MiB");
            AnsiConsole.Write(table);
            return 0;
        }
    }
}
