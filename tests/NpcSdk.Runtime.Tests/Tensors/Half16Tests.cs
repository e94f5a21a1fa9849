using System;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Tensors;

public class Half16Tests
{
    [Fact]
    public void ToFloat_Matches_SystemHalf_For_All_65536_Bit_Patterns()
    {
        for (int bits = 0; bits < 65536; bits++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)bits);
            float actual = Half16.ToFloat((ushort)bits);
            if (float.IsNaN(expected))
            {
                Assert.True(float.IsNaN(actual), $"0x{bits:X4} should be NaN");
            }
            else
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(actual));
            }
        }
    }

    [Fact]
    public void FromFloat_RoundTrips_Every_NonNaN_Half()
    {
        for (int bits = 0; bits < 65536; bits++)
        {
            float f = Half16.ToFloat((ushort)bits);
            if (!float.IsNaN(f))
            {
                Assert.Equal((ushort)bits, Half16.FromFloat(f));
            }
        }
    }

    [Fact]
    public void FromFloat_Matches_SystemHalf_Rounding_On_Midpoints_And_Random_Floats()
    {
        // Midpoints and their neighbours between consecutive halves exercise round-to-nearest-even everywhere,
        // including the subnormal range and the overflow threshold.
        for (int bits = 0; bits < 0x7C00; bits++)
        {
            float lo = Half16.ToFloat((ushort)bits);
            float hi = Half16.ToFloat((ushort)(bits + 1));
            float mid = (float)(((double)lo + hi) / 2);
            foreach (float f in new[] { mid, BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(mid) - 1), BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(mid) + 1) })
            {
                Assert.Equal(BitConverter.HalfToUInt16Bits((Half)f), Half16.FromFloat(f));
                Assert.Equal(BitConverter.HalfToUInt16Bits((Half)(-f)), Half16.FromFloat(-f));
            }
        }

        var rng = new Random(7);
        for (int i = 0; i < 200_000; i++)
        {
            float f = BitConverter.Int32BitsToSingle(rng.Next(int.MinValue, int.MaxValue));
            if (!float.IsNaN(f))
            {
                Assert.Equal(BitConverter.HalfToUInt16Bits((Half)f), Half16.FromFloat(f));
            }
        }
    }

    [Theory]
    [InlineData(1.0f, 0x3C00)]
    [InlineData(65504f, 0x7BFF)]
    [InlineData(65519.99f, 0x7BFF)]
    [InlineData(65520f, 0x7C00)]
    [InlineData(5.9604645e-8f, 0x0001)] // smallest subnormal
    [InlineData(2.9802322e-8f, 0x0000)] // exactly half of it: ties to even (zero)
    [InlineData(2.98023259e-8f, 0x0001)] // just above half
    [InlineData(1.00048828125f, 0x3C00)] // 1 + 2^-11: tie between 0x3C00 (even) and 0x3C01
    [InlineData(1.00146484375f, 0x3C02)] // 1 + 3*2^-11: tie between 0x3C01 and 0x3C02 (even)
    [InlineData(float.PositiveInfinity, 0x7C00)]
    [InlineData(float.NegativeInfinity, 0xFC00)]
    [InlineData(-0.0f, 0x8000)]
    public void FromFloat_Rounds_To_Nearest_Even(float f, int expected)
    {
        Assert.Equal((ushort)expected, Half16.FromFloat(f));
    }

    [Fact]
    public void FromFloat_Keeps_NaN_Quiet_With_Sign()
    {
        ushort h = Half16.FromFloat(BitConverter.Int32BitsToSingle(unchecked((int)0xFF800001u)));
        Assert.True(float.IsNaN(Half16.ToFloat(h)));
        Assert.Equal(0xFE00, h & 0xFE00);
    }
}

public unsafe class RoundToHalfTests
{
    [Fact]
    public void Attention_Probability_Rounding_Equals_The_F16_Round_Trip()
    {
        var rng = new Random(3);
        var values = new System.Collections.Generic.List<float>();
        // Every float bit pattern near the F16 rounding boundaries of a sample of halves (ties included), plus random
        // probabilities, tiny values around the subnormal edge, overflow and specials.
        for (int h = 0; h < 0x7C00; h += 37)
        {
            int bits = BitConverter.SingleToInt32Bits(Half16.ToFloat((ushort)h));
            for (int d = -4100; d <= 4100; d += 1025) values.Add(BitConverter.Int32BitsToSingle(bits + d));
            values.Add(BitConverter.Int32BitsToSingle(bits + 0x1000)); // a tie
        }
        for (int i = 0; i < 20000; i++) values.Add((float)rng.NextDouble());
        for (int i = 0; i < 2000; i++) values.Add((float)(rng.NextDouble() * Math.Pow(2, -rng.Next(10, 30))));
        values.AddRange(new[] { 0f, -0f, 6.1035156e-5f, 6.1035152e-5f, 5.9604645e-8f, 2.9802322e-8f, 65504f, 65519.99f, 65520f, 1e9f, -65520f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, -0.3f });
        while (values.Count % 8 != 3) values.Add(0.25f); // and a scalar tail
        var x = values.ToArray();
        var expected = Array.ConvertAll(x, v => Half16.ToFloat(Half16.FromFloat(v)));
        fixed (float* p = x) NpcSdk.Models.Attention.RoundToHalf(p, x.Length);
        for (int i = 0; i < x.Length; i++)
        {
            if (float.IsNaN(expected[i])) Assert.True(float.IsNaN(x[i]), $"{values[i]:R}");
            else Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(x[i]), $"{values[i]:R}: {x[i]:R} vs {expected[i]:R}");
        }
    }
}
