using System;
#if NET
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace NpcSdk.Tensors;

/// <summary>
/// Q5_0 weights laid out for the managed 8-row kernels, as <see cref="Q4_0Interleaved"/> lays out Q4_0: rows in groups of
/// 8, a group's 32-column blocks one after another, each 176 bytes: the 8 rows' F16 scales; 4 chunks of 32 bytes, chunk
/// k holding quant bytes 4k..4k+3 of rows 0..7 (low nibbles: elements 4k.., high nibbles: 16 further on); then a plane
/// of 32 bytes, byte 4r + i holding in bit k the fifth bit of row r's element 4k + i and in bit 4 + k that of element
/// 16 + 4k + i. One 32-byte load gives every row of the group four weights, so a row's sum stays in its own int32 lane;
/// the fifth bits cost a shift and a mask per 32 weights. Each output gets the arithmetic of the repacked kernels
/// (<see cref="VecDotScalar.Repacked"/>): per block <c>fma(exact integer dot, d_x * d_y, acc)</c>, not vec_dot's eight
/// lanes, which would need eight float accumulators per row.
/// </summary>
internal static unsafe class Q5_0Interleaved
{
    /// <summary>Rows per group.</summary>
    public const int GroupRows = 8;

    /// <summary>Bytes of one group's 32 columns: 8 x (2 bytes of scale + 4 of fifth bits + 16 of nibbles).</summary>
    public const int GroupBlockBytes = 176;

    private const int ChunksOffset = 16, PlaneOffset = 144;

    /// <summary>Bytes of one group of 8 rows of <paramref name="cols"/> columns (the same as the 8 rows in Q5_0).</summary>
    public static long GroupBytes(int cols) => (long)(cols / 32) * GroupBlockBytes;

    /// <summary>Whether the layout applies to a matrix of this shape: a multiple of 8 rows.</summary>
    public static bool CanRepack(int rows, int cols) => rows > 0 && rows % GroupRows == 0 && cols % 32 == 0;

    /// <summary>
    /// Lays out groups [<paramref name="groupStart"/>, <paramref name="groupEnd"/>) of Q5_0 <paramref name="src"/> into
    /// <paramref name="dst"/>. Returns false if a scale is infinite or NaN (see <see cref="Q4_0Interleaved.Repack"/>).
    /// </summary>
    public static bool Repack(byte* src, int cols, byte* dst, int groupStart, int groupEnd)
    {
        int blocks = cols / 32;
        long rowBytes = blocks * 22L;
        bool finite = true;
        for (int g = groupStart; g < groupEnd; g++)
        {
            byte* rows = src + g * GroupRows * rowBytes;
            byte* d = dst + g * GroupBytes(cols);
            for (int b = 0; b < blocks; b++, d += GroupBlockBytes)
            {
                for (int r = 0; r < GroupRows; r++)
                {
                    byte* block = rows + r * rowBytes + b * 22L;
                    ushort scale = *(ushort*)block;
                    finite &= (scale & 0x7C00) != 0x7C00;
                    *(ushort*)(d + 2 * r) = scale;
                    uint qh = *(uint*)(block + 2);
                    for (int k = 0; k < 4; k++) *(uint*)(d + ChunksOffset + 32 * k + 4 * r) = *(uint*)(block + 6 + 4 * k);
                    for (int i = 0; i < 4; i++)
                    {
                        int plane = 0;
                        for (int k = 0; k < 4; k++)
                            plane |= (int)((qh >> (4 * k + i)) & 1) << k | (int)((qh >> (16 + 4 * k + i)) & 1) << (4 + k);
                        d[PlaneOffset + 4 * r + i] = (byte)plane;
                    }
                }
            }
        }
        return finite;
    }

#if NET
    public static bool IsSupported => VecDotAvx2.IsSupported;

    /// <summary>
    /// <c>output[t * outputStride + r] = row r · activation t</c> for the <paramref name="groups"/> groups at
    /// <paramref name="packed"/> and <paramref name="tokens"/> Q8_0 activations <paramref name="activationBytes"/> apart.
    /// </summary>
    public static void Compute(byte* packed, int cols, int groups, byte* activations, long activationBytes, int tokens, float* output, int outputStride) =>
        EightRowProduct.Compute<Kernels>(packed, cols, groups, activations, activationBytes, tokens, output, outputStride);

    /// <summary>This layout's kernels for <see cref="EightRowProduct"/>.</summary>
    private readonly struct Kernels : IEightRowKernels
    {
        public static long GroupBytes(int cols) => Q5_0Interleaved.GroupBytes(cols);
        public static int Offset => 16;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Gemv(byte* x, byte* y, float* dy, int* sy, int blocks, float* output) => Q5_0Interleaved.Gemv(x, y, dy, sy, blocks, output);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Gemm4(byte* x, byte* y, long yStride, float* dy, int* sy, int blocks, float* output, int outputStride) =>
            Q5_0Interleaved.Gemm4(x, y, yStride, dy, sy, blocks, output, outputStride);
    }

