using System;
using System.CommandLine;
using NpcSdk.Cli.Commands;

namespace NpcSdk.Cli
{
    /// <summary>The <c>npcsdk</c> command-line tool.</summary>
    internal static class Program
    {
        private static int Main(string[] args)
        {
            var root = new RootCommand("npcsdk: run game-character language models locally (GGUF).")
            {
                InspectCommand.Create(),
                TokenizeCommand.Create(),
                EvalCommand.Create(),
                RunCommand.Create(),
                ChatCommand.Create(),
                BenchCommand.Create(),
                EmbedCommand.Create(),
                ServeCommand.Create(),
                QuantizeCommand.Create(),
                PerplexityCommand.Create(),
            };
            return root.Parse(args).Invoke();
        }
    }
}
