using System;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using NpcSdk.Agents.Dialogue;
using NpcSdk.Agents.Remote;
using Xunit;

namespace NpcSdk.Server.Tests
{
    /// <summary>A server started with an API key refuses requests without it.</summary>
    public sealed class ApiKeyTests
    {
        [Fact]
        public async Task Requests_Need_The_Bearer_Key_But_Health_Does_Not()
        {
            await using var server = NpcServer.Start(new NpcServerOptions { ModelPath = TestModels.NpcModel, Port = 0, Threads = 1, ApiKey = "sekrit-key" });
            using var http = new HttpClient { BaseAddress = new Uri(server.Url + "/") };
            string body = TestModels.Chat("Hello.", maxTokens: 4);

            using (var none = await http.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json")))
            {
                Assert.Equal(401, (int)none.StatusCode);
                var error = JsonDocument.Parse(await none.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
                Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
            }

            using (var wrong = new HttpRequestMessage(HttpMethod.Get, "v1/models"))
            {
                wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "sekrit-kez");
                using var response = await http.SendAsync(wrong);
                Assert.Equal(401, (int)response.StatusCode);
            }

            using (var health = await http.GetAsync("health")) Assert.Equal(200, (int)health.StatusCode);

            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "sekrit-key");
            using (var ok = await http.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json")))
                Assert.Equal(200, (int)ok.StatusCode);

            // This server has no embedding model.
            using (var none = await http.PostAsync("v1/embeddings", new StringContent("{\"input\": \"hi\"}", Encoding.UTF8, "application/json")))
            {
                Assert.Equal(404, (int)none.StatusCode);
                Assert.Equal("model_not_found", JsonDocument.Parse(await none.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
            }

            // The remote backend sends the key, and names the URL and status when it has the wrong one.
            var hello = new ReplyRequest(new[] { new DialogueMessage(DialogueRole.User, "Hello.") }, Array.Empty<ToolSpec>()) { MaxTokens = 4 };
            using (var keyed = new OpenAiTextGenerator(new Uri(server.Url), server.ModelId, "sekrit-key"))
                Assert.NotNull((await keyed.GenerateAsync(hello)).Text);
            using (var unkeyed = new OpenAiTextGenerator(new Uri(server.Url), server.ModelId))
            {
                var e = await Assert.ThrowsAsync<RemoteModelException>(() => unkeyed.GenerateAsync(hello));
                Assert.Equal(401, e.StatusCode);
                Assert.Contains(server.Url + "/v1/chat/completions", e.Message);
            }
        }

        [Fact]
        public void The_Server_Binds_To_Loopback_By_Default()
        {
            Assert.Equal("127.0.0.1", new NpcServerOptions().Host);
            Assert.Throws<System.IO.FileNotFoundException>(() => NpcServer.Start(new NpcServerOptions { ModelPath = "no/such/model.gguf", Port = 0 }));
            Assert.Throws<ArgumentException>(() => NpcServer.Start(new NpcServerOptions { ModelPath = TestModels.NpcModel, Host = "not a host", Port = 0 }));
        }
    }
}
