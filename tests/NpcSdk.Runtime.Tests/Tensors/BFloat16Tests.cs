using System;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Tensors;

public class BFloat16Tests
{
    [Fact]
    public void ToFloat_Is_The_Upper_Half_Of_A_Single_For_All_65536_Bit_Patterns()
    {
        for (int bits = 0; bits < 65536; bits++)
        {
            Assert.Equal(bits << 16, BitConverter.SingleToInt32Bits(BFloat16.ToFloat((ushort)bits)));
        }
    }

    [Fact]
    public void FromFloat_RoundTrips_Every_NonNaN_BFloat16()
    {
        for (int bits = 0; bits < 65536; bits++)
        {
            float f = BFloat16.ToFloat((ushort)bits);
            if (!float.IsNaN(f))
            {
                Assert.Equal((ushort)bits, BFloat16.FromFloat(f));
            }
        }
    }

    [Fact]
    public void FromFloat_Rounds_To_Nearest_Even_Like_A_Double_Reference()
    {
        var rng = new Random(11);
        for (int i = 0; i < 200_000; i++)
        {
            int bits = rng.Next(int.MinValue, int.MaxValue);
            float f = BitConverter.Int32BitsToSingle(bits);
            if (float.IsNaN(f) || float.IsInfinity(f))
            {
                continue;
            }

            Assert.Equal(ReferenceRound(bits), BFloat16.FromFloat(f));
        }
    }

    [Theory]
    [InlineData(0x3F808000u, 0x3F80)] // tie, even stays
    [InlineData(0x3F818000u, 0x3F82)] // tie, odd rounds up
    [InlineData(0x3F808001u, 0x3F81)] // above the tie
    [InlineData(0x00008000u, 0x0000)] // subnormal tie: kept, not flushed (ggml at 3f545becc)
    [InlineData(0x00018000u, 0x0002)]
    [InlineData(0x7F7FFFFFu, 0x7F80)] // largest float rounds to infinity
    [InlineData(0x7F800000u, 0x7F80)]
    [InlineData(0x7F800001u, 0x7FC0)] // signalling NaN is forced quiet
    [InlineData(0xFFC12345u, 0xFFC1)]
    public void FromFloat_Matches_Ggml_On_Edge_Cases(uint input, int expected)
    {
        Assert.Equal((ushort)expected, BFloat16.FromFloat(BitConverter.Int32BitsToSingle(unchecked((int)input))));
    }

    /// <summary>Round-to-nearest-even of the top 16 bits computed the slow way.</summary>
    private static ushort ReferenceRound(int bits)
    {
        uint u = unchecked((uint)bits);
        uint upper = u >> 16;
        uint rest = u & 0xFFFF;
        if (rest > 0x8000 || (rest == 0x8000 && (upper & 1) != 0))
        {
            upper++;
        }

        return (ushort)upper;
    }
}
