using System;
using System.Linq;
using NpcSdk.Tensors;
using Xunit;

namespace NpcSdk.Runtime.Tests.Tensors;

/// <summary>
/// The fixture models were all written by llama-quantize (no imatrix) from the same F32 weights, so quantizing the
/// F32 rows must reproduce every byte of every tensor in each file.
/// </summary>
public class QuantizerFixtureTests
{
    public static TheoryData<string> QuantizedFixtures => new TheoryData<string>
    {
        "fx-llama-F16.gguf", "fx-llama-BF16.gguf", "fx-llama-Q8_0.gguf", "fx-llama-Q4_0.gguf", "fx-llama-Q4_1.gguf",
        "fx-llama-Q5_0.gguf", "fx-llama-Q5_1.gguf", "fx-llama-Q2_K.gguf", "fx-llama-Q3_K_M.gguf",
        "fx-llama-Q4_K_M.gguf", "fx-llama-Q5_K_M.gguf", "fx-llama-Q6_K.gguf",
    };

    [Theory]
    [MemberData(nameof(QuantizedFixtures))]
    public void QuantizeRowReference_Reproduces_LlamaQuantize_Bytes(string fixture)
    {
        FixtureTensors f32 = FixtureTensors.Open("fx-llama-F32.gguf");
        FixtureTensors quantized = FixtureTensors.Open(fixture);
        int checkedTensors = 0;
        foreach (string name in quantized.Names)
        {
            FixtureTensors.Entry q = quantized[name];
            FixtureTensors.Entry source = f32[name];
            Assert.Equal(source.Shape, q.Shape);
            var bytes = new byte[q.RowBytes];
            for (int row = 0; row < q.Rows; row++)
            {
                Quantizer.QuantizeRowReference(q.Type, f32.F32Row(source, row), bytes);
                byte[] expected = quantized.Row(q, row).ToArray();
                if (!expected.AsSpan().SequenceEqual(bytes))
                {
                    int at = Enumerable.Range(0, bytes.Length).First(i => bytes[i] != expected[i]);
                    Assert.Fail($"{fixture} {name} ({q.Type}) row {row}: first differing byte {at} of {bytes.Length} " +
                        $"(block {at / TensorTypeInfo.BlockBytes(q.Type)}, offset {at % TensorTypeInfo.BlockBytes(q.Type)}): " +
                        $"expected {expected[at]}, got {bytes[at]}");
                }
            }

            checkedTensors++;
        }

        Assert.Equal(quantized.Names.Count, checkedTensors);
    }
}
