using System;
using System.CommandLine;
using NpcSdk.Generation;
using NpcSdk.Models;

namespace NpcSdk.Cli.Commands
{
    /// <summary>The prompt and model options shared by <c>run</c> and <c>eval</c>.</summary>
    internal sealed class PromptInput
    {
        public readonly Option<string> Model = CliOptions.Model();
        public readonly Option<string?> Prompt = new Option<string?>("--prompt", "-p") { Description = "Prompt text" };
        public readonly Option<string?> File = new Option<string?>("--file", "-f") { Description = "Read the prompt from the exact UTF-8 bytes of a file" };
        public readonly Option<bool> Special = new Option<bool>("--special")
        {
            Description = "Parse control tokens written in the prompt (<|im_start|>...); on by default, as llama.cpp does for prompts",
            DefaultValueFactory = _ => true,
        };
        public readonly Option<int> Threads = CliOptions.Threads();
        public readonly Option<string> KvType = new Option<string>("--kv-type") { Description = "KV cache type: f16, f32 or q8_0 (half of f16's memory)", DefaultValueFactory = _ => "f16" };
        public readonly Option<int> Context = new Option<int>("--ctx", "-c") { Description = "Context length (0 = model's, capped at 4096)" };
        public readonly Option<string> Backend = CliOptions.Backend();

        public void AddTo(Command cmd)
        {
            cmd.Options.Add(Model);
            cmd.Options.Add(Prompt);
            cmd.Options.Add(File);
            cmd.Options.Add(Special);
            cmd.Options.Add(Threads);
            cmd.Options.Add(KvType);
            cmd.Options.Add(Context);
            cmd.Options.Add(Backend);
        }

        public string ReadPrompt(ParseResult r)
        {
            if (r.GetValue(File) is string f) return CliOptions.ReadTextFile(f);
            return r.GetValue(Prompt) ?? throw new ArgumentException("give --prompt TEXT or --file FILE");
        }

        public Model LoadModel(ParseResult r)
        {
            var model = Models.Model.Load(r.GetValue(Model)!, new ModelOptions { Threads = r.GetValue(Threads), Backend = CliOptions.ParseBackend(r.GetValue(Backend)!) });
            Console.Error.WriteLine($"[backend: {model.BackendDescription}, {model.Threads} thread(s)]");
            return model;
        }

        public SessionOptions SessionOptions(ParseResult r)
        {
            return new SessionOptions { KvCacheType = ParseKvType(r.GetValue(KvType)!), ContextLength = r.GetValue(Context) };
        }

        /// <summary>The KV cache type named by <c>--kv-type</c>.</summary>
        public static KvCacheType ParseKvType(string kv) =>
            kv.Equals("f32", StringComparison.OrdinalIgnoreCase) ? KvCacheType.F32
            : kv.Equals("f16", StringComparison.OrdinalIgnoreCase) ? KvCacheType.F16
            : kv.Equals("q8_0", StringComparison.OrdinalIgnoreCase) ? KvCacheType.Q8_0
            : throw new ArgumentException($"--kv-type must be f16, f32 or q8_0, not '{kv}'");
    }
}
