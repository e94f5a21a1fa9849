using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Xunit;

namespace NpcSdk.Server.Tests
{
    /// <summary>The repository's models/ folder and the blacksmith conversation of models/README.md.</summary>
    internal static class TestModels
    {
        public static string RepoRoot => NpcSdk.Tests.Shared.RepoPaths.Root;

        public static string NpcModel => Path.Combine(RepoRoot, "models", "npc-q8_0.gguf");

        public static string EmbeddingModel => Path.Combine(RepoRoot, "models", "minilm-q8_0.gguf");

        public static bool HasEmbeddingModel => File.Exists(EmbeddingModel);

        /// <summary>Brom the blacksmith, exactly in the prompt format the model was trained on.</summary>
        public const string Blacksmith =
            "You are Brom Ironhand, the blacksmith of Oakvale.\n" +
            "Personality: gruff, speaks in short, blunt sentences.\n" +
            "Location: the forge, Oakvale.\n" +
            "Player gold: 35\n" +
            "Inventory:\n" +
            "- iron sword: 12 gold\n" +
            "- horseshoe: 2 gold\n" +
            "Memories:\n" +
            "- The player's name is Aria.\n" +
            "Tools:\n" +
            "- sell_item(item, price): sell an item from your inventory to the player\n" +
            "- remember(fact): remember a fact about the player";

        /// <summary>The blacksmith's tools as OpenAI function tools.</summary>
        public const string BlacksmithTools =
            "[{\"type\": \"function\", \"function\": {\"name\": \"sell_item\", \"description\": \"sell an item from your inventory to the player\", " +
            "\"parameters\": {\"type\": \"object\", \"properties\": {\"item\": {\"type\": \"string\", \"enum\": [\"iron sword\", \"horseshoe\"]}, \"price\": {\"type\": \"integer\"}}, \"required\": [\"item\", \"price\"]}}}, " +
            "{\"type\": \"function\", \"function\": {\"name\": \"remember\", \"description\": \"remember a fact about the player\", " +
            "\"parameters\": {\"type\": \"object\", \"properties\": {\"fact\": {\"type\": \"string\"}}, \"required\": [\"fact\"]}}}]";

        /// <summary>A chat request body for the blacksmith: the player's line, greedy decoding.</summary>
        public static string Chat(string line, int maxTokens = 48, bool tools = false, string extra = "") =>
            "{\"model\": \"npc-q8_0\", \"messages\": [{\"role\": \"system\", \"content\": " + JsonSerializer.Serialize(Blacksmith) + "}, " +
            "{\"role\": \"user\", \"content\": " + JsonSerializer.Serialize(line) + "}], " +
            "\"temperature\": 0, \"seed\": 42, \"max_tokens\": " + maxTokens +
            (tools ? ", \"tools\": " + BlacksmithTools : "") + extra + "}";
    }

    /// <summary>One real server on 127.0.0.1 and a free port, shared by the tests of the collection.</summary>
    public sealed class ServerFixture : IDisposable
    {
        public const long BodyLimit = 64 * 1024;
        public const int MaxTokensLimit = 256;

        public ServerFixture()
        {
            Server = NpcServer.Start(new NpcServerOptions
            {
                ModelPath = TestModels.NpcModel,
                EmbeddingModelPath = TestModels.HasEmbeddingModel ? TestModels.EmbeddingModel : null,
                Port = 0,
                Threads = 1,
                MaxRequestBodyBytes = BodyLimit,
                MaxTokensLimit = MaxTokensLimit,
            });
            Http = new HttpClient { BaseAddress = new Uri(Server.Url + "/"), Timeout = TimeSpan.FromSeconds(120) };
        }

        public NpcServer Server { get; }

        public HttpClient Http { get; }

        public async Task<(int Status, JsonDocument Body)> PostAsync(string path, string json)
        {
            using var response = await Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
            string text = await response.Content.ReadAsStringAsync();
            return ((int)response.StatusCode, JsonDocument.Parse(text));
        }

        public void Dispose()
        {
            Http.Dispose();
            Server.Dispose();
        }
    }

    [CollectionDefinition("server")]
    public sealed class ServerCollection : ICollectionFixture<ServerFixture>
    {
    }

    /// <summary>Reads a streamed completion: the text of the content deltas, tool-call deltas and the finish reason.</summary>
    internal sealed class StreamedCompletion
    {
        public string Text = "";
        public string? FinishReason;
        public string? ToolName;
        public string ToolArguments = "";
        public bool Done;
        public readonly List<JsonElement> Chunks = new List<JsonElement>();

        public static StreamedCompletion Parse(string sse)
        {
            var result = new StreamedCompletion();
            var text = new StringBuilder();
            foreach (var raw in sse.Split('\n'))
            {
                string line = raw.TrimEnd('\r');
                if (line.Length == 0) continue;
                Assert.StartsWith("data: ", line);
                string data = line.Substring(6);
                if (data == "[DONE]")
                {
                    result.Done = true;
                    continue;
                }
                Assert.False(result.Done, "nothing may follow data: [DONE]");
                var chunk = JsonDocument.Parse(data).RootElement;
                result.Chunks.Add(chunk);
                Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString());
                foreach (var choice in chunk.GetProperty("choices").EnumerateArray())
                {
                    var delta = choice.GetProperty("delta");
                    if (delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String) text.Append(c.GetString());
                    if (delta.TryGetProperty("tool_calls", out var calls))
                    {
                        foreach (var call in calls.EnumerateArray())
                        {
                            var f = call.GetProperty("function");
                            if (f.TryGetProperty("name", out var n)) result.ToolName = (result.ToolName ?? "") + n.GetString();
                            if (f.TryGetProperty("arguments", out var a)) result.ToolArguments += a.GetString();
                        }
                    }
                    if (choice.TryGetProperty("finish_reason", out var fr) && fr.ValueKind == JsonValueKind.String) result.FinishReason = fr.GetString();
                }
            }
            result.Text = text.ToString();
            return result;
        }
    }
}
