using System.Collections.Generic;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;

namespace NpcSdk.Server.Tests
{
    /// <summary>Bad requests get HTTP 400 with an OpenAI-style error body, and the server keeps serving.</summary>
    [Collection("server")]
    public sealed class MalformedRequestTests
    {
        private readonly ServerFixture _server;

        public MalformedRequestTests(ServerFixture server) => _server = server;

        private const string User = "{\"role\": \"user\", \"content\": \"Hello\"}";

        private static string With(string fields) => "{\"messages\": [" + User + "], " + fields + "}";

        private static string Tool(string function) => With("\"tools\": [{\"type\": \"function\", \"function\": " + function + "}]");

        /// <summary>Each malformed body, and the param its error must name (null: none).</summary>
        public static IEnumerable<object?[]> Bodies()
        {
            yield return new object?[] { "not json", "{\"messages\": [", null };
            yield return new object?[] { "empty body", "", null };
            yield return new object?[] { "array root", "[]", "body" };
            yield return new object?[] { "no messages", "{\"model\": \"npc-q8_0\"}", "messages" };
            yield return new object?[] { "messages a string", "{\"messages\": \"Hello\"}", "messages" };
            yield return new object?[] { "messages empty", "{\"messages\": []}", "messages" };
            yield return new object?[] { "message a number", "{\"messages\": [42]}", "messages[0]" };
            yield return new object?[] { "unknown role", "{\"messages\": [{\"role\": \"wizard\", \"content\": \"Hi\"}]}", "messages[0].role" };
            yield return new object?[] { "role a number", "{\"messages\": [{\"role\": 1, \"content\": \"Hi\"}]}", "messages[0].role" };
            yield return new object?[] { "content a number", "{\"messages\": [{\"role\": \"user\", \"content\": 42}]}", "messages[0].content" };
            yield return new object?[] { "user without content", "{\"messages\": [{\"role\": \"user\"}]}", "messages[0].content" };
            yield return new object?[] { "image part", "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}]}]}", "messages[0].content[0].type" };
            yield return new object?[] { "temperature a string", With("\"temperature\": \"hot\""), "temperature" };
            yield return new object?[] { "temperature too high", With("\"temperature\": 5"), "temperature" };
            yield return new object?[] { "max_tokens over the limit", With("\"max_tokens\": 100000"), "max_tokens" };
            yield return new object?[] { "max_tokens zero", With("\"max_tokens\": 0"), "max_tokens" };
            yield return new object?[] { "max_tokens fractional", With("\"max_tokens\": 1.5"), "max_tokens" };
            yield return new object?[] { "seed a string", With("\"seed\": \"abc\""), "seed" };
            yield return new object?[] { "stream a string", With("\"stream\": \"yes\""), "stream" };
            yield return new object?[] { "stop a number", With("\"stop\": 42"), "stop" };
            yield return new object?[] { "two choices", With("\"n\": 2"), "n" };
            yield return new object?[] { "tools an object", With("\"tools\": {}"), "tools" };
            yield return new object?[] { "tool without a name", Tool("{\"description\": \"x\"}"), "tools[0].function.name" };
            yield return new object?[] { "tool schema not an object type", Tool("{\"name\": \"sell_item\", \"parameters\": {\"type\": \"string\"}}"), "tools[0].function.parameters.type" };
            yield return new object?[] { "tool schema requires a missing property", Tool("{\"name\": \"sell_item\", \"parameters\": {\"type\": \"object\", \"properties\": {\"item\": {\"type\": \"string\"}}, \"required\": [\"price\"]}}"), "tools[0].function.parameters.required" };
            yield return new object?[] { "tool schema the decoder cannot constrain", Tool("{\"name\": \"greet\", \"parameters\": {\"type\": \"object\", \"properties\": {\"name\": {\"type\": \"string\", \"pattern\": \"^[A-Z]\"}}}}"), "tools[0].function.parameters" };
            yield return new object?[] { "tool_choice names no tool", With("\"tool_choice\": {\"type\": \"function\", \"function\": {\"name\": \"fly\"}}"), "tool_choice.function.name" };
            yield return new object?[] { "prompt longer than the context", "{\"messages\": [{\"role\": \"user\", \"content\": \"" + string.Concat(System.Linq.Enumerable.Repeat("The wolves came down from the hills again. ", 120)) + "\"}]}", "messages" };
            yield return new object?[] { "tool call arguments not JSON",
                "{\"messages\": [" + User + ", {\"role\": \"assistant\", \"tool_calls\": [{\"id\": \"c\", \"type\": \"function\", \"function\": {\"name\": \"sell_item\", \"arguments\": \"{item: sword\"}}]}]}",
                "messages[1].tool_calls[0].function.arguments" };
        }

