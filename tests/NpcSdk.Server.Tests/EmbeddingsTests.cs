using System;
using System.Linq;
using System.Threading.Tasks;
using NpcSdk.Agents.Remote;
using NpcSdk.Embeddings;
using Xunit;

namespace NpcSdk.Server.Tests
{
    /// <summary>A fact that needs models/minilm-q8_0.gguf; skipped, with the reason, while the file is missing.</summary>
    public sealed class EmbeddingModelFactAttribute : FactAttribute
    {
        public EmbeddingModelFactAttribute()
        {
            if (!TestModels.HasEmbeddingModel) Skip = "models/minilm-q8_0.gguf is not in the repository yet";
        }
    }

    /// <summary>/v1/embeddings over HTTP, read with the remote embedder the agent layer uses.</summary>
    [Collection("server")]
    public sealed class EmbeddingsTests
    {
        private readonly ServerFixture _server;

        public EmbeddingsTests(ServerFixture server) => _server = server;

        [EmbeddingModelFact]
        public async Task The_Server_Embeds_Like_The_Model_In_Process()
        {
            var (status, body) = await _server.PostAsync("v1/embeddings", "{\"model\": \"minilm-q8_0\", \"input\": [\"The blacksmith sells swords.\", \"I like to bake bread.\"]}");
            Assert.Equal(200, status);
            var data = body.RootElement.GetProperty("data");
            Assert.Equal(2, data.GetArrayLength());
            Assert.Equal(1, data[1].GetProperty("index").GetInt32());
            Assert.True(body.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 5);

            using var local = EmbeddingModel.Load(TestModels.EmbeddingModel);
            float[] expected = local.Embed("The blacksmith sells swords.");
            float[] served = data[0].GetProperty("embedding").EnumerateArray().Select(x => x.GetSingle()).ToArray();
            Assert.Equal(expected.Length, served.Length);
            Assert.True(EmbeddingModel.Cosine(expected, served) > 0.9999f);

            using var embedder = new OpenAiEmbedder(new Uri(_server.Server.Url), "minilm-q8_0");
            Assert.Equal(local.Dimensions, embedder.Dimensions);
            float[] remote = embedder.Embed("The blacksmith sells swords.");
            Assert.True(EmbeddingModel.Cosine(expected, remote) > 0.9999f);
            var both = await embedder.EmbedAsync(new[] { "A smith forges iron blades.", "I like to bake bread." });
            Assert.True(EmbeddingModel.Cosine(remote, both[0]) > EmbeddingModel.Cosine(remote, both[1]));

            var (b64Status, b64) = await _server.PostAsync("v1/embeddings", "{\"input\": \"The blacksmith sells swords.\", \"encoding_format\": \"base64\"}");
            Assert.Equal(200, b64Status);
            byte[] bytes = Convert.FromBase64String(b64.RootElement.GetProperty("data")[0].GetProperty("embedding").GetString()!);
            Assert.Equal(served, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray());
        }
    }
}
