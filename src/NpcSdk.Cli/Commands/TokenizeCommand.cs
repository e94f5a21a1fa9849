using System;
using System.CommandLine;
using NpcSdk.Gguf;
using NpcSdk.Tokenization;

namespace NpcSdk.Cli.Commands
{
    /// <summary><c>npcsdk tokenize -m MODEL [--no-bos] [--special] (TEXT | --text-file FILE)</c>; works on vocab-only files.</summary>
    internal static class TokenizeCommand
    {
        public static Command Create()
        {
            var model = CliOptions.Model();
            var text = new Argument<string?>("text") { Description = "Text to tokenize", Arity = ArgumentArity.ZeroOrOne };
            var file = new Option<string?>("--text-file") { Description = "Read the exact UTF-8 bytes of this file" };
            var noBos = new Option<bool>("--no-bos") { Description = "Do not add BOS/EOS per the vocab's metadata" };
            var special = CliOptions.Special();
            var cmd = new Command("tokenize", "Text to token ids (JSON)") { model, text, file, noBos, special };
            cmd.SetAction(r => CliOptions.Guard(() =>
            {
                string input = r.GetValue(file) is string f ? CliOptions.ReadTextFile(f)
                    : r.GetValue(text) ?? throw new ArgumentException("give TEXT or --text-file FILE");
                using var gguf = GgufFile.Open(r.GetValue(model)!);
                var tok = GgufTokenizer.FromGguf(gguf);
                int[] ids = tok.Encode(input, addSpecial: !r.GetValue(noBos), parseSpecial: r.GetValue(special));
                using var stdout = Console.OpenStandardOutput();
                using var w = CliOptions.JsonWriter(stdout);
                w.WriteStartObject();
                CliOptions.WriteIntArray(w, "ids", ids);
                w.WriteString("text", tok.Decode(ids));
                w.WriteEndObject();
                w.Flush();
                Console.WriteLine();
                return 0;
            }));
            return cmd;
        }
    }
}