    /// <summary>
    /// The i16 pair sums of chunk <paramref name="k"/>'s quants in [0, 31] (nibbles with their fifth bits from the plane)
    /// against the activation bytes they multiply: at most 2 x 2 x 31 x 128 = 15872 in magnitude.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Chunk(byte* x, Vector256<ushort> plane, byte* y, int k, Vector256<byte> low4, Vector256<byte> bit4)
    {
        Vector256<byte> bits = Avx.LoadVector256(x + ChunksOffset + 32 * k);
        Vector256<byte> lo = (bits & low4) | (Shift(plane, 4 - k) & bit4);
        Vector256<byte> hi = (Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & low4) | (Shift(plane, -k) & bit4);
        return Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(y + 4 * k)).AsSByte())
            + Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(y + 16 + 4 * k)).AsSByte());
    }

    /// <summary>The plane shifted left by <paramref name="s"/> bits (right for negative), a constant once inlined.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Shift(Vector256<ushort> plane, int s) => s switch
    {
        4 => Avx2.ShiftLeftLogical(plane, 4).AsByte(),
        3 => Avx2.ShiftLeftLogical(plane, 3).AsByte(),
        2 => Avx2.ShiftLeftLogical(plane, 2).AsByte(),
        1 => Avx2.ShiftLeftLogical(plane, 1).AsByte(),
        0 => plane.AsByte(),
        -1 => Avx2.ShiftRightLogical(plane, 1).AsByte(),
        -2 => Avx2.ShiftRightLogical(plane, 2).AsByte(),
        _ => Avx2.ShiftRightLogical(plane, 3).AsByte(),
    };

    /// <summary>Row r's exact integer dot of one block, in lane r: two halves widened apart, so the i16 sums cannot overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Block(byte* x, byte* y, int sy16, Vector256<byte> low4, Vector256<byte> bit4, Vector256<short> ones)
    {
        Vector256<ushort> plane = Avx.LoadVector256((ushort*)(x + PlaneOffset));
        Vector256<short> a = Chunk(x, plane, y, 0, low4, bit4) + Chunk(x, plane, y, 1, low4, bit4);
        Vector256<short> b = Chunk(x, plane, y, 2, low4, bit4) + Chunk(x, plane, y, 3, low4, bit4);
        return (Avx2.MultiplyAddAdjacent(a, ones) + Avx2.MultiplyAddAdjacent(b, ones)) - Vector256.Create(sy16);
    }

    /// <summary>One group against one activation (its quants at <paramref name="y"/> + 2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv(byte* x, byte* y, float* dy, int* sy16, int blocks, float* output)
    {
        Vector256<float> acc = Vector256<float>.Zero;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F), bit4 = Vector256.Create((byte)0x10);
        Vector256<short> ones = Vector256.Create((short)1);
        y += 2;
        for (int b = 0; b < blocks; b++, x += GroupBlockBytes, y += 34)
        {
            Vector256<int> total = Block(x, y, sy16[b], low4, bit4, ones);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(total), Q4_0Interleaved.WidenScales(x) * Vector256.Create(dy[b]), acc);
        }

        Avx.Store(output, acc);
    }

    /// <summary>One group against four activations <paramref name="yStride"/> bytes apart: each chunk unpacked once for the four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemm4(byte* x, byte* y, long yStride, float* dy, int* sy16, int blocks, float* output, int outputStride)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F), bit4 = Vector256.Create((byte)0x10);
        Vector256<short> ones = Vector256.Create((short)1);
        byte* y0 = y + 2, y1 = y0 + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
        for (int b = 0; b < blocks; b++, x += GroupBlockBytes, y0 += 34, y1 += 34, y2 += 34, y3 += 34)
        {
            Vector256<ushort> plane = Avx.LoadVector256((ushort*)(x + PlaneOffset));
            Vector256<int> i0 = Vector256<int>.Zero, i1 = i0, i2 = i0, i3 = i0;
            for (int h = 0; h < 2; h++)
            {
                Vector256<short> s0 = Vector256<short>.Zero, s1 = s0, s2 = s0, s3 = s0;
                for (int k = 2 * h; k < 2 * h + 2; k++)
                {
                    Vector256<byte> bits = Avx.LoadVector256(x + ChunksOffset + 32 * k);
                    Vector256<byte> lo = (bits & low4) | (Shift(plane, 4 - k) & bit4);
                    Vector256<byte> hi = (Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & low4) | (Shift(plane, -k) & bit4);
                    s0 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(y0 + 4 * k)).AsSByte()) + Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(y0 + 16 + 4 * k)).AsSByte());
                    s1 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(y1 + 4 * k)).AsSByte()) + Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(y1 + 16 + 4 * k)).AsSByte());
                    s2 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(y2 + 4 * k)).AsSByte()) + Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(y2 + 16 + 4 * k)).AsSByte());
                    s3 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(y3 + 4 * k)).AsSByte()) + Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(y3 + 16 + 4 * k)).AsSByte());
                }
                i0 += Avx2.MultiplyAddAdjacent(s0, ones);
                i1 += Avx2.MultiplyAddAdjacent(s1, ones);
                i2 += Avx2.MultiplyAddAdjacent(s2, ones);
                i3 += Avx2.MultiplyAddAdjacent(s3, ones);
            }
            Vector256<float> dx = Q4_0Interleaved.WidenScales(x);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i0 - Vector256.Create(sy16[b])), dx * Vector256.Create(dy[b]), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i1 - Vector256.Create(sy16[blocks + b])), dx * Vector256.Create(dy[blocks + b]), acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i2 - Vector256.Create(sy16[2 * blocks + b])), dx * Vector256.Create(dy[2 * blocks + b]), acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(i3 - Vector256.Create(sy16[3 * blocks + b])), dx * Vector256.Create(dy[3 * blocks + b]), acc3);
        }

        Avx.Store(output, acc0);
        Avx.Store(output + outputStride, acc1);
        Avx.Store(output + 2 * outputStride, acc2);
        Avx.Store(output + 3 * outputStride, acc3);
    }
#endif
}
