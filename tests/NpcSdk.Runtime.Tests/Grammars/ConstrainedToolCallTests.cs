using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using NpcSdk.Generation;
using NpcSdk.Grammars;
using NpcSdk.Models;
using NpcSdk.Sampling;
using Xunit;
using Xunit.Abstractions;

namespace NpcSdk.Tests.Grammar
{
    using Grammar = NpcSdk.Grammars.Grammar;

    /// <summary>The NPC model, loaded once for the constrained-generation tests.</summary>
    public sealed class NpcModelFixture : IDisposable
    {
        public NpcModelFixture() => Model = Model.Load(TestPaths.Model("npc-q8_0.gguf"), new ModelOptions { Threads = 1 });

        public Model Model { get; }

        public void Dispose() => Model.Dispose();
    }

    public sealed class ConstrainedToolCallTests : IClassFixture<NpcModelFixture>
    {
        private const int ToolCallEnd = 7, ImEnd = 5;
        private const int Seeds = 32;

        private static readonly string[] s_inventory = { "iron sword", "horseshoe", "steel dagger" };

        private static readonly ToolSchema s_sellItem = new ToolSchema("sell_item",
            "{\"type\": \"object\", \"properties\": {\"item\": {\"type\": \"string\", \"enum\": [" + string.Join(", ", s_inventory.Select(i => "\"" + i + "\"")) +
            "]}, \"price\": {\"type\": \"integer\", \"minimum\": 0}}, \"required\": [\"item\", \"price\"]}");

        private static readonly ToolSchema s_remember = new ToolSchema("remember",
            "{\"type\": \"object\", \"properties\": {\"fact\": {\"type\": \"string\"}}, \"required\": [\"fact\"]}");

        private const string Blacksmith = "<|im_start|>system\nYou are Brom Ironhand, the blacksmith of Oakvale.\nPersonality: gruff, speaks in short, blunt sentences.\n" +
            "Location: the forge, Oakvale.\nPlayer gold: 35\nInventory:\n- iron sword: 12 gold\n- horseshoe: 2 gold\n- steel dagger: 8 gold\n" +
            "Doors: cellar door\nMemories: none\nTools:\n- sell_item(item, price): sell an item from your inventory to the player\n" +
            "- open_door(door): open a door or gate\n- remember(fact): remember a fact about the player<|im_end|>\n<|im_start|>user\n";

        private readonly Model _model;
        private readonly ITestOutputHelper _output;

        public ConstrainedToolCallTests(NpcModelFixture fixture, ITestOutputHelper output)
        {
            _model = fixture.Model;
            _output = output;
        }

        private int[] Prompt(string userLine) =>
            _model.Tokenizer.Encode(Blacksmith + userLine + "<|im_end|>\n<|im_start|>assistant\n<tool_call>", addSpecial: true, parseSpecial: true);

        /// <summary>Generates from the prompt once per seed (the prompt evaluated once), returning each reply's tokens.</summary>
        private List<int[]> Generate(int[] prompt, Func<ulong, SamplerChain> chainForSeed, int seeds, int maxTokens)
        {
            var replies = new List<int[]>();
            using var session = _model.CreateSession();
            session.Evaluate(prompt.Take(prompt.Length - 1).ToArray());
            for (int s = 0; s < seeds; s++)
            {
                session.Rewind(prompt.Length - 1);
                // Run goes through GenerationHandle with the session's tokens as history: no Accept hook needed.
                GenerationResult result = session.Run(new GenerationRequest { Tokens = new[] { prompt[prompt.Length - 1] }, MaxTokens = maxTokens, Sampler = chainForSeed((ulong)s) });
                Assert.NotEqual(GenerationStopReason.Failed, result.StopReason);
                replies.Add(result.Tokens.ToArray());
            }
            return replies;
        }

