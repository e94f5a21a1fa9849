using System;
#if NET
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace NpcSdk.Tensors;

/// <summary>
/// Q4_K weights laid out again for 8-row kernels, as <see cref="Q4_0Interleaved"/> does for Q4_0 (ggml's
/// <c>block_q4_Kx8</c> idea, our own order): rows in groups of 8, a group's 256-column super-blocks one after another,
/// each 1152 bytes, as many as the 8 rows take in Q4_K: the 8 rows' F16 d, their F16 dmin, their 12 packed scale bytes
/// transposed (byte i of every row together, so one vector operation unpacks a scale or min for all 8 rows), then 32
/// chunks of 32 bytes, chunk 8j + k holding quant bytes 32j + 4k..+3 of rows 0..7 (low nibbles: elements 64j + 4k..,
/// sub-block 2j; high nibbles: 32 further on, sub-block 2j + 1). Every row's sums stay in its own lane. Each output gets
/// the arithmetic of <c>VecDotAvx2.Repacked</c> (one FMA of the exact integer total per super-block into the scale sum
/// and one into the min sum) or, for the rows llama.cpp runs through its 4-row gemm, of <c>VecDotAvx2.RepackedGemm</c>
/// (the same per 64 elements).
/// </summary>
internal static unsafe class Q4_KInterleaved
{
    /// <summary>Rows per group.</summary>
    public const int GroupRows = 8;

    /// <summary>Bytes of one group's 256 columns.</summary>
    public const int GroupBlockBytes = 1152;

    private const int RawScalesOffset = 32, QuantsOffset = 128;

    /// <summary>In the unpacked scales (<c>UnpackGroupScales</c>): scales [sub-block][row], then mins [pair][row][2].</summary>
    private const int ScalesOffset = 0, MinsOffset = 64;

    /// <summary>Bytes of one group of 8 rows of <paramref name="cols"/> columns.</summary>
    public static long GroupBytes(int cols) => (long)(cols / 256) * GroupBlockBytes;

    /// <summary>Whether the layout applies to a matrix of this shape: a multiple of 8 rows.</summary>
    public static bool CanRepack(int rows, int cols) => rows > 0 && rows % GroupRows == 0 && cols % 256 == 0;

    /// <summary>
    /// Lays out groups [<paramref name="groupStart"/>, <paramref name="groupEnd"/>) of Q4_K <paramref name="src"/> into
    /// <paramref name="dst"/>. Returns false if a d or dmin is infinite or NaN (see <see cref="Q4_0Interleaved.Repack"/>).
    /// </summary>
    public static bool Repack(byte* src, int cols, byte* dst, int groupStart, int groupEnd)
    {
        int blocks = cols / 256;
        long rowBytes = blocks * 144L;
        bool finite = true;
        for (int g = groupStart; g < groupEnd; g++)
        {
            byte* rows = src + g * GroupRows * rowBytes;
            byte* d = dst + g * GroupBytes(cols);
            for (int b = 0; b < blocks; b++, d += GroupBlockBytes)
            {
                for (int r = 0; r < GroupRows; r++)
                {
                    byte* block = rows + r * rowBytes + b * 144L;
                    finite &= (*(ushort*)block & 0x7C00) != 0x7C00 && (*(ushort*)(block + 2) & 0x7C00) != 0x7C00;
                    *(ushort*)(d + 2 * r) = *(ushort*)block;
                    *(ushort*)(d + 16 + 2 * r) = *(ushort*)(block + 2);
                    for (int i = 0; i < 12; i++) d[RawScalesOffset + 8 * i + r] = block[4 + i];
                    for (int c = 0; c < 32; c++) *(uint*)(d + QuantsOffset + 32 * c + 4 * r) = *(uint*)(block + 16 + 4 * c);
                }
            }
        }
        return finite;
    }

#if NET
    public static bool IsSupported => VecDotAvx2.IsSupported;

    /// <summary>Bytes of weights a row block of a batch aims for: reused from L1/L2 by every activation of the batch.</summary>
    private const int RowBlockBytes = 16384;

    /// <summary>
    /// <c>output[t * outputStride + r] = row r · activation t</c> for the <paramref name="groups"/> groups at
    /// <paramref name="packed"/> and <paramref name="tokens"/> Q8_K activations <paramref name="activationBytes"/> apart;
    /// activation t takes the gemm's per-64 arithmetic when <c>firstRow + t &lt; gemmRows</c>.
    /// </summary>
    public static void Compute(byte* packed, int cols, int groups, byte* activations, long activationBytes, int tokens,
        int firstRow, int gemmRows, float* output, int outputStride)
    {
        int blocks = cols / 256;
        long groupBytes = GroupBytes(cols);
        int[] pairSums = PairSums(activations, activationBytes, tokens, blocks);
        fixed (int* bs = pairSums)
        {
            Run(packed, groupBytes, blocks, groups, activations, activationBytes, tokens, firstRow, gemmRows, bs, output, outputStride);
        }
    }

