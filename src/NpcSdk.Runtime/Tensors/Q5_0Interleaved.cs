using System;
#if NET
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using NpcSdk.Compute;
#endif

namespace NpcSdk.Tensors;

/// <summary>
/// Q5_0 weights laid out again in groups of 4 rows, so that unpacking the fifth bits costs two instructions per block
/// instead of ggml's five, and four rows' FMA chains run side by side from one stream. Each output keeps
/// ggml_vec_dot_q5_0_q8_0's arithmetic (the same int32 lanes, one FMA per block, the same order), so the bits are the
/// same.
/// <para>
/// A row's blocks go in chunks of 8 (176 bytes, as the 8 blocks): the 8 F16 scales; 4 vectors of 32 bytes whose low
/// nibbles are block 2j's low four bits and whose high nibbles are block 2j+1's, element i in byte i; then 32 bytes
/// whose byte i holds the fifth bit of element i of block k in bit k. A group is chunk by chunk, each chunk the 4 rows'
/// one after another; a row's last <c>blocks % 8</c> blocks stay in Q5_0, the 4 rows' after the chunks. A group takes
/// the bytes of its 4 rows.
/// </para>
/// </summary>
internal static unsafe class Q5_0Interleaved
{
    /// <summary>Rows per group.</summary>
    public const int GroupRows = 4;

    private const int BlockBytes = 22;
    private const int ChunkBlocks = 8;
    private const int ChunkBytes = ChunkBlocks * BlockBytes; // 176
    private const int NibbleOffset = 16;
    private const int PlaneOffset = 144;

    /// <summary>Bytes of one group of 4 rows of <paramref name="cols"/> columns (the same as the 4 rows in Q5_0).</summary>
    public static long GroupBytes(int cols) => GroupRows * (long)(cols / 32) * BlockBytes;

    /// <summary>Whether the layout applies: a multiple of 4 rows with at least one chunk of 8 blocks.</summary>
    public static bool CanRepack(int rows, int cols) => rows > 0 && rows % GroupRows == 0 && cols % 32 == 0 && cols >= 32 * ChunkBlocks;

    /// <summary>
    /// Lays out groups [<paramref name="groupStart"/>, <paramref name="groupEnd"/>) of Q5_0 <paramref name="src"/> into
    /// <paramref name="dst"/>. Returns true: the kernel reads every F16 scale through the exact conversion table.
    /// </summary>
    public static bool Repack(byte* src, int cols, byte* dst, int groupStart, int groupEnd)
    {
        int blocks = cols / 32, chunks = blocks / ChunkBlocks, tail = blocks % ChunkBlocks;
        long rowBytes = blocks * (long)BlockBytes;
        for (int g = groupStart; g < groupEnd; g++)
        {
            byte* rows = src + g * GroupRows * rowBytes;
            byte* d = dst + g * GroupBytes(cols);
            for (int c = 0; c < chunks; c++)
                for (int r = 0; r < GroupRows; r++, d += ChunkBytes)
                    RepackChunk(rows + r * rowBytes + c * (long)ChunkBytes, d);
            for (int r = 0; r < GroupRows; r++, d += tail * BlockBytes)
                Buffer.MemoryCopy(rows + r * rowBytes + chunks * (long)ChunkBytes, d, tail * BlockBytes, tail * BlockBytes);
        }
        return true;
    }

    /// <summary>8 Q5_0 blocks (d, qh, qs[16] each) into one chunk.</summary>
    private static void RepackChunk(byte* blocks, byte* chunk)
    {
        for (int i = 0; i < PlaneOffset - NibbleOffset + 32; i++) chunk[NibbleOffset + i] = 0;
        for (int k = 0; k < ChunkBlocks; k++)
        {
            byte* b = blocks + k * BlockBytes;
            *(ushort*)(chunk + 2 * k) = *(ushort*)b;
            uint qh = (uint)(b[2] | b[3] << 8 | b[4] << 16 | b[5] << 24);
            byte* nibbles = chunk + NibbleOffset + 32 * (k / 2);
            int shift = 4 * (k % 2);
            for (int i = 0; i < 32; i++)
            {
                int low4 = i < 16 ? b[6 + i] & 0x0F : b[6 + i - 16] >> 4;
                nibbles[i] |= (byte)(low4 << shift);
                chunk[PlaneOffset + i] |= (byte)(((qh >> i) & 1) << k);
            }
        }
    }

#if NET
    public static bool IsSupported => VecDotAvx2.IsSupported;

