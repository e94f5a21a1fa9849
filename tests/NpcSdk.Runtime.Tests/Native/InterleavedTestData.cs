using System;
using Xunit;
using NpcSdk.Runtime.Tests.Tensors;
using NpcSdk.Tensors;

namespace NpcSdk.Runtime.Tests.Native;

/// <summary>Weights and activations for the interleaved products of 32-element blocks (Q4_0, Q5_0) with the cases their kernels must carry exactly.</summary>
internal static unsafe class InterleavedTestData
{
    /// <summary>
    /// A native interleaved product of 32-element blocks against Q8_0 activations: every path bit-equal to the managed
    /// layout's kernel (where it runs) and to <paramref name="reference"/> (the scalar chain the layout promises) on the
    /// row-major weights, with padded strides, over all groups and groups from 1 on.
    /// </summary>
    public static void AssertNativeMatchesManaged(TensorType t, int rows, int cols, int tokens, int groupRows, int seed, int actSeed, bool lastBlock127,
        delegate*<byte*, int, byte*, int, int, bool> repack, delegate*<byte*, int, int, byte*, long, int, float*, int, void> compute,
        bool managedRuns, delegate*<TensorType, byte*, byte*, int, float> reference,
        delegate*<byte*, int, int, byte*, long, int, float*, long, void> native)
    {
        int rowBytes = (int)TensorTypeInfo.RowBytes(t, cols);
        int actBytes = (int)TensorTypeInfo.RowBytes(TensorType.Q8_0, cols) + 6; // padded activation stride
        int groups = rows / groupRows, stride = rows + 3;
        long groupBytes = (long)groupRows * rowBytes;
        byte[] weights = Weights(t, rows, cols, seed);
        byte[] act = Activations(cols, tokens, actBytes, actSeed, lastBlock127);
        var packed = new byte[rows * rowBytes];
        var expected = new float[tokens * stride];
        fixed (byte* w = weights)
        fixed (byte* p = packed)
        fixed (byte* a = act)
        fixed (float* e = expected)
        {
            Assert.True(repack(w, cols, p, 0, groups));
            if (managedRuns)
            {
                compute(p, cols, groups, a, actBytes, tokens, e, stride);
            }

            // The chain the layout promises, on the row-major weights (also where the managed kernel needs AVX2).
            for (int k = 0; k < tokens; k++)
            {
                for (int r = 0; r < rows; r++)
                {
                    float dot = reference(t, w + r * rowBytes, a + k * actBytes, cols);
                    if (managedRuns)
                    {
                        NativeTests.AssertSameBits(dot, e[k * stride + r], $"managed interleaved vs the scalar chain, token {k} row {r}");
                    }

                    e[k * stride + r] = dot;
                }
            }

            byte* pp = p, pa = a;
            NativeTests.AssertInterleavedOnEveryPath(rows, cols, tokens, stride, expected,
                (g, o) => native(pp + g * groupBytes, cols, groups - g, pa, actBytes, tokens, o, stride), groupRows);
        }
    }

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
