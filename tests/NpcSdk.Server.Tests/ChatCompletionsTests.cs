using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;

namespace NpcSdk.Server.Tests
{
    /// <summary>Chat completions over real HTTP: plain, streamed, with tools, with stop sequences.</summary>
    [Collection("server")]
    public sealed class ChatCompletionsTests
    {
        private readonly ServerFixture _server;

        public ChatCompletionsTests(ServerFixture server) => _server = server;

        [Fact]
        public async Task Health_And_Models_Answer()
        {
            var health = await _server.Http.GetStringAsync("health");
            Assert.Equal("ok", JsonDocument.Parse(health).RootElement.GetProperty("status").GetString());
            var models = JsonDocument.Parse(await _server.Http.GetStringAsync("v1/models")).RootElement;
            Assert.Equal("list", models.GetProperty("object").GetString());
            Assert.Equal("npc-q8_0", models.GetProperty("data")[0].GetProperty("id").GetString());
        }

        [Fact]
        public async Task A_Completion_Has_Text_Finish_Reason_And_Usage()
        {
            var (status, body) = await _server.PostAsync("v1/chat/completions", TestModels.Chat("Good morning! How are you today?"));
            Assert.Equal(200, status);
            var root = body.RootElement;
            Assert.Equal("chat.completion", root.GetProperty("object").GetString());
            Assert.StartsWith("chatcmpl-", root.GetProperty("id").GetString());
            var choice = root.GetProperty("choices")[0];
            Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
            Assert.False(string.IsNullOrWhiteSpace(choice.GetProperty("message").GetProperty("content").GetString()));
            Assert.Contains(choice.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
            var usage = root.GetProperty("usage");
            Assert.True(usage.GetProperty("prompt_tokens").GetInt32() > 50);
            Assert.True(usage.GetProperty("completion_tokens").GetInt32() > 0);
            Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
        }

        [Fact]
        public async Task Streamed_Text_Reassembles_To_The_Non_Streamed_Text()
        {
            string line = "What do you think of the new mayor?";
            var (_, whole) = await _server.PostAsync("v1/chat/completions", TestModels.Chat(line));
            var expected = whole.RootElement.GetProperty("choices")[0];

            using var response = await _server.Http.PostAsync("v1/chat/completions",
                new StringContent(TestModels.Chat(line, extra: ", \"stream\": true, \"stream_options\": {\"include_usage\": true}"), Encoding.UTF8, "application/json"));
            Assert.Equal(200, (int)response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
            var streamed = StreamedCompletion.Parse(await response.Content.ReadAsStringAsync());

            Assert.True(streamed.Done, "the stream ends with data: [DONE]");
            Assert.Equal(expected.GetProperty("message").GetProperty("content").GetString(), streamed.Text);
            Assert.Equal(expected.GetProperty("finish_reason").GetString(), streamed.FinishReason);
            Assert.True(streamed.Chunks.Count > 4, "text arrives in pieces");
            var usage = streamed.Chunks[streamed.Chunks.Count - 1].GetProperty("usage");
            Assert.Equal(whole.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32());
        }

        [Fact]
        public async Task The_Blacksmith_Sells_The_Sword_Through_A_Tool_Call()
        {
            var (status, body) = await _server.PostAsync("v1/chat/completions", TestModels.Chat("I'll buy the iron sword.", maxTokens: 64, tools: true));
            Assert.Equal(200, status);
            var choice = body.RootElement.GetProperty("choices")[0];
            Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
            var call = choice.GetProperty("message").GetProperty("tool_calls")[0];
            Assert.StartsWith("call_", call.GetProperty("id").GetString());
            Assert.Equal("function", call.GetProperty("type").GetString());
            Assert.Equal("sell_item", call.GetProperty("function").GetProperty("name").GetString());
            var args = JsonDocument.Parse(call.GetProperty("function").GetProperty("arguments").GetString()!).RootElement;
            Assert.Equal("iron sword", args.GetProperty("item").GetString());
            Assert.Equal(12, args.GetProperty("price").GetInt32());
            Assert.Equal(2, args.EnumerateObject().Count());

            // The same call streamed.
            using var response = await _server.Http.PostAsync("v1/chat/completions",
                new StringContent(TestModels.Chat("I'll buy the iron sword.", maxTokens: 64, tools: true, extra: ", \"stream\": true"), Encoding.UTF8, "application/json"));
            var streamed = StreamedCompletion.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal("tool_calls", streamed.FinishReason);
            Assert.Equal("sell_item", streamed.ToolName);
            Assert.Equal(call.GetProperty("function").GetProperty("arguments").GetString(), streamed.ToolArguments);
            Assert.Equal(choice.GetProperty("message").GetProperty("content").ValueKind == JsonValueKind.String ? choice.GetProperty("message").GetProperty("content").GetString() : "", streamed.Text);
        }

        [Fact]
        public async Task A_Tool_Result_Turn_Leads_To_The_Closing_Line()
        {
            string json = "{\"messages\": [" +
                "{\"role\": \"system\", \"content\": " + JsonSerializer.Serialize(TestModels.Blacksmith) + "}, " +
                "{\"role\": \"user\", \"content\": \"I'll buy the iron sword.\"}, " +
                "{\"role\": \"assistant\", \"content\": \"A fine choice. That's 12 gold.\", \"tool_calls\": [{\"id\": \"call_1\", \"type\": \"function\", \"function\": {\"name\": \"sell_item\", \"arguments\": \"{\\\"item\\\": \\\"iron sword\\\", \\\"price\\\": 12}\"}}]}, " +
                "{\"role\": \"tool\", \"tool_call_id\": \"call_1\", \"content\": \"{\\\"ok\\\": true, \\\"item\\\": \\\"iron sword\\\", \\\"player_gold\\\": 23}\"}], " +
                "\"temperature\": 0, \"max_tokens\": 48, \"tools\": " + TestModels.BlacksmithTools + "}";
            var (status, body) = await _server.PostAsync("v1/chat/completions", json);
            Assert.Equal(200, status);
            var choice = body.RootElement.GetProperty("choices")[0];
            Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
            Assert.Contains("sword", choice.GetProperty("message").GetProperty("content").GetString());
        }

        [Fact]
        public async Task A_Stop_Sequence_Ends_The_Text_Before_It()
        {
            string line = "Good morning! How are you today?";
            var (_, whole) = await _server.PostAsync("v1/chat/completions", TestModels.Chat(line));
            string full = whole.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
            string[] words = full.Split(' ');
            Assert.True(words.Length >= 3, full);
            string stop = " " + words[2];

            var (status, cut) = await _server.PostAsync("v1/chat/completions", TestModels.Chat(line, extra: ", \"stop\": [" + JsonSerializer.Serialize(stop) + "]"));

            Assert.Equal(200, status);
            var choice = cut.RootElement.GetProperty("choices")[0];
            Assert.Equal(full.Substring(0, full.IndexOf(stop, System.StringComparison.Ordinal)).TrimEnd(), choice.GetProperty("message").GetProperty("content").GetString());
            Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        }

        [Fact]
        public async Task A_Client_That_Leaves_Mid_Stream_Leaves_The_Server_Serving()
        {
            using (var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = new StringContent(TestModels.Chat("Tell me everything about Oakvale.", maxTokens: 200, extra: ", \"stream\": true"), Encoding.UTF8, "application/json"),
            })
            using (var response = await _server.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead))
            {
                using var reader = new System.IO.StreamReader(await response.Content.ReadAsStreamAsync());
                Assert.StartsWith("data: ", await reader.ReadLineAsync());
            }

            var (status, body) = await _server.PostAsync("v1/chat/completions", TestModels.Chat("Good morning!", maxTokens: 8));
            Assert.Equal(200, status);
            Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));
        }

        [Fact]
        public async Task Max_Tokens_Ends_With_Finish_Reason_Length()
        {
            var (status, body) = await _server.PostAsync("v1/chat/completions", TestModels.Chat("Tell me everything about Oakvale.", maxTokens: 3));
            Assert.Equal(200, status);
            Assert.Equal("length", body.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
            Assert.Equal(3, body.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }
    }
}
