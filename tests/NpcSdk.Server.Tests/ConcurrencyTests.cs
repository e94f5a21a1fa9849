using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace NpcSdk.Server.Tests
{
    /// <summary>Clients served at the same time each get the answer they would get alone.</summary>
    [Collection("server")]
    public sealed class ConcurrencyTests
    {
        private static readonly string[] Lines =
        {
            "Good morning!",
            "How much is the horseshoe?",
            "I'll buy the iron sword.",
            "Do you know any good taverns?",
            "What are you working on today?",
            "Can you fix my shield?",
            "Have you seen any wolves lately?",
            "Goodbye, Brom.",
        };

        private readonly ServerFixture _server;
        private readonly ITestOutputHelper _out;

        public ConcurrencyTests(ServerFixture server, ITestOutputHelper output)
        {
            _server = server;
            _out = output;
        }

        private async Task<string> AnswerAsync(string line)
        {
            var (status, body) = await _server.PostAsync("v1/chat/completions", TestModels.Chat(line, maxTokens: 40, tools: true));
            Assert.Equal(200, status);
            var choice = body.RootElement.GetProperty("choices")[0];
            var message = choice.GetProperty("message");
            string calls = message.TryGetProperty("tool_calls", out var c) ? c[0].GetProperty("function").GetRawText() : "";
            return $"{message.GetProperty("content")} | {calls} | {choice.GetProperty("finish_reason").GetString()}";
        }

        [Fact]
        public async Task Eight_Concurrent_Clients_Get_The_Answers_They_Get_Alone()
        {
            var alone = new string[Lines.Length];
            for (int i = 0; i < Lines.Length; i++) alone[i] = await AnswerAsync(Lines[i]);

            var together = await Task.WhenAll(Lines.Select(line => Task.Run(() => AnswerAsync(line))));

            for (int i = 0; i < Lines.Length; i++)
            {
                _out.WriteLine($"{Lines[i]} -> {together[i]}");
                Assert.Equal(alone[i], together[i]);
            }
            Assert.Equal(Lines.Length, alone.Distinct().Count());
            Assert.Equal("ok", JsonDocument.Parse(await _server.Http.GetStringAsync("health")).RootElement.GetProperty("status").GetString());
        }
    }
}
