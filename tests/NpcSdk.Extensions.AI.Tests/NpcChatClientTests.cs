using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Microsoft.Extensions.AI;
using Xunit;

namespace NpcSdk.Extensions.AI.Tests
{
    /// <summary>The chat client on the bundled NPC model, alone and under Microsoft.Extensions.AI's function invocation.</summary>
    public sealed class NpcChatClientTests : IClassFixture<NpcModelFixture>
    {
        private readonly NpcModelFixture _fixture;

        public NpcChatClientTests(NpcModelFixture fixture) => _fixture = fixture;

        private static List<ChatMessage> Purchase() => new List<ChatMessage>
        {
            new ChatMessage(ChatRole.System, TestModels.BlacksmithWithoutTools),
            new ChatMessage(ChatRole.User, "I'll buy the iron sword."),
        };

        private static ChatMessage[] SmallTalk() => new[]
        {
            new ChatMessage(ChatRole.System, TestModels.BlacksmithWithoutTools),
            new ChatMessage(ChatRole.User, "Nice weather today, isn't it?"),
        };

        [Fact]
        public async Task A_Registered_Function_Is_Called_By_The_Model_And_The_Final_Text_Arrives()
        {
            var calls = new List<(string Item, int Price)>();
            var sellItem = AIFunctionFactory.Create(
                (string item, int price) =>
                {
                    calls.Add((item, price));
                    return "{\"ok\": true, \"item\": \"iron sword\", \"player_gold\": 23}";
                },
                "sell_item",
                "sell an item from your inventory to the player");
            using var npc = new NpcChatClient(_fixture.Model);
            using var client = new ChatClientBuilder(npc).UseFunctionInvocation().Build();

            var response = await client.GetResponseAsync(Purchase(), new ChatOptions { Tools = new List<AITool> { sellItem }, Temperature = 0, MaxOutputTokens = 64 });

            Assert.Equal(new[] { ("iron sword", 12) }, calls);
            var call = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Single();
            Assert.Equal("sell_item", call.Name);
            var result = response.Messages.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Single();
            Assert.Equal(call.CallId, result.CallId);
            var final = response.Messages.Last();
            Assert.Equal(ChatRole.Assistant, final.Role);
            Assert.False(string.IsNullOrWhiteSpace(final.Text));
            Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
        }

        [Fact]
        public async Task Streaming_Under_Function_Invocation_Runs_The_Function_And_Streams_The_Closing_Line()
        {
            var calls = new List<string>();
            var sellItem = AIFunctionFactory.Create(
                (string item, int price) =>
                {
                    calls.Add($"{item}:{price}");
                    return "{\"ok\": true, \"item\": \"iron sword\", \"player_gold\": 23}";
                },
                "sell_item",
                "sell an item from your inventory to the player");
            using var npc = new NpcChatClient(_fixture.Model);
            using var client = new ChatClientBuilder(npc).UseFunctionInvocation().Build();

            var text = new StringBuilder();
            var contents = new List<AIContent>();
            await foreach (var update in client.GetStreamingResponseAsync(Purchase(), new ChatOptions { Tools = new List<AITool> { sellItem }, Temperature = 0, MaxOutputTokens = 64 }))
            {
                text.Append(update.Text);
                contents.AddRange(update.Contents);
            }

            Assert.Equal(new[] { "iron sword:12" }, calls);
            Assert.Single(contents.OfType<FunctionCallContent>());
            Assert.Single(contents.OfType<FunctionResultContent>());
            Assert.False(string.IsNullOrWhiteSpace(text.ToString()));
        }

        [Fact]
        public async Task Without_Function_Invocation_The_Call_Comes_Back_As_FunctionCallContent()
        {
            var declaration = AIFunctionFactory.Create((string item, int price) => "", "sell_item", "sell an item from your inventory to the player").AsDeclarationOnly();
            using var client = new NpcChatClient(_fixture.Model);

            var response = await client.GetResponseAsync(Purchase(), new ChatOptions { Tools = new List<AITool> { declaration }, Temperature = 0, MaxOutputTokens = 64 });

            Assert.Equal(ChatFinishReason.ToolCalls, response.FinishReason);
            var call = Assert.Single(response.Messages.Single().Contents.OfType<FunctionCallContent>());
            Assert.Equal("sell_item", call.Name);
            Assert.Equal("iron sword", call.Arguments!["item"]!.ToString());
            Assert.Equal("12", call.Arguments!["price"]!.ToString());
            Assert.True(response.Usage!.InputTokenCount > 50);
            Assert.True(response.Usage.OutputTokenCount > 5);
        }

        [Fact]
        public async Task Streamed_Text_Adds_Up_To_The_Whole_Response()
        {
            using var client = new NpcChatClient(_fixture.Model);
            var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 48, Seed = 7 };

            var whole = await client.GetResponseAsync(SmallTalk(), options);
            var streamed = new StringBuilder();
            int updates = 0;
            ChatFinishReason? finish = null;
            await foreach (var update in client.GetStreamingResponseAsync(SmallTalk(), options))
            {
                streamed.Append(update.Text);
                if (update.Text.Length > 0) updates++;
                finish ??= update.FinishReason;
            }

            Assert.False(string.IsNullOrWhiteSpace(whole.Text));
            Assert.Equal(whole.Text, streamed.ToString());
            Assert.True(updates > 1, $"expected the text in several pieces, got {updates}");
            Assert.Equal(whole.FinishReason, finish);
        }

        [Fact]
        public async Task A_Stop_Sequence_Cuts_The_Text_Before_It()
        {
            using var client = new NpcChatClient(_fixture.Model);
            var options = new ChatOptions { Temperature = 0, MaxOutputTokens = 48 };
            string full = (await client.GetResponseAsync(SmallTalk(), options)).Text;
            string[] words = full.Split(' ');
            Assert.True(words.Length >= 3, full);
            string stop = " " + words[2];
            options.StopSequences = new List<string> { stop };

            var cut = await client.GetResponseAsync(SmallTalk(), options);

            Assert.Equal(full.Substring(0, full.IndexOf(stop, System.StringComparison.Ordinal)).TrimEnd(), cut.Text);
            Assert.Equal(ChatFinishReason.Stop, cut.FinishReason);
        }
    }
}
