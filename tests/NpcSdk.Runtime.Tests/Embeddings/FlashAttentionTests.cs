using System;
using NpcSdk.Embeddings;
using Xunit;

namespace NpcSdk.Tests.Embeddings
{
    /// <summary>ggml's vectorised exp, which the tiled attention kernel's softmax uses (the end-to-end check is EmbeddingModelTests).</summary>
    public sealed class FlashAttentionTests
    {
        [Fact]
        public void VectorExp_Is_Within_Two_Ulp_Of_Exp_And_Flushes_Like_Ggml()
        {
            Assert.Equal(1f, FlashAttention.VectorExp(0f));
            Assert.Equal(0f, FlashAttention.VectorExp(float.NegativeInfinity));
            Assert.Equal(0f, FlashAttention.VectorExp(-110f));
            Assert.Equal(float.PositiveInfinity, FlashAttention.VectorExp(100f));
            for (float x = -30f; x <= 30f; x += 0.01234f)
            {
                float expected = (float)Math.Exp(x);
                float ulp = MathF.BitIncrement(expected) - expected;
                Assert.True(Math.Abs(FlashAttention.VectorExp(x) - expected) <= 2 * ulp, $"exp({x})");
            }
        }
    }
}
