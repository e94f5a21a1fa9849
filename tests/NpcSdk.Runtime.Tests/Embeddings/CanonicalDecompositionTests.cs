using NpcSdk.Embeddings;
using Xunit;

namespace NpcSdk.Tests.Embeddings
{
    /// <summary>llama.cpp's one-to-one "NFD" map used before WordPiece.</summary>
    public sealed class CanonicalDecompositionTests
    {
        [Theory]
        [InlineData('A', 'A')]
        [InlineData('é', 'e')]
        [InlineData('Ä', 'A')]
        [InlineData('\u01D8', 'u')]      // ǘ, two marks
        [InlineData('\uD55C', '\u1112')] // 한 → ᄒ, the leading jamo only, as llama.cpp
        [InlineData('日', '日')]
        public void Canonical_Decomposition_Keeps_The_First_Code_Point(char input, char expected)
        {
            Assert.Equal(expected, (char)CanonicalDecomposition.First(input));
        }
    }
}
