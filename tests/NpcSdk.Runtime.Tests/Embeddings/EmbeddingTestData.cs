using System.IO;
using System.Linq;
using System.Text.Json;

namespace NpcSdk.Tests.Embeddings
{
    /// <summary>tests/data/embeddings: llama.cpp and ONNX references for all-MiniLM-L6-v2 (copied from shared/reference) and the bert-bge vocabulary.</summary>
    internal static class EmbeddingTestData
    {
        public static string MiniLmPath => TestPaths.Model("minilm-q8_0.gguf");

        public static string BgeVocabPath => TestPaths.Data("embeddings", "ggml-vocab-bert-bge.gguf");

        /// <summary>The parsed JSON file of tests/data/embeddings.</summary>
        public static JsonElement Json(string fileName)
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(TestPaths.Data("embeddings", fileName)));
            return doc.RootElement.Clone();
        }

        public static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

        public static float[] Floats(JsonElement array) => array.EnumerateArray().Select(e => e.GetSingle()).ToArray();
    }
}
