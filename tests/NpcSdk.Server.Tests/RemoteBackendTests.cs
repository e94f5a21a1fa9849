using System;
using System.ClientModel;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.AI;
using NpcSdk.Agents.Characters;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Remote;
using NpcSdk.Agents.Tools;
using OpenAI;
using Xunit;

namespace NpcSdk.Server.Tests
{
    /// <summary>Clients of the server: the agent layer's remote backend, and the OpenAI SDK's IChatClient.</summary>
    [Collection("server")]
    public sealed class RemoteBackendTests
    {
        private readonly ServerFixture _server;

        public RemoteBackendTests(ServerFixture server) => _server = server;

        /// <summary>The game's shop: sells from the NPC's inventory and logs what ran.</summary>
        private sealed class Shop
        {
            public readonly List<string> Log = new List<string>();

            [NpcTool("sell_item", "sell an item from your inventory to the player", Memory = "The player bought the {item} from you for {price} gold.")]
            public ToolResult SellItem([Choices(ChoiceSource.Inventory)] string item, int price, ToolContext ctx)
            {
                var stock = ctx.Npc.FindItem(item)!;
                if (price < stock.Price) return ToolResult.Failure($"the {item} costs {stock.Price} gold");
                if (ctx.Player.Gold < price) return ToolResult.Failure("the player cannot pay", ("player_gold", ctx.Player.Gold));
                ctx.Player.Gold -= price;
                ctx.Player.Inventory.Add(stock.Name);
                Log.Add($"sell_item({stock.Name}, {price})");
                return ToolResult.Success(("item", stock.Name), ("player_gold", ctx.Player.Gold));
            }
        }

        private static Character Brom() => new Character("Brom Ironhand", "blacksmith")
        {
            Town = "Oakvale",
            Personality = "gruff, speaks in short, blunt sentences",
            Location = "the forge, Oakvale",
            Inventory = { new InventoryItem("iron sword", 12), new InventoryItem("horseshoe", 2) },
            Tools = { "sell_item", "remember" },
        };

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public async Task An_Agent_On_The_Remote_Backend_Sells_The_Sword_Through_A_Real_Tool_Call(bool streamed)
        {
            using var generator = new OpenAiTextGenerator(new Uri(_server.Server.Url + "/v1"), _server.Server.ModelId);
            var shop = new Shop();
            var agent = new NpcAgent(Brom(), generator, new ToolRegistry().AddFrom(shop), options: new AgentOptions { Temperature = 0, MaxSteps = 2 })
            {
                Player = new PlayerState { Name = "Aria", Gold = 35 },
            };
            var heard = new StringBuilder();
            if (streamed) agent = Streaming(agent, heard);

            var reply = await agent.RespondAsync("I'll buy the iron sword.", 10);

            Assert.Equal(new[] { "sell_item(iron sword, 12)" }, shop.Log);
            Assert.Equal(23, agent.Player.Gold);
            Assert.Contains("iron sword", agent.Player.Inventory);
            var call = Assert.Single(reply.ToolCalls);
            Assert.False(call.Rejected);
            Assert.True(call.Result.Ok);
            Assert.False(string.IsNullOrWhiteSpace(reply.Text));
            if (streamed) Assert.False(string.IsNullOrWhiteSpace(heard.ToString()));
        }

        /// <summary>The same agent with a generator that asks for streamed text.</summary>
        private static NpcAgent Streaming(NpcAgent agent, StringBuilder heard) =>
            new NpcAgent(agent.Character, new StreamingGenerator(agent.Generator, heard), agent.Tools, options: agent.Options) { Player = agent.Player };

        private sealed class StreamingGenerator : ITextGenerator
        {
            private readonly ITextGenerator _inner;
            private readonly StringBuilder _heard;

            public StreamingGenerator(ITextGenerator inner, StringBuilder heard)
            {
                _inner = inner;
                _heard = heard;
            }

            public Task<GeneratedReply> GenerateAsync(ReplyRequest request, System.Threading.CancellationToken cancellationToken = default)
            {
                request.OnText = piece => { lock (_heard) _heard.Append(piece); };
                return _inner.GenerateAsync(request, cancellationToken);
            }
        }

        [Fact]
        public async Task The_OpenAI_SDK_Chat_Client_Calls_A_Function_Through_The_Server()
        {
            var client = new OpenAI.Chat.ChatClient(_server.Server.ModelId, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(_server.Server.Url + "/v1") });
            var sold = new List<string>();
            var sellItem = AIFunctionFactory.Create(
                (string item, int price) =>
                {
                    sold.Add($"{item}:{price}");
                    return "{\"ok\": true, \"item\": \"iron sword\", \"player_gold\": 23}";
                },
                "sell_item",
                "sell an item from your inventory to the player");
            using var chat = new ChatClientBuilder(client.AsIChatClient()).UseFunctionInvocation().Build();

            var response = await chat.GetResponseAsync(
                new[] { new ChatMessage(ChatRole.System, TestModels.Blacksmith), new ChatMessage(ChatRole.User, "I'll buy the iron sword.") },
                new ChatOptions { Tools = new List<AITool> { sellItem }, Temperature = 0, MaxOutputTokens = 64 });

            Assert.Equal(new[] { "iron sword:12" }, sold);
            Assert.False(string.IsNullOrWhiteSpace(response.Messages.Last().Text));

            var streamed = new StringBuilder();
            await foreach (var update in client.AsIChatClient().GetStreamingResponseAsync(
                new[] { new ChatMessage(ChatRole.System, TestModels.Blacksmith), new ChatMessage(ChatRole.User, "Good morning!") },
                new ChatOptions { Temperature = 0, MaxOutputTokens = 24 }))
                streamed.Append(update.Text);
            Assert.False(string.IsNullOrWhiteSpace(streamed.ToString()));
        }
    }
}