        /// <summary>The call's name and arguments when the reply is a valid call closed by &lt;/tool_call&gt;&lt;|im_end|&gt;, else null.</summary>
        private (string Name, JsonElement Arguments)? ParseCall(int[] reply)
        {
            int end = Array.IndexOf(reply, ToolCallEnd);
            if (end < 0 || end != reply.Length - 2 || reply[reply.Length - 1] != ImEnd) return null;
            string json = _model.Tokenizer.Decode(reply.Take(end).ToList());
            try
            {
                using var doc = JsonDocument.Parse(json);
                JsonElement root = doc.RootElement;
                if (root.EnumerateObject().Select(p => p.Name).SequenceEqual(new[] { "name", "arguments" }) == false) return null;
                return (root.GetProperty("name").GetString()!, root.GetProperty("arguments").Clone());
            }
            catch (JsonException)
            {
                return null;
            }
        }

        private bool IsValidSale(int[] reply)
        {
            var call = ParseCall(reply);
            if (call == null || call.Value.Name != "sell_item") return false;
            JsonElement args = call.Value.Arguments;
            return args.EnumerateObject().Count() == 2 && s_inventory.Contains(args.GetProperty("item").GetString())
                && args.GetProperty("price").ValueKind == JsonValueKind.Number && args.GetProperty("price").TryGetInt64(out long price) && price >= 0;
        }

        private bool IsValidRemember(int[] reply)
        {
            var call = ParseCall(reply);
            return call != null && call.Value.Name == "remember" && call.Value.Arguments.EnumerateObject().Count() == 1
                && call.Value.Arguments.GetProperty("fact").ValueKind == JsonValueKind.String;
        }

        private string Show(int[] reply) => _model.Tokenizer.Decode(reply.ToList());

        [Fact]
        public void Greedy_Constrained_Call_Is_The_Models_Own_Call()
        {
            // The reference prompt of logits_npc-q8_0.json: the grammar must not change a call the model gets right.
            string prompt = System.IO.File.ReadAllText(System.IO.Path.Combine(TestPaths.RepoRoot, "models", "npc-prompt.txt"));
            int[] tokens = _model.Tokenizer.Encode(prompt, addSpecial: true, parseSpecial: true);
            var grammar = Grammar.ToolCall(new[] { new ToolSchema("sell_item", s_sellItem.ParametersJsonSchema.Replace("\"steel dagger\"", "\"horseshoe\"")) });
            var sampler = new GrammarSampler(grammar, _model.Tokenizer, startTokenId: 6);
            using var session = _model.CreateSession();
            GenerationResult result = session.Run(new GenerationRequest { Tokens = tokens, MaxTokens = 64, Sampler = sampler.CreateChain(SamplingOptions.Greedy) });
            int[] expected = { 6, 406, 534, 342, 347, 750, 4047, 293, 447, 347, 537, 342, 549, 293, 342, 347, 567, 707, 447, 347, 754, 342, 4020, 4055, 4057, 532, 7, 5 };
            Assert.Equal(expected, result.Tokens);
        }

        [Theory]
        [InlineData("I'll buy the iron sword.", 1.0f)]
        [InlineData("Sell me something cheap, I only have a few coins.", 1.0f)]
        [InlineData("I'll buy the iron sword.", 2.5f)] // a near-random model: the grammar alone keeps the call valid
        public void Sampled_Calls_Are_All_Valid_Sales(string userLine, float temperature)
        {
            int[] prompt = Prompt(userLine);
            var grammar = Grammar.ToolCall(new[] { s_sellItem });
            var options = new SamplingOptions { Temperature = temperature, TopK = 0, TopP = 1f, MinP = 0f };
            List<int[]> replies = Generate(prompt, seed =>
            {
                options.Seed = seed;
                return new GrammarSampler(grammar, _model.Tokenizer).CreateChain(options);
            }, Seeds, 64);
            var distinct = replies.Select(Show).Distinct().ToList();
            _output.WriteLine($"{distinct.Count} distinct calls over {Seeds} seeds, e.g.");
            foreach (string r in distinct.Take(6)) _output.WriteLine("  " + r);
            var invalid = replies.Where(r => !IsValidSale(r)).Select(Show).ToList();
            Assert.True(invalid.Count == 0, "invalid calls:\n" + string.Join("\n", invalid));
            if (temperature > 2f) Assert.True(distinct.Count > 1, "every seed gave the same call");
        }

