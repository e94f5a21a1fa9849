using System;
using NpcSdk.Runtime.Tests.Tensors;
using NpcSdk.Tensors;

namespace NpcSdk.Runtime.Tests.Native;

/// <summary>Weights and activations for the interleaved products of 32-element blocks (Q4_0, Q5_0) with the cases their kernels must carry exactly.</summary>
internal static class InterleavedTestData
{
    /// <summary>
    /// <paramref name="t"/> rows with special scales (zero, the smallest and largest denormals, negative ones, the largest
    /// finite) and blocks of all-ones or all-zero quant bytes (against activations of +-127 the widest 16-bit partial
    /// sums), the last block of row 3 too.
    /// </summary>
    public static byte[] Weights(TensorType t, int rows, int cols, int seed)
    {
        int rowBytes = (int)TensorTypeInfo.RowBytes(t, cols);
        int blockBytes = (int)TensorTypeInfo.RowBytes(t, 32);
        var bytes = new byte[rows * rowBytes];
        for (int r = 0; r < rows; r++)
        {
            Quantizer.QuantizeRowReference(t, TestData.Gaussian(cols, seed + r, 0.05f), bytes.AsSpan(r * rowBytes, rowBytes));
        }

        ushort[] scales = { 0x0000, 0x0001, 0x03FF, 0x8001, 0x83FF, 0xBC00, 0x7BFF, 0xFBFF };
        int blocks = cols / 32;
        for (int i = 0; i < scales.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan((i % rows) * rowBytes + (i * 5 % blocks) * blockBytes), scales[i]);
        }

        // Everything after the scale: Q4_0's 16 nibble bytes, Q5_0's 4 fifth-bit bytes and 16 nibble bytes.
        int quantBytes = blockBytes - 2;
        bytes.AsSpan(rowBytes + 2, quantBytes).Fill(0xFF);
        bytes.AsSpan(2 * rowBytes + 2, quantBytes).Fill(0x00);
        bytes.AsSpan(3 * rowBytes + (blocks - 1) * blockBytes + 2, quantBytes).Fill(0xFF);
        return bytes;
    }

    /// <summary>
    /// <paramref name="tokens"/> Q8_0 rows <paramref name="stride"/> bytes apart, with blocks of +-127 (with
    /// <paramref name="lastBlock127"/>, every row's last block all 127), the bytes between rows 0xEE.
    /// </summary>
    public static byte[] Activations(int cols, int tokens, int stride, int seed, bool lastBlock127 = false)
    {
        int rowBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q8_0, cols);
        int blocks = cols / 32;
        var act = new byte[tokens * stride];
        for (int t = 0; t < tokens; t++)
        {
            TestData.Quantize(TensorType.Q8_0, TestData.Gaussian(cols, seed + t)).CopyTo(act, t * stride);
            int b0 = t * stride + (t % blocks) * 34, b1 = t * stride + ((t + 1) % blocks) * 34;
            for (int i = 0; i < 32; i++) act[b0 + 2 + i] = unchecked((byte)(sbyte)(i % 2 == 0 ? 127 : -127));
            act.AsSpan(b1 + 2, 32).Fill(unchecked((byte)(sbyte)-127));
            if (lastBlock127) act.AsSpan(t * stride + (blocks - 1) * 34 + 2, 32).Fill(127);
            act.AsSpan(t * stride + rowBytes, stride - rowBytes).Fill(0xEE);
        }

        return act;
    }
}