        [Theory]
        [MemberData(nameof(Bodies))]
        public async Task A_Malformed_Request_Gets_400_With_An_Error_Body(string what, string json, string? param)
        {
            using var response = await _server.Http.PostAsync("v1/chat/completions", new StringContent(json, Encoding.UTF8, "application/json"));
            string text = await response.Content.ReadAsStringAsync();
            Assert.True(400 == (int)response.StatusCode, $"{what}: HTTP {(int)response.StatusCode} {text}");
            AssertErrorBody(text, param);
        }

        [Fact]
        public async Task A_Body_Over_The_Size_Limit_Gets_400_And_The_Server_Still_Answers()
        {
            string big = With("\"user\": \"" + new string('x', (int)ServerFixture.BodyLimit) + "\"");
            using (var response = await _server.Http.PostAsync("v1/chat/completions", new StringContent(big, Encoding.UTF8, "application/json")))
            {
                Assert.Equal(400, (int)response.StatusCode);
                var error = AssertErrorBody(await response.Content.ReadAsStringAsync(), null);
                Assert.Equal("request_too_large", error.GetProperty("code").GetString());
            }

            // Chunked, so the server finds out while reading.
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new PushContent(Encoding.UTF8.GetBytes(big)) };
            using (var response = await _server.Http.SendAsync(request))
                Assert.Equal(400, (int)response.StatusCode);

            await AssertServerHealthyAsync();
        }

        [Fact]
        public async Task After_Every_Malformed_Request_The_Server_Is_Healthy_And_Answers()
        {
            foreach (var body in Bodies())
            {
                using var response = await _server.Http.PostAsync("v1/chat/completions", new StringContent((string)body[1]!, Encoding.UTF8, "application/json"));
                Assert.Equal(400, (int)response.StatusCode);
            }
            await AssertServerHealthyAsync();
        }

        [Fact]
        public async Task Unknown_Paths_And_Embeddings_Errors_Are_OpenAi_Errors_Too()
        {
            using (var response = await _server.Http.GetAsync("v1/nothing"))
            {
                Assert.Equal(404, (int)response.StatusCode);
                AssertErrorBody(await response.Content.ReadAsStringAsync(), null, "invalid_request_error");
            }
            if (!TestModels.HasEmbeddingModel) return;
            var (status, body) = await _server.PostAsync("v1/embeddings", "{\"input\": 42}");
            Assert.Equal(400, status);
            Assert.Equal("input", body.RootElement.GetProperty("error").GetProperty("param").GetString());
        }

        private async Task AssertServerHealthyAsync()
        {
            Assert.Equal("ok", JsonDocument.Parse(await _server.Http.GetStringAsync("health")).RootElement.GetProperty("status").GetString());
            var (status, body) = await _server.PostAsync("v1/chat/completions", TestModels.Chat("Hello there.", maxTokens: 8));
            Assert.Equal(200, status);
            Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));
        }

        private static JsonElement AssertErrorBody(string text, string? param, string type = "invalid_request_error")
        {
            var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
            Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
            Assert.Equal(type, error.GetProperty("type").GetString());
            Assert.True(error.TryGetProperty("code", out _), "the error has a code field");
            var p = error.GetProperty("param");
            if (param == null) Assert.True(p.ValueKind == JsonValueKind.Null || p.ValueKind == JsonValueKind.String);
            else Assert.Equal(param, p.GetString());
            return error;
        }

        /// <summary>A body sent without a Content-Length (chunked transfer).</summary>
        private sealed class PushContent : HttpContent
        {
            private readonly byte[] _bytes;

            public PushContent(byte[] bytes)
            {
                _bytes = bytes;
                Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            }

            protected override Task SerializeToStreamAsync(System.IO.Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(_bytes, 0, _bytes.Length);

            protected override bool TryComputeLength(out long length)
            {
                length = -1;
                return false;
            }
        }
    }
}