    /// <summary>
    /// <c>output[t * outputStride + r] = row r · activation t</c> for the <paramref name="groups"/> groups at
    /// <paramref name="packed"/> and <paramref name="tokens"/> Q8_0 activations <paramref name="activationBytes"/> apart.
    /// Every activation runs over a group while its 4 rows are in L1; a batch goes four activations at a time, each row's
    /// blocks unpacked once for the four.
    /// </summary>
    public static void Compute(byte* packed, int cols, int groups, byte* activations, long activationBytes, int tokens, float* output, int outputStride)
    {
        int blocks = cols / 32;
        long groupBytes = GroupBytes(cols);
        int batched = tokens - tokens % 4;
        if (batched > 0)
        {
            // 16 x each activation block's pair sums, once per batch instead of once per row.
            int n = batched * blocks * 16;
            short[] sums = t_sums is { } m && m.Length >= n ? m : t_sums = new short[Math.Max(n, 1 << 16)];
            fixed (short* sy = sums)
            {
                Vector256<byte> sixteen = Vector256.Create((byte)0x10);
                for (int t = 0; t < batched; t++)
                    for (int b = 0; b < blocks; b++)
                        Avx.Store(sy + (t * blocks + b) * 16, Avx2.MultiplyAddAdjacent(sixteen, Avx.LoadVector256((sbyte*)(activations + t * activationBytes + 34 * b + 2))));
                for (int g = 0; g < groups; g++)
                {
                    // Each row's pass reads a quarter of the group's chunks: from memory that pattern is not
                    // prefetched, so the group after next is fetched ahead, whole.
                    if (g + 2 < groups)
                    {
                        byte* next = packed + (g + 2) * groupBytes;
                        for (long o = 0; o < groupBytes; o += 64) Sse.Prefetch0(next + o);
                    }
                    for (int t = 0; t < batched; t += 4)
                        for (int r = 0; r < GroupRows; r++)
                            RowFour(packed + g * groupBytes, r, blocks, activations + t * activationBytes, activationBytes, sy + t * blocks * 16,
                                output + t * outputStride + g * GroupRows + r, outputStride);
                }
            }
        }
        for (int g = 0; g < groups; g++)
            for (int t = batched; t < tokens; t++)
                Group(packed + g * groupBytes, blocks, activations + t * activationBytes, output + t * outputStride + g * GroupRows);
    }

    [ThreadStatic] private static short[]? t_sums;

    /// <summary>
    /// Row <paramref name="r"/> of the group at <paramref name="x"/> against four activations <paramref name="yStride"/>
    /// bytes apart (their 16 x pair sums at <paramref name="sy"/>, <paramref name="blocks"/> x 16 apart): each block
    /// unpacked once, each output's FMAs in block order as <see cref="Group"/>'s.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowFour(byte* x, int r, int blocks, byte* y, long yStride, short* sy, float* output, int outputStride)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int chunks = blocks / ChunkBlocks, tail = blocks % ChunkBlocks;
        long sStride = blocks * 16L;
        for (int c = 0; c < chunks; c++)
        {
            byte* chunk = x + (long)c * GroupRows * ChunkBytes + r * ChunkBytes;
            byte* yc = y + c * ChunkBlocks * 34;
            short* sc = sy + c * ChunkBlocks * 16;
            // Unrolled so that every shift of the fifth-bit plane is a constant.
            PairFour(chunk, 0, yc, yStride, sc, sStride, ht, ref acc0, ref acc1, ref acc2, ref acc3);
            PairFour(chunk, 1, yc, yStride, sc, sStride, ht, ref acc0, ref acc1, ref acc2, ref acc3);
            PairFour(chunk, 2, yc, yStride, sc, sStride, ht, ref acc0, ref acc1, ref acc2, ref acc3);
            PairFour(chunk, 3, yc, yStride, sc, sStride, ht, ref acc0, ref acc1, ref acc2, ref acc3);
        }

