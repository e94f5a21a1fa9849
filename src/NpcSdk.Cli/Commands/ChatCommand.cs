using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using NpcSdk.Agents.Characters;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Local;
using NpcSdk.Agents.Memory;
using NpcSdk.Agents.Tools;
using NpcSdk.Generation;
using NpcSdk.Models;
using Spectre.Console;

namespace NpcSdk.Cli.Commands
{
    /// <summary>
    /// <c>npcsdk chat</c>: an interactive chat in the terminal, rendered in the model's chat format with the player's
    /// lines as plain content (never parsed for control tokens). With <c>--character FILE</c> the model plays that NPC:
    /// its persona prompt, and a memory of what was said. Replies go to stdout; prompts and notices to stderr.
    /// </summary>
    internal static class ChatCommand
    {
        /// <summary>What a chat runs with.</summary>
        internal sealed class Settings
        {
            public string ModelPath = "";
            public string? CharacterPath;
            public string? System;
            public int Gold = 20;
            public int MaxTokens = 128;
            public float Temperature = 0.7f;
            public ulong Seed = 1;
            public int Threads = new ModelOptions().Threads;
            public KernelBackend Backend = KernelBackend.Managed;
        }

        public static Command Create()
        {
            var model = CliOptions.Model();
            var character = new Option<string?>("--character", "-c") { Description = "Character JSON file: chat with that NPC (persona prompt, memory of the chat)" };
            var system = new Option<string?>("--system") { Description = "System message (without --character)" };
            var gold = new Option<int>("--gold") { Description = "Gold the player carries, as the character sees it", DefaultValueFactory = _ => 20 };
            var n = new Option<int>("--n-predict", "-n") { Description = "Tokens per reply at most", DefaultValueFactory = _ => 128 };
            var temp = new Option<float>("--temp") { Description = "Temperature (0 = greedy)", DefaultValueFactory = _ => 0.7f };
            var seed = new Option<ulong>("--seed", "-s") { Description = "Random seed", DefaultValueFactory = _ => 1UL };
            var threads = CliOptions.Threads();
            var backend = CliOptions.Backend();
            var cmd = new Command("chat", "Chat with a model (or one of its characters) in the terminal") { model, character, system, gold, n, temp, seed, threads, backend };
            cmd.SetAction(r => CliOptions.Guard(() => Run(new Settings
            {
                ModelPath = r.GetValue(model)!,
                CharacterPath = r.GetValue(character),
                System = r.GetValue(system),
                Gold = r.GetValue(gold),
                MaxTokens = r.GetValue(n),
                Temperature = r.GetValue(temp),
                Seed = r.GetValue(seed),
                Threads = r.GetValue(threads),
                Backend = CliOptions.ParseBackend(r.GetValue(backend)!),
            }, Console.In, Console.Out, Console.Error, interactive: !Console.IsInputRedirected && !Console.IsErrorRedirected)));
            return cmd;
        }

        /// <summary>A character file, its format errors turned into one clear line naming the file.</summary>
        private static Character LoadCharacter(string path)
        {
            try
            {
                return Character.Load(path);
            }
            catch (FormatException e)
            {
                throw new ArgumentException($"{path}: {e.Message}", e);
            }
        }

        /// <summary>Runs the chat until end of input or <c>/exit</c>; <c>/reset</c> forgets the conversation.</summary>
        internal static int Run(Settings s, TextReader input, TextWriter output, TextWriter notices, bool interactive)
        {
            if (s.CharacterPath != null && s.System != null) throw new ArgumentException("give --character or --system, not both");
            var character = s.CharacterPath != null ? LoadCharacter(s.CharacterPath) : null;
            Model model = null!;
            var options = new ModelOptions { Threads = s.Threads, Backend = s.Backend };
            if (interactive) AnsiConsole.Status().Start($"loading {Path.GetFileName(s.ModelPath)}", _ => model = Model.Load(s.ModelPath, options));
            else model = Model.Load(s.ModelPath, options);
            using (model)
            using (var generator = new LocalTextGenerator(model, maxSessions: 1))
            {
                var agent = character == null ? null : new NpcAgent(character, generator, new ToolRegistry(), new MemoryStore(),
                    new AgentOptions { MaxTokens = s.MaxTokens, Temperature = s.Temperature, Seed = s.Seed })
                {
                    Player = new PlayerState { Gold = s.Gold },
                };
                string speaker = character?.Name ?? "model";
                notices.WriteLine($"Chatting with {speaker} ({Path.GetFileName(s.ModelPath)}, {model.BackendDescription}). /reset forgets, /exit ends.");
                var history = new List<DialogueMessage>();
                if (s.System != null) history.Add(new DialogueMessage(DialogueRole.System, s.System));
                int turn = 0;
                while (true)
                {
                    notices.Write("> ");
                    notices.Flush();
                    string? line = input.ReadLine();
                    if (line == null || line.Trim() == "/exit" || line.Trim() == "/quit") break;
                    if (line.Trim().Length == 0) continue;
                    if (line.Trim() == "/reset")
                    {
                        agent?.ClearHistory();
                        history.RemoveRange(s.System != null ? 1 : 0, history.Count - (s.System != null ? 1 : 0));
                        notices.WriteLine("(conversation forgotten)");
                        continue;
                    }

                    turn++;
                    if (agent != null)
                    {
                        // One game hour per turn, so the memory stream's recency has something to work with.
                        var reply = agent.RespondAsync(line, gameHours: turn).GetAwaiter().GetResult();
                        output.WriteLine($"{speaker}: {reply.Text}");
                        foreach (var call in reply.ToolCalls) notices.WriteLine($"({speaker} called {call.Call})");
                    }
                    else
                    {
                        history.Add(new DialogueMessage(DialogueRole.User, line));
                        output.Write($"{speaker}: ");
                        var request = new ReplyRequest(history, Array.Empty<ToolSpec>())
                        {
                            MaxTokens = s.MaxTokens,
                            Temperature = s.Temperature,
                            Seed = s.Seed + (ulong)turn,
                            OnText = text =>
                            {
                                output.Write(text);
                                output.Flush();
                            },
                        };
                        var reply = generator.GenerateAsync(request).GetAwaiter().GetResult();
                        output.WriteLine();
                        history.Add(new DialogueMessage(DialogueRole.Assistant, reply.Text));
                    }
                    output.Flush();
                }
            }
            return 0;
        }
    }
}