    private static void Run(byte* packed, long groupBytes, int blocks, int groups, byte* activations, long activationBytes, int tokens,
        int firstRow, int gemmRows, int* bsums, float* output, int outputStride)
    {
        int groupBlock = tokens == 1 ? groups : Math.Max(2, (int)(RowBlockBytes / groupBytes));
        for (int g0 = 0; g0 < groups; g0 += groupBlock)
        {
            int g1 = Math.Min(groups, g0 + groupBlock);
            for (int t = 0; t < tokens;)
            {
                bool gemm = firstRow + t < gemmRows;
                if (t + 4 <= tokens && gemm == (firstRow + t + 3 < gemmRows))
                {
                    for (int g = g0; g < g1; g++)
                        Kernel4(packed + g * groupBytes, activations + t * activationBytes, activationBytes, bsums + t * blocks * 4, blocks * 4, blocks, gemm,
                            output + (long)t * outputStride + g * GroupRows, outputStride);
                    t += 4;
                }
                else
                {
                    for (int g = g0; g < g1; g++)
                        Kernel1(packed + g * groupBytes, activations + t * activationBytes, bsums + t * blocks * 4, blocks, gemm, output + (long)t * outputStride + g * GroupRows);
                    t++;
                }
            }
        }
    }

    /// <summary>Eight rows' scale bytes as int16 pairs (the scale of row r in lanes 2r and 2r + 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> ScalePairs(byte* p)
    {
        Vector256<int> s = Avx2.ConvertToVector256Int32(p);
        return (s | Avx2.ShiftLeftLogical(s, 16)).AsInt16();
    }

    /// <summary>
    /// The 8 rows' 6-bit scales and mins of one super-block from their transposed packed bytes (ggml's
    /// get_scale_min_k4 on all rows at once): scales [sub-block][row] at <paramref name="output"/>, mins [pair][row][2]
    /// 64 bytes on, the arrangements the kernels multiply with.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void UnpackGroupScales(byte* raw, byte* output)
    {
        Vector256<byte> a = Avx.LoadVector256(raw), b = Avx.LoadVector256(raw + 32), c = Avx.LoadVector256(raw + 64);
        Vector256<byte> low6 = Vector256.Create((byte)63), low4 = Vector256.Create((byte)0x0F), bits45 = Vector256.Create((byte)0x30);
        // Within each 16-byte lane: sub-block a's 8 rows, then sub-block b's, to row by row pairs (a, b).
        Vector256<byte> pairs = Vector256.Create((byte)0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15, 0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        Avx.Store(output, a & low6);
        Avx.Store(output + 32, (c & low4) | (Avx2.ShiftRightLogical(a.AsUInt16(), 2).AsByte() & bits45));
        Avx.Store(output + 64, Avx2.Shuffle(b & low6, pairs));
        Avx.Store(output + 96, Avx2.Shuffle((Avx2.ShiftRightLogical(c.AsUInt16(), 4).AsByte() & low4) | (Avx2.ShiftRightLogical(b.AsUInt16(), 2).AsByte() & bits45), pairs));
    }

    /// <summary>Low nibbles of one chunk times the four activation bytes they multiply, as i16 pair sums.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Lo(byte* c, sbyte* y, Vector256<byte> low4) =>
        Avx2.MultiplyAddAdjacent(Avx.LoadVector256(c) & low4, Vector256.Create(*(int*)y).AsSByte());

    /// <summary>High nibbles of one chunk times the four activation bytes 32 further on.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Hi(byte* c, sbyte* y, Vector256<byte> low4) =>
        Avx2.MultiplyAddAdjacent(Avx2.ShiftRightLogical(Avx.LoadVector256(c).AsUInt16(), 4).AsByte() & low4, Vector256.Create(*(int*)(y + 32)).AsSByte());

    /// <summary>
    /// Row r's exact sum of its 64 elements of sub-block pair <paramref name="j"/> times their scales, in lane r: each
    /// half's eight i16 pair sums add up to at most 8 x 2 x 15 x 128 = 30720 in magnitude, exact before the scale.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Pair(byte* x, byte* sm, sbyte* q8, int j, Vector256<byte> low4)
    {
        byte* c = x + QuantsOffset + 256 * j;
        sbyte* y = q8 + 64 * j;
        Vector256<short> lo = (Lo(c, y, low4) + Lo(c + 32, y + 4, low4)) + (Lo(c + 64, y + 8, low4) + Lo(c + 96, y + 12, low4))
            + ((Lo(c + 128, y + 16, low4) + Lo(c + 160, y + 20, low4)) + (Lo(c + 192, y + 24, low4) + Lo(c + 224, y + 28, low4)));
        Vector256<short> hi = (Hi(c, y, low4) + Hi(c + 32, y + 4, low4)) + (Hi(c + 64, y + 8, low4) + Hi(c + 96, y + 12, low4))
            + ((Hi(c + 128, y + 16, low4) + Hi(c + 160, y + 20, low4)) + (Hi(c + 192, y + 24, low4) + Hi(c + 224, y + 28, low4)));
        return Avx2.MultiplyAddAdjacent(lo, ScalePairs(sm + ScalesOffset + 16 * j)) + Avx2.MultiplyAddAdjacent(hi, ScalePairs(sm + ScalesOffset + 16 * j + 8));
    }

    /// <summary>Row r's mins of sub-blocks 2j, 2j + 1 times the activation's sums over them (<paramref name="bsumPair"/>, two i16), in lane r.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Mins(byte* sm, int j, int bsumPair) =>
        Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(sm + MinsOffset + 16 * j), Vector256.Create(bsumPair).AsInt16());

