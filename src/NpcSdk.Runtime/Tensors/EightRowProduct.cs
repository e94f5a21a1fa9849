#if NET
using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NpcSdk.Tensors;

/// <summary>
/// The kernels of a layout of 8-row groups of weights whose dot partner is Q8_0 and whose quants are unsigned with an
/// offset (<see cref="Q4_0Interleaved"/>: nibbles less 8, <see cref="Q5_0Interleaved"/>: 5-bit quants less 16).
/// </summary>
internal unsafe interface IEightRowKernels
{
    /// <summary>Bytes of one group of 8 rows of <paramref name="cols"/> columns.</summary>
    static abstract long GroupBytes(int cols);

    /// <summary>What every quant is stored above its value (8 or 16).</summary>
    static abstract int Offset { get; }

    /// <summary>
    /// One group against one activation (its quants at <paramref name="y"/> + 2): <paramref name="dy"/> and
    /// <paramref name="sy"/> hold its per-block scale and <see cref="Offset"/> x quant sum.
    /// </summary>
    static abstract void Gemv(byte* x, byte* y, float* dy, int* sy, int blocks, float* output);

    /// <summary>One group against four activations <paramref name="yStride"/> bytes apart (their values <paramref name="blocks"/> apart).</summary>
    static abstract void Gemm4(byte* x, byte* y, long yStride, float* dy, int* sy, int blocks, float* output, int outputStride);
}

/// <summary>The product of an 8-row layout (<see cref="IEightRowKernels"/>) with a batch of Q8_0 activations.</summary>
internal static unsafe class EightRowProduct
{
    [ThreadStatic] private static float[]? t_scales;
    [ThreadStatic] private static int[]? t_sums;

    /// <summary>Bytes of weights a row block of a batch aims for: reused from L1/L2 by every activation of the batch.</summary>
    private const int RowBlockBytes = 16384;

    /// <summary>
    /// <c>output[t * outputStride + r] = row r · activation t</c> for the <paramref name="groups"/> groups at
    /// <paramref name="packed"/> and <paramref name="tokens"/> Q8_0 activations <paramref name="activationBytes"/> apart.
    /// </summary>
    public static void Compute<TKernels>(byte* packed, int cols, int groups, byte* activations, long activationBytes, int tokens, float* output, int outputStride)
        where TKernels : IEightRowKernels
    {
        int blocks = cols / 32;
        int n = tokens * blocks;
        float[] scales = t_scales is { } s && s.Length >= n ? s : t_scales = new float[Math.Max(n, 4096)];
        int[] sums = t_sums is { } m && m.Length >= n ? m : t_sums = new int[Math.Max(n, 4096)];
        long groupBytes = TKernels.GroupBytes(cols);
        fixed (float* dy = scales)
        fixed (int* sy = sums)
        {
            for (int t = 0; t < tokens; t++) Prepare(activations + t * activationBytes, blocks, TKernels.Offset, dy + t * blocks, sy + t * blocks);
            if (tokens == 1)
            {
                for (int g = 0; g < groups; g++) TKernels.Gemv(packed + g * groupBytes, activations, dy, sy, blocks, output + g * 8);
                return;
            }

            int groupBlock = Math.Max(2, (int)(RowBlockBytes / groupBytes));
            for (int g0 = 0; g0 < groups; g0 += groupBlock)
            {
                int g1 = Math.Min(groups, g0 + groupBlock);
                int t = 0;
                for (; t + 4 <= tokens; t += 4)
                {
                    for (int g = g0; g < g1; g++)
                        TKernels.Gemm4(packed + g * groupBytes, activations + t * activationBytes, activationBytes, dy + t * blocks, sy + t * blocks, blocks,
                            output + (long)t * outputStride + g * 8, outputStride);
                }
                for (; t < tokens; t++)
                {
                    for (int g = g0; g < g1; g++)
                        TKernels.Gemv(packed + g * groupBytes, activations + t * activationBytes, dy + t * blocks, sy + t * blocks, blocks, output + (long)t * outputStride + g * 8);
                }
            }
        }
    }

    /// <summary>An activation's per-block scale (widened) and <paramref name="offset"/> x its quant sum (the unsigned quants' offset).</summary>
    private static void Prepare(byte* y, int blocks, int offset, float* dy, int* sy)
    {
        float* ht = Half16.TablePointer;
        Vector256<byte> one = Vector256.Create((byte)1);
        for (int b = 0; b < blocks; b++, y += 34)
        {
            dy[b] = ht[*(ushort*)y];
            sy[b] = offset * Vector256.Sum(VecDotAvx2.MulSumU8(one, Avx.LoadVector256((sbyte*)(y + 2))));
        }
    }
}
#endif