        // The row's last blocks % 8 blocks, in Q5_0.
        byte* t0 = x + (long)chunks * GroupRows * ChunkBytes + r * tail * BlockBytes;
        byte* yt = y + chunks * ChunkBlocks * 34;
        for (int b = 0; b < tail; b++, t0 += BlockBytes, yt += 34)
        {
            acc0 = VecDotAvx2.Q5_0Step(t0, yt, ht, acc0);
            acc1 = VecDotAvx2.Q5_0Step(t0, yt + yStride, ht, acc1);
            acc2 = VecDotAvx2.Q5_0Step(t0, yt + 2 * yStride, ht, acc2);
            acc3 = VecDotAvx2.Q5_0Step(t0, yt + 3 * yStride, ht, acc3);
        }

        output[0] = GgmlMath.Hsum(acc0);
        output[outputStride] = GgmlMath.Hsum(acc1);
        output[2 * outputStride] = GgmlMath.Hsum(acc2);
        output[3 * outputStride] = GgmlMath.Hsum(acc3);
    }

    /// <summary>Blocks 2j and 2j+1 of one row's chunk, unpacked once, against four activations.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PairFour(byte* chunk, int j, byte* y, long yStride, short* sy, long sStride, float* ht,
        ref Vector256<float> acc0, ref Vector256<float> acc1, ref Vector256<float> acc2, ref Vector256<float> acc3)
    {
        Unpack(chunk, j, Vector256.Create((byte)0x0F), Vector256.Create((byte)0x10), out Vector256<byte> xa, out Vector256<byte> xb);
        float da = H(ht, chunk + 4 * j), db = H(ht, chunk + 4 * j + 2);
        byte* ya = y + 2 * j * 34;
        short* sa = sy + 2 * j * 16;
        acc0 = TwoBlocks(xa, xb, da, db, ya, sa, ht, acc0);
        acc1 = TwoBlocks(xa, xb, da, db, ya + yStride, sa + sStride, ht, acc1);
        acc2 = TwoBlocks(xa, xb, da, db, ya + 2 * yStride, sa + 2 * sStride, ht, acc2);
        acc3 = TwoBlocks(xa, xb, da, db, ya + 3 * yStride, sa + 3 * sStride, ht, acc3);
    }

    /// <summary>Two consecutive unpacked blocks against one activation's (at <paramref name="ya"/>, its 16 x pair sums at <paramref name="sa"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> TwoBlocks(Vector256<byte> xa, Vector256<byte> xb, float da, float db, byte* ya, short* sa, float* ht, Vector256<float> acc)
    {
        acc = Fma.MultiplyAdd(Vector256.Create(da * H(ht, ya)), Avx.ConvertToVector256Single(Lanes(xa, Avx.LoadVector256((sbyte*)(ya + 2)), Avx.LoadVector256(sa))), acc);
        return Fma.MultiplyAdd(Vector256.Create(db * H(ht, ya + 34)), Avx.ConvertToVector256Single(Lanes(xb, Avx.LoadVector256((sbyte*)(ya + 36)), Avx.LoadVector256(sa + 16))), acc);
    }

    /// <summary>The 4 rows of one group against one activation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Group(byte* x, int blocks, byte* y, float* output)
    {
        float* ht = Half16.TablePointer;
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int chunks = blocks / ChunkBlocks, tail = blocks % ChunkBlocks;
        for (int c = 0; c < chunks; c++, x += GroupRows * ChunkBytes, y += ChunkBlocks * 34)
        {
            // Unrolled so that every shift of the fifth-bit plane is a constant.
            Blocks(x, y, 0, ht, ref acc0, ref acc1, ref acc2, ref acc3);
            Blocks(x, y, 1, ht, ref acc0, ref acc1, ref acc2, ref acc3);
            Blocks(x, y, 2, ht, ref acc0, ref acc1, ref acc2, ref acc3);
            Blocks(x, y, 3, ht, ref acc0, ref acc1, ref acc2, ref acc3);
        }

        // The last blocks % 8 blocks of each row, in Q5_0.
        long tailBytes = tail * BlockBytes;
        for (int b = 0; b < tail; b++, y += 34)
        {
            acc0 = VecDotAvx2.Q5_0Step(x + b * BlockBytes, y, ht, acc0);
            acc1 = VecDotAvx2.Q5_0Step(x + tailBytes + b * BlockBytes, y, ht, acc1);
            acc2 = VecDotAvx2.Q5_0Step(x + 2 * tailBytes + b * BlockBytes, y, ht, acc2);
            acc3 = VecDotAvx2.Q5_0Step(x + 3 * tailBytes + b * BlockBytes, y, ht, acc3);
        }

        output[0] = GgmlMath.Hsum(acc0);
        output[1] = GgmlMath.Hsum(acc1);
        output[2] = GgmlMath.Hsum(acc2);
        output[3] = GgmlMath.Hsum(acc3);
    }

    /// <summary>Blocks 2j and 2j+1 of a chunk's 4 rows at <paramref name="x"/>, with their activations at <paramref name="y"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Blocks(byte* x, byte* y, int j, float* ht, ref Vector256<float> acc0, ref Vector256<float> acc1, ref Vector256<float> acc2, ref Vector256<float> acc3)
    {
        // The activations, 16 x their pair sums (the -16 of every quant) and scales, shared by the 4 rows.
        Vector256<byte> sixteen = Vector256.Create((byte)0x10), low4 = Vector256.Create((byte)0x0F);
        byte* ya = y + 2 * j * 34, yb = ya + 34;
        Vector256<sbyte> qa = Avx.LoadVector256((sbyte*)(ya + 2)), qb = Avx.LoadVector256((sbyte*)(yb + 2));
        Vector256<short> sa = Avx2.MultiplyAddAdjacent(sixteen, qa), sb = Avx2.MultiplyAddAdjacent(sixteen, qb);
        float da = H(ht, ya), db = H(ht, yb);
        acc0 = Pair(x, j, qa, qb, sa, sb, da, db, ht, low4, sixteen, acc0);
        acc1 = Pair(x + ChunkBytes, j, qa, qb, sa, sb, da, db, ht, low4, sixteen, acc1);
        acc2 = Pair(x + 2 * ChunkBytes, j, qa, qb, sa, sb, da, db, ht, low4, sixteen, acc2);
        acc3 = Pair(x + 3 * ChunkBytes, j, qa, qb, sa, sb, da, db, ht, low4, sixteen, acc3);
    }

    /// <summary>Blocks 2j and 2j+1 of one row's chunk as unsigned quants in [0, 31]: nibbles with the plane's fifth bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Unpack(byte* chunk, int j, Vector256<byte> low4, Vector256<byte> bit4, out Vector256<byte> xa, out Vector256<byte> xb)
    {
        Vector256<byte> nibbles = Avx.LoadVector256(chunk + NibbleOffset + 32 * j);
        Vector256<ushort> plane = Avx.LoadVector256((ushort*)(chunk + PlaneOffset));
        xa = (nibbles & low4) | (VecDotAvx2.PlaneBit(plane, 2 * j) & bit4);
        xb = (Avx2.ShiftRightLogical(nibbles.AsUInt16(), 4).AsByte() & low4) | (VecDotAvx2.PlaneBit(plane, 2 * j + 1) & bit4);
    }

    /// <summary>Blocks 2j and 2j+1 of one row's chunk at <paramref name="chunk"/>, accumulated in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Pair(byte* chunk, int j, Vector256<sbyte> qa, Vector256<sbyte> qb, Vector256<short> sa, Vector256<short> sb,
        float da, float db, float* ht, Vector256<byte> low4, Vector256<byte> bit4, Vector256<float> acc)
    {
        Unpack(chunk, j, low4, bit4, out Vector256<byte> xa, out Vector256<byte> xb);
        acc = Fma.MultiplyAdd(Vector256.Create(H(ht, chunk + 4 * j) * da), Avx.ConvertToVector256Single(Lanes(xa, qa, sa)), acc);
        return Fma.MultiplyAdd(Vector256.Create(H(ht, chunk + 4 * j + 2) * db), Avx.ConvertToVector256Single(Lanes(xb, qb, sb)), acc);
    }

    /// <summary>
    /// ggml's int32 lanes (sums of 4 adjacent products) of (x - 16) · y from the unsigned quants x in [0, 31]: the
    /// 16-bit pair sums of x · y less 16 x the activations' (<paramref name="sixteenY"/>), exact, then summed in pairs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Lanes(Vector256<byte> x, Vector256<sbyte> y, Vector256<short> sixteenY) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(x, y) - sixteenY, Vector256.Create((short)1));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float H(float* table, byte* p) => table[*(ushort*)p];
#endif
}
