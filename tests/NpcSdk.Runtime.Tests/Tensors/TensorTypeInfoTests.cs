using System;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Tensors;

public class TensorTypeInfoTests
{
    [Theory]
    [InlineData(TensorType.F32, 0u, 1, 4, TensorType.F32)]
    [InlineData(TensorType.F16, 1u, 1, 2, TensorType.F16)]
    [InlineData(TensorType.Q4_0, 2u, 32, 18, TensorType.Q8_0)]
    [InlineData(TensorType.Q4_1, 3u, 32, 20, TensorType.Q8_1)]
    [InlineData(TensorType.Q5_0, 6u, 32, 22, TensorType.Q8_0)]
    [InlineData(TensorType.Q5_1, 7u, 32, 24, TensorType.Q8_1)]
    [InlineData(TensorType.Q8_0, 8u, 32, 34, TensorType.Q8_0)]
    [InlineData(TensorType.Q8_1, 9u, 32, 36, TensorType.Q8_1)]
    [InlineData(TensorType.Q2_K, 10u, 256, 84, TensorType.Q8_K)]
    [InlineData(TensorType.Q3_K, 11u, 256, 110, TensorType.Q8_K)]
    [InlineData(TensorType.Q4_K, 12u, 256, 144, TensorType.Q8_K)]
    [InlineData(TensorType.Q5_K, 13u, 256, 176, TensorType.Q8_K)]
    [InlineData(TensorType.Q6_K, 14u, 256, 210, TensorType.Q8_K)]
    [InlineData(TensorType.Q8_K, 15u, 256, 292, TensorType.Q8_K)]
    [InlineData(TensorType.BF16, 30u, 1, 2, TensorType.BF16)]
    public void Layout_Table_Matches_Ggml(TensorType t, uint ggmlId, int blockSize, int blockBytes, TensorType vecDotType)
    {
        Assert.Equal(ggmlId, (uint)t);
        Assert.True(TensorTypeInfo.IsSupported(t));
        Assert.Equal(blockSize, TensorTypeInfo.BlockSize(t));
        Assert.Equal(blockBytes, TensorTypeInfo.BlockBytes(t));
        Assert.Equal(vecDotType, TensorTypeInfo.VecDotType(t));
        Assert.Equal(blockSize > 1, TensorTypeInfo.IsQuantized(t));
        Assert.Equal(blockBytes * 8L, TensorTypeInfo.RowBytes(t, blockSize * 8L));
    }

    [Fact]
    public void RowBytes_Rejects_Partial_Blocks()
    {
        Assert.Throws<ArgumentException>(() => TensorTypeInfo.RowBytes(TensorType.Q4_0, 48));
        Assert.Throws<ArgumentException>(() => TensorTypeInfo.RowBytes(TensorType.Q6_K, 128));
    }

    [Fact]
    public void Unknown_Types_Are_Not_Supported()
    {
        var iq2 = (TensorType)16;
        Assert.False(TensorTypeInfo.IsSupported(iq2));
        Assert.Throws<NotSupportedException>(() => TensorTypeInfo.BlockSize(iq2));
        Assert.Throws<NotSupportedException>(() => TensorTypeInfo.VecDotType(iq2));
    }
}