    [ThreadStatic] private static int[]? t_bsums;

    /// <summary>Each activation's 32-element sums of sub-blocks 2j and 2j + 1 as two i16 in one int, per (token, block, j).</summary>
    private static int[] PairSums(byte* activations, long activationBytes, int tokens, int blocks)
    {
        int n = tokens * blocks * 4;
        int[] sums = t_bsums is { } s && s.Length >= n ? s : t_bsums = new int[Math.Max(n, 4096)];
        for (int t = 0; t < tokens; t++)
        {
            byte* y = activations + t * activationBytes;
            for (int b = 0; b < blocks; b++, y += 292)
            {
                short* bsums = (short*)(y + 260);
                for (int j = 0; j < 4; j++)
                    sums[(t * blocks + b) * 4 + j] = (ushort)(bsums[4 * j] + bsums[4 * j + 1]) | ((bsums[4 * j + 2] + bsums[4 * j + 3]) << 16);
            }
        }
        return sums;
    }

    /// <summary>One group against one activation; <paramref name="bsums"/>: its <see cref="PairSums"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel1(byte* x, byte* y, int* bsums, int blocks, bool perPair, float* output)
    {
        Vector256<float> acc = Vector256<float>.Zero, accMin = Vector256<float>.Zero;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        byte* sm = stackalloc byte[128];
        for (int b = 0; b < blocks; b++, x += GroupBlockBytes, y += 292, bsums += 4)
        {
            UnpackGroupScales(x + RawScalesOffset, sm);
            Vector256<float> dy = Vector256.Create(*(float*)y);
            Vector256<float> d = Q4_0Interleaved.WidenScales(x) * dy, dmin = Q4_0Interleaved.WidenScales(x + 16) * dy;
            sbyte* q8 = (sbyte*)(y + 4);
            if (perPair)
            {
                for (int j = 0; j < 4; j++)
                {
                    acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Pair(x, sm, q8, j, low4)), d, acc);
                    accMin = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Mins(sm, j, bsums[j])), dmin, accMin);
                }
            }
            else
            {
                Vector256<int> total = (Pair(x, sm, q8, 0, low4) + Pair(x, sm, q8, 1, low4)) + (Pair(x, sm, q8, 2, low4) + Pair(x, sm, q8, 3, low4));
                Vector256<int> mins = (Mins(sm, 0, bsums[0]) + Mins(sm, 1, bsums[1])) + (Mins(sm, 2, bsums[2]) + Mins(sm, 3, bsums[3]));
                acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(total), d, acc);
                accMin = Fma.MultiplyAdd(Avx.ConvertToVector256Single(mins), dmin, accMin);
            }
        }

        Avx.Store(output, acc - accMin);
    }

    /// <summary>
    /// <see cref="Kernel1"/> for four activations <paramref name="yStride"/> bytes apart (their pair sums
    /// <paramref name="bsumStride"/> ints apart), each chunk loaded once for the four.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel4(byte* x, byte* y, long yStride, int* bsums, int bsumStride, int blocks, bool perPair, float* output, int outputStride)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        Vector256<float> min0 = acc0, min1 = acc0, min2 = acc0, min3 = acc0;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        byte* y0 = y, y1 = y0 + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
        int* b0 = bsums, b1 = b0 + bsumStride, b2 = b1 + bsumStride, b3 = b2 + bsumStride;
        byte* sm = stackalloc byte[128];
        for (int b = 0; b < blocks; b++, x += GroupBlockBytes, y0 += 292, y1 += 292, y2 += 292, y3 += 292, b0 += 4, b1 += 4, b2 += 4, b3 += 4)
        {
            UnpackGroupScales(x + RawScalesOffset, sm);
            Vector256<float> dx = Q4_0Interleaved.WidenScales(x), dmx = Q4_0Interleaved.WidenScales(x + 16);
            Vector256<float> d0 = dx * Vector256.Create(*(float*)y0), d1 = dx * Vector256.Create(*(float*)y1);
            Vector256<float> d2 = dx * Vector256.Create(*(float*)y2), d3 = dx * Vector256.Create(*(float*)y3);
            Vector256<int> t0 = Vector256<int>.Zero, t1 = t0, t2 = t0, t3 = t0;
            for (int j = 0; j < 4; j++)
            {
                Vector256<short> l0 = Vector256<short>.Zero, l1 = l0, l2 = l0, l3 = l0, h0 = l0, h1 = l0, h2 = l0, h3 = l0;
                byte* c = x + QuantsOffset + 256 * j;
                sbyte* q0 = (sbyte*)(y0 + 4 + 64 * j), q1 = (sbyte*)(y1 + 4 + 64 * j), q2 = (sbyte*)(y2 + 4 + 64 * j), q3 = (sbyte*)(y3 + 4 + 64 * j);
                for (int k = 0; k < 8; k++, c += 32, q0 += 4, q1 += 4, q2 += 4, q3 += 4)
                {
                    Vector256<byte> bits = Avx.LoadVector256(c);
                    Vector256<byte> lo = bits & low4, hi = Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & low4;
                    l0 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)q0).AsSByte());
                    h0 += Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(q0 + 32)).AsSByte());
                    l1 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)q1).AsSByte());
                    h1 += Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(q1 + 32)).AsSByte());
                    l2 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)q2).AsSByte());
                    h2 += Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(q2 + 32)).AsSByte());
                    l3 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)q3).AsSByte());
                    h3 += Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(q3 + 32)).AsSByte());
                }
                Vector256<short> sl = ScalePairs(sm + ScalesOffset + 16 * j), sh = ScalePairs(sm + ScalesOffset + 16 * j + 8);
                Vector256<int> p0 = Avx2.MultiplyAddAdjacent(l0, sl) + Avx2.MultiplyAddAdjacent(h0, sh);
                Vector256<int> p1 = Avx2.MultiplyAddAdjacent(l1, sl) + Avx2.MultiplyAddAdjacent(h1, sh);
                Vector256<int> p2 = Avx2.MultiplyAddAdjacent(l2, sl) + Avx2.MultiplyAddAdjacent(h2, sh);
                Vector256<int> p3 = Avx2.MultiplyAddAdjacent(l3, sl) + Avx2.MultiplyAddAdjacent(h3, sh);
                if (perPair)
                {
                    acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(p0), d0, acc0);
                    acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(p1), d1, acc1);
                    acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(p2), d2, acc2);
                    acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(p3), d3, acc3);
                    min0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Mins(sm, j, b0[j])), dmx * Vector256.Create(*(float*)y0), min0);
                    min1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Mins(sm, j, b1[j])), dmx * Vector256.Create(*(float*)y1), min1);
                    min2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Mins(sm, j, b2[j])), dmx * Vector256.Create(*(float*)y2), min2);
                    min3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Mins(sm, j, b3[j])), dmx * Vector256.Create(*(float*)y3), min3);
                }
                else
                {
                    t0 += p0; t1 += p1; t2 += p2; t3 += p3;
                }
            }
            if (!perPair)
            {
                acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t0), d0, acc0);
                acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t1), d1, acc1);
                acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t2), d2, acc2);
                acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(t3), d3, acc3);
                min0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single((Mins(sm, 0, b0[0]) + Mins(sm, 1, b0[1])) + (Mins(sm, 2, b0[2]) + Mins(sm, 3, b0[3]))), dmx * Vector256.Create(*(float*)y0), min0);
                min1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single((Mins(sm, 0, b1[0]) + Mins(sm, 1, b1[1])) + (Mins(sm, 2, b1[2]) + Mins(sm, 3, b1[3]))), dmx * Vector256.Create(*(float*)y1), min1);
                min2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single((Mins(sm, 0, b2[0]) + Mins(sm, 1, b2[1])) + (Mins(sm, 2, b2[2]) + Mins(sm, 3, b2[3]))), dmx * Vector256.Create(*(float*)y2), min2);
                min3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single((Mins(sm, 0, b3[0]) + Mins(sm, 1, b3[1])) + (Mins(sm, 2, b3[2]) + Mins(sm, 3, b3[3]))), dmx * Vector256.Create(*(float*)y3), min3);
            }
        }

        Avx.Store(output, acc0 - min0);
        Avx.Store(output + outputStride, acc1 - min1);
        Avx.Store(output + 2 * outputStride, acc2 - min2);
        Avx.Store(output + 3 * outputStride, acc3 - min3);
    }
#endif
}
