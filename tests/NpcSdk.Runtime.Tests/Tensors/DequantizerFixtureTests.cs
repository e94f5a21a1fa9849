using System;
using System.Collections.Generic;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Tensors;

/// <summary>Dequantizing the llama-quantize output recovers the F32 weights it was made from, within each format's error.</summary>
public class DequantizerFixtureTests
{
    private static readonly Dictionary<TensorType, double> Bounds = new Dictionary<TensorType, double>
    {
        [TensorType.F32] = 0.0,
        [TensorType.F16] = 3e-4,
        [TensorType.BF16] = 3e-3,
        [TensorType.Q8_0] = 0.01,
        [TensorType.Q6_K] = 0.03,
        [TensorType.Q5_0] = 0.06,
        [TensorType.Q5_1] = 0.05,
        [TensorType.Q5_K] = 0.05,
        [TensorType.Q4_0] = 0.12,
        [TensorType.Q4_1] = 0.1,
        [TensorType.Q4_K] = 0.1,
        [TensorType.Q3_K] = 0.2,
        [TensorType.Q2_K] = 0.4,
    };

    [Theory]
    [MemberData(nameof(QuantizerFixtureTests.QuantizedFixtures), MemberType = typeof(QuantizerFixtureTests))]
    public void DequantizeRow_Of_Fixture_Tensors_Approximates_The_F32_Weights(string fixture)
    {
        FixtureTensors f32 = FixtureTensors.Open("fx-llama-F32.gguf");
        FixtureTensors quantized = FixtureTensors.Open(fixture);
        var seen = new HashSet<TensorType>();
        foreach (string name in quantized.Names)
        {
            FixtureTensors.Entry q = quantized[name];
            FixtureTensors.Entry source = f32[name];
            var row = new float[q.RowLength];
            double err = 0, norm = 0;
            for (int r = 0; r < q.Rows; r++)
            {
                Dequantizer.DequantizeRow(q.Type, quantized.Row(q, r), row);
                float[] expected = f32.F32Row(source, r);
                for (int i = 0; i < row.Length; i++)
                {
                    err += (row[i] - (double)expected[i]) * (row[i] - expected[i]);
                    norm += (double)expected[i] * expected[i];
                }
            }

            double relative = Math.Sqrt(err / norm);
            Assert.True(relative <= Bounds[q.Type], $"{fixture} {name} ({q.Type}): relative RMS error {relative}");
            seen.Add(q.Type);
        }

        Assert.Contains(TensorType.F32, seen);
        Assert.True(seen.Count >= 2, $"{fixture}: expected quantized tensors besides F32");
    }
}
