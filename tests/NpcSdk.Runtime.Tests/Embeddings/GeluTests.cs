using System;
using NpcSdk.Embeddings;
using Xunit;

namespace NpcSdk.Tests.Embeddings
{
    /// <summary>ggml_gelu on floats: the tanh approximation through a half-precision table.</summary>
    public sealed class GeluTests
    {
        [Fact]
        public void Gelu_Is_The_Half_Precision_Table_With_Clamps()
        {
            var x = new[] { -12f, -10f, -1f, 0f, 0.5f, 1f, 3f, 9.99f, 10f, 24.5f };
            var y = (float[])x.Clone();
            Gelu.Apply(y);
            Assert.Equal(0f, y[0]);
            Assert.Equal(0f, y[1]);
            Assert.Equal(10f, y[8]);
            Assert.Equal(24.5f, y[9]);
            for (int i = 2; i < 8; i++)
            {
                // Half precision in and out: within a half-precision step of the formula.
                Assert.True(Math.Abs(y[i] - Gelu.Formula(x[i])) <= Math.Max(Math.Abs(y[i]), 1e-3f) / 512f, $"gelu({x[i]}) = {y[i]}");
            }
        }
    }
}