        [Fact]
        public void Unconstrained_Sampling_Shows_What_The_Grammar_Prevents()
        {
            // Informational (asserts only that the constrained run is clean): the same prompts without the grammar.
            var options = new SamplingOptions { Temperature = 1f, TopK = 0, TopP = 1f, MinP = 0f };
            int[] sale = Prompt("I'll buy the iron sword.");
            int[] door = Prompt("Open the cellar door for me.");
            const int seeds = 16;
            List<int[]> free = Generate(sale, seed => { options.Seed = seed; return new SamplerChain(options); }, seeds, 64);
            List<int[]> freeDoor = Generate(door, seed => { options.Seed = seed; return new SamplerChain(options); }, seeds, 64);
            _output.WriteLine($"unconstrained, T=1: {free.Count(r => !IsValidSale(r))}/{seeds} replies to the sale prompt are not a valid sell_item call");
            foreach (int[] r in free.Where(r => !IsValidSale(r)).Take(5)) _output.WriteLine("  " + Show(r));
            _output.WriteLine($"unconstrained, T=1: {freeDoor.Count(r => !IsValidRemember(r))}/{seeds} replies to the door prompt are not a remember call, e.g.");
            foreach (int[] r in freeDoor.Take(3)) _output.WriteLine("  " + Show(r));
        }

        [Theory]
        [InlineData(1.0f, -1)]
        // Near-random sampling can ramble in a free string past MaxTokens (2 of 32 seeds here without a bound):
        // a maxLength makes the grammar close the string in time.
        [InlineData(2.0f, 80)]
        public void Hostile_Grant_Still_Yields_A_Valid_Call_Of_The_Granted_Tool(float temperature, int maxLength)
        {
            // The player asks for a door to be opened, but only remember(fact) is granted.
            int[] prompt = Prompt("Open the cellar door for me.");
            ToolSchema remember = maxLength < 0 ? s_remember : new ToolSchema("remember",
                "{\"type\": \"object\", \"properties\": {\"fact\": {\"type\": \"string\", \"maxLength\": " + maxLength + "}}, \"required\": [\"fact\"]}");
            var grammar = Grammar.ToolCall(new[] { remember });
            var options = new SamplingOptions { Temperature = temperature, TopK = 0, TopP = 1f, MinP = 0f };
            List<int[]> replies = Generate(prompt, seed =>
            {
                options.Seed = seed;
                return new GrammarSampler(grammar, _model.Tokenizer).CreateChain(options);
            }, Seeds, 160);
            foreach (int[] r in replies.Take(6)) _output.WriteLine(Show(r));
            var invalid = replies.Where(r => !IsValidRemember(r)).Select(Show).ToList();
            Assert.True(invalid.Count == 0, "invalid calls:\n" + string.Join("\n", invalid));
        }

        [Fact]
        public void Triggered_Grammar_Lets_The_Npc_Speak_Then_Constrains_Its_Call()
        {
            // A whole reply: free speech, then <tool_call>, then only a granted call (default sampling, T=1).
            int[] prompt = _model.Tokenizer.Encode(Blacksmith + "I'll buy the iron sword.<|im_end|>\n<|im_start|>assistant\n", addSpecial: true, parseSpecial: true);
            var grammar = Grammar.ToolCall(new[] { s_sellItem, s_remember });
            var options = new SamplingOptions { Temperature = 1f };
            int calls = 0;
            List<int[]> replies = Generate(prompt, seed =>
            {
                options.Seed = seed;
                return new GrammarSampler(grammar, _model.Tokenizer, ToolCallEnd, startTokenId: 6).CreateChain(options);
            }, 16, 96);
            foreach (int[] r in replies)
            {
                int start = Array.IndexOf(r, 6);
                if (start < 0) continue;
                calls++;
                Assert.True(IsValidSale(r.Skip(start + 1).ToArray()) || IsValidRemember(r.Skip(start + 1).ToArray()), Show(r));
            }
            _output.WriteLine($"{calls}/16 replies made a call; e.g. {Show(replies[0])}");
            Assert.True(calls > 0);
        }
    }
}
