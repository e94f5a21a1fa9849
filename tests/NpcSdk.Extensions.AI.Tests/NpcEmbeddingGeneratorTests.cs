using System.Linq;
using System.Threading.Tasks;
using Microsoft.Extensions.AI;
using NpcSdk.Embeddings;
using Xunit;

namespace NpcSdk.Extensions.AI.Tests
{
    /// <summary>The embedding generator on MiniLM.</summary>
    public sealed class NpcEmbeddingGeneratorTests
    {
        [EmbeddingModelFact]
        public async Task Embeddings_Are_Unit_Vectors_And_Related_Texts_Are_Closer()
        {
            using var generator = NpcEmbeddingGenerator.Load(TestModels.EmbeddingModel);
            IEmbeddingGenerator<string, Embedding<float>> g = generator;

            var result = await g.GenerateAsync(new[] { "The blacksmith sells swords.", "A smith forges iron blades.", "I like to bake bread." });

            Assert.Equal(3, result.Count);
            Assert.All(result, e => Assert.Equal(generator.Dimensions, e.Vector.Length));
            Assert.All(result, e => Assert.InRange(e.Vector.ToArray().Sum(x => x * x), 0.999f, 1.001f));
            float related = EmbeddingModel.Cosine(result[0].Vector.Span, result[1].Vector.Span);
            float unrelated = EmbeddingModel.Cosine(result[0].Vector.Span, result[2].Vector.Span);
            Assert.True(related > unrelated, $"related {related} should exceed unrelated {unrelated}");
            Assert.True(result.Usage!.InputTokenCount > 10);
            Assert.Equal(generator.Dimensions, g.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions);
        }
    }
}
