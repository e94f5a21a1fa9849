using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using NpcSdk.Agents.Characters;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Local;
using NpcSdk.Agents.Memory;
using NpcSdk.Agents.Tools;
using NpcSdk.Models;
using NpcSdk.Saves;

namespace NpcSdk.Samples.Tavern
{
    /// <summary>
    /// A console game in a small tavern: talk to the blacksmith, the innkeeper and the guard on the bundled NPC model.
    /// Tool calls change the game (gold, inventory, doors); memories persist between runs with --save.
    /// </summary>
    internal static class Program
    {
        private static int Main(string[] args)
        {
            string model = Path.Combine("models", "npc-q8_0.gguf");
            string? script = null, save = null;
            string characters = Path.Combine(AppContext.BaseDirectory, "characters");
            bool json = false;
            ulong seed = 7;
            float temperature = 0.5f;
            int threads = Math.Max(1, Environment.ProcessorCount - 1);
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--model": case "-m": model = Next(); break;
                    case "--script": script = Next(); break;
                    case "--save": save = Next(); break;
                    case "--characters": characters = Next(); break;
                    case "--json": json = true; break;
                    case "--seed": seed = ulong.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--temp": temperature = float.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--threads": case "-t": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "-h": case "--help":
                        Console.WriteLine("Tavern [--model PATH] [--script FILE] [--save PATH] [--json] [--seed N] [--temp T] [--characters DIR]");
                        Console.WriteLine("Type lines as 'npc: what you say', the npc by role or name (blacksmith, innkeeper, guard). Empty line or 'quit' ends.");
                        return 0;
                    default: Console.Error.WriteLine($"unknown option {args[i]}"); return 2;
                }
            }

            try
            {
                return Run(model, script, save, characters, json, seed, temperature, threads);
            }
            catch (Exception e) when (e is SaveCorruptException || e is FileNotFoundException || e is NpcSdk.Gguf.GgufFormatException || e is FormatException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        }

        private static int Run(string modelPath, string? script, string? savePath, string charactersDir, bool json, ulong seed, float temperature, int threads)
        {
            using var model = Model.Load(modelPath, new ModelOptions { Threads = threads });
            using var generator = new LocalTextGenerator(model, maxSessions: 4);
            // Memory relevance by sentence embeddings when the MiniLM model is there, by BM25 otherwise.
            string minilm = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath)) ?? ".", "minilm-q8_0.gguf");
            using var embedder = File.Exists(minilm) ? LocalEmbedder.Load(minilm) : null;
            var world = new TavernWorld();
            var tools = new ToolRegistry().AddFrom(world);
            var player = new PlayerState { Gold = 35 };
            var options = new AgentOptions { Temperature = temperature, Seed = seed, MaxTokens = 80 };
            NpcAgent Build(Character c, MemoryStore memory)
            {
                var agent = new NpcAgent(c, generator, tools, memory, new AgentOptions { Temperature = options.Temperature, Seed = options.Seed, MaxTokens = options.MaxTokens }) { Player = player };
                return agent;
            }
            var npcs = Directory.GetFiles(charactersDir, "*.json").OrderBy(f => f, StringComparer.Ordinal)
                .Select(f => Build(Character.Load(f), new MemoryStore(embedder))).ToList();
            double hours = 18.0; // the first evening
            if (savePath != null)
            {
                var restored = new List<NpcAgent>();
                double? saved = TavernSave.Read(savePath, player, npcs, Build, restored);
                if (saved != null)
                {
                    npcs = restored;
                    hours = saved.Value + 24; // the next evening
                    if (!json) Console.WriteLine($"(loaded {savePath}: day {(int)(hours / 24) + 1}, {player.Gold} gold)");
                }
            }

            TextReader input = script != null ? new StringReader(File.ReadAllText(script)) : Console.In;
            if (!json && script == null) Console.WriteLine($"You enter the tavern with {player.Gold} gold. Talk to: {string.Join(", ", npcs.Select(n => $"{n.Character.Name} ({n.Character.Role})"))}.");
            string? line;
            while ((line = input.ReadLine()) != null)
            {
                line = line.Trim();
                if (line.Length == 0 || line.StartsWith("#")) { if (script == null && line.Length == 0) break; continue; }
                if (line == "quit") break;
                int colon = line.IndexOf(':');
                var target = colon > 0 ? Find(npcs, line.Substring(0, colon).Trim()) : null;
                if (target == null)
                {
                    Console.Error.WriteLine($"say 'npc: line' with npc one of: {string.Join(", ", npcs.Select(n => n.Character.Role))}");
                    continue;
                }
                string said = line.Substring(colon + 1).Trim();
                if (!json && script != null) Console.WriteLine($"> {target.Character.Role}: {said}");
                var reply = target.RespondAsync(said, hours).GetAwaiter().GetResult();
                hours += 0.1;
                if (json) Console.WriteLine(TurnJson(target, said, reply, player));
                else
                {
                    foreach (var m in reply.RecalledMemories) Console.WriteLine($"  [remembers] {m}");
                    Console.WriteLine($"{target.Character.Name}: {reply.Text}");
                    foreach (var c in reply.ToolCalls)
                        Console.WriteLine($"  [{(c.Rejected ? "refused" : c.Result.Ok ? "event" : "failed")}] {c.Call.Name}({string.Join(", ", c.Call.Arguments.Values.Select(v => v.ToString()))}) -> {c.Result.ToJson()}");
                }
            }
            if (savePath != null)
            {
                TavernSave.Write(savePath, hours, player, npcs);
                if (!json) Console.WriteLine($"(saved to {savePath})");
            }
            if (!json) Console.WriteLine($"You leave with {player.Gold} gold{(player.Inventory.Count > 0 ? " and " + string.Join(", ", player.Inventory) : "")}.");
            return 0;
        }

        private static NpcAgent? Find(List<NpcAgent> npcs, string who) =>
            npcs.FirstOrDefault(n => string.Equals(n.Character.Role, who, StringComparison.OrdinalIgnoreCase))
            ?? npcs.FirstOrDefault(n => string.Equals(n.Character.Name, who, StringComparison.OrdinalIgnoreCase)
                                     || string.Equals(n.Character.Name.Split(' ')[0], who, StringComparison.OrdinalIgnoreCase));

        private static string TurnJson(NpcAgent npc, string said, AgentReply reply, PlayerState player)
        {
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                w.WriteStartObject();
                w.WriteString("npc", npc.Character.Name);
                w.WriteString("player", said);
                w.WriteString("text", reply.Text);
                w.WriteStartArray("tool_calls");
                foreach (var c in reply.ToolCalls)
                {
                    w.WriteStartObject();
                    w.WriteString("name", c.Call.Name);
                    w.WritePropertyName("arguments");
                    w.WriteStartObject();
                    foreach (var a in c.Call.Arguments) { w.WritePropertyName(a.Key); a.Value.WriteTo(w); }
                    w.WriteEndObject();
                    w.WritePropertyName("result");
                    using (var doc = JsonDocument.Parse(c.Result.ToJson())) doc.RootElement.WriteTo(w);
                    w.WriteBoolean("rejected", c.Rejected);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNumber("gold", player.Gold);
                w.WriteStartArray("memories");
                foreach (var m in reply.RecalledMemories) w.WriteStringValue(m);
                w.WriteEndArray();
                w.WriteStartArray("inventory");
                foreach (var i in player.Inventory) w.WriteStringValue(i);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(ms.ToArray());
        }
    }
}
