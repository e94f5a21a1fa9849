using System;
#if NET
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace NpcSdk.Tensors;

/// <summary>
/// Q4_0 weights laid out again for the 8-row kernels, as ggml's CPU_REPACK buffers do for <c>block_q4_0x8</c> (our own
/// order): rows in groups of 8, a group's 32-column blocks one after another, each block 144 bytes: the 8 rows' F16
/// scales, then 4 chunks of 32 bytes, chunk k holding quant bytes 4k..4k+3 of rows 0..7. One 32-byte load then gives
/// every row of the group four weights (low nibbles) and the four 16 columns on (high nibbles), so a row's sum stays in
/// its own int32 lane without horizontal adds, the scales widen in one go, and the weights stream from one address
/// instead of eight. Each output gets the arithmetic of <c>VecDotAvx2.Repacked</c>: per block
/// <c>fma(exact integer dot, d_x * d_y, acc)</c>.
/// </summary>
internal static unsafe class Q4_0Interleaved
{
    /// <summary>Rows per group.</summary>
    public const int GroupRows = 8;

    /// <summary>Bytes of one group's 32 columns: 8 x (2 bytes of scale + 16 of quants).</summary>
    public const int GroupBlockBytes = 144;

    /// <summary>Bytes of one group of 8 rows of <paramref name="cols"/> columns (the same as the 8 rows in Q4_0).</summary>
    public static long GroupBytes(int cols) => (long)(cols / 32) * GroupBlockBytes;

    /// <summary>Whether the layout applies to a matrix of this shape: a multiple of 8 rows.</summary>
    public static bool CanRepack(int rows, int cols) => rows > 0 && rows % GroupRows == 0 && cols % 32 == 0;

    /// <summary>
    /// Lays out groups [<paramref name="groupStart"/>, <paramref name="groupEnd"/>) of Q4_0 <paramref name="src"/> into
    /// <paramref name="dst"/>. Returns false if a scale is infinite or NaN: the kernels widen the scales with integer
    /// operations, exact for every finite F16 but not for those, so such a matrix keeps its row-major layout.
    /// </summary>
    public static bool Repack(byte* src, int cols, byte* dst, int groupStart, int groupEnd)
    {
        int blocks = cols / 32;
        long rowBytes = blocks * 18L;
        bool finite = true;
        for (int g = groupStart; g < groupEnd; g++)
        {
            byte* rows = src + g * GroupRows * rowBytes;
            byte* d = dst + g * GroupBytes(cols);
            for (int b = 0; b < blocks; b++, d += GroupBlockBytes)
            {
                for (int r = 0; r < GroupRows; r++)
                {
                    byte* block = rows + r * rowBytes + b * 18L;
                    ushort scale = *(ushort*)block;
                    finite &= (scale & 0x7C00) != 0x7C00;
                    *(ushort*)(d + 2 * r) = scale;
                    for (int k = 0; k < 4; k++) *(uint*)(d + 16 + 32 * k + 4 * r) = *(uint*)(block + 2 + 4 * k);
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
        public static long GroupBytes(int cols) => Q4_0Interleaved.GroupBytes(cols);
        public static int Offset => 8;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Gemv(byte* x, byte* y, float* dy, int* sy, int blocks, float* output) => Q4_0Interleaved.Gemv(x, y, dy, sy, blocks, output);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Gemm4(byte* x, byte* y, long yStride, float* dy, int* sy, int blocks, float* output, int outputStride) =>
            Q4_0Interleaved.Gemm4(x, y, yStride, dy, sy, blocks, output, outputStride);
    }

    /// <summary>
    /// Eight F16 values to float, exact for every finite one: the magnitude's bits moved into a float's exponent and
    /// mantissa fields read as a float 2^112 too small (denormals included), then scaled, then the sign.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> WidenScales(byte* p)
    {
        Vector256<int> h = Avx2.ConvertToVector256Int32((ushort*)p);
        Vector256<float> magnitude = Avx2.ShiftLeftLogical(h & Vector256.Create(0x7FFF), 13).AsSingle() * Vector256.Create(5.192296858534828e33f);
        return (magnitude.AsInt32() | Avx2.ShiftLeftLogical(h & Vector256.Create(0x8000), 16)).AsSingle();
    }

    /// <summary>The i16 pair sums of one chunk's low and high nibbles against the four activation bytes each multiplies.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Chunk(Vector256<byte> bits, byte* y, int k, Vector256<byte> low4) =>
        Avx2.MultiplyAddAdjacent(bits & low4, Vector256.Create(*(int*)(y + 4 * k)).AsSByte())
        + Avx2.MultiplyAddAdjacent(Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & low4, Vector256.Create(*(int*)(y + 16 + 4 * k)).AsSByte());

    /// <summary>
    /// One group against one activation (its quants at <paramref name="y"/> + 2). The eight i16 pair sums of a lane add
    /// up to at most 8 x 2 x 15 x 128 = 30720 in magnitude, so they stay exact in 16 bits before widening.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemv(byte* x, byte* y, float* dy, int* sy8, int blocks, float* output)
    {
        Vector256<float> acc = Vector256<float>.Zero;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        Vector256<short> ones = Vector256.Create((short)1);
        y += 2;
        for (int b = 0; b < blocks; b++, x += GroupBlockBytes, y += 34)
        {
            Vector256<short> s = Chunk(Avx.LoadVector256(x + 16), y, 0, low4) + Chunk(Avx.LoadVector256(x + 48), y, 1, low4)
                + Chunk(Avx.LoadVector256(x + 80), y, 2, low4) + Chunk(Avx.LoadVector256(x + 112), y, 3, low4);
            Vector256<int> total = Avx2.MultiplyAddAdjacent(s, ones) - Vector256.Create(sy8[b]);
            acc = Fma.MultiplyAdd(Avx.ConvertToVector256Single(total), WidenScales(x) * Vector256.Create(dy[b]), acc);
        }

        Avx.Store(output, acc);
    }

    /// <summary>One group against four activations <paramref name="yStride"/> bytes apart: each chunk unpacked once for the four.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gemm4(byte* x, byte* y, long yStride, float* dy, int* sy8, int blocks, float* output, int outputStride)
    {
        Vector256<float> acc0 = Vector256<float>.Zero, acc1 = acc0, acc2 = acc0, acc3 = acc0;
        Vector256<byte> low4 = Vector256.Create((byte)0x0F);
        Vector256<short> ones = Vector256.Create((short)1);
        byte* y0 = y + 2, y1 = y0 + yStride, y2 = y1 + yStride, y3 = y2 + yStride;
        for (int b = 0; b < blocks; b++, x += GroupBlockBytes, y0 += 34, y1 += 34, y2 += 34, y3 += 34)
        {
            Vector256<short> s0 = Vector256<short>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (int k = 0; k < 4; k++)
            {
                Vector256<byte> bits = Avx.LoadVector256(x + 16 + 32 * k);
                Vector256<byte> lo = bits & low4, hi = Avx2.ShiftRightLogical(bits.AsUInt16(), 4).AsByte() & low4;
                s0 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(y0 + 4 * k)).AsSByte()) + Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(y0 + 16 + 4 * k)).AsSByte());
                s1 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(y1 + 4 * k)).AsSByte()) + Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(y1 + 16 + 4 * k)).AsSByte());
                s2 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(y2 + 4 * k)).AsSByte()) + Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(y2 + 16 + 4 * k)).AsSByte());
                s3 += Avx2.MultiplyAddAdjacent(lo, Vector256.Create(*(int*)(y3 + 4 * k)).AsSByte()) + Avx2.MultiplyAddAdjacent(hi, Vector256.Create(*(int*)(y3 + 16 + 4 * k)).AsSByte());
            }
            Vector256<float> dx = WidenScales(x);
            acc0 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(s0, ones) - Vector256.Create(sy8[b])), dx * Vector256.Create(dy[b]), acc0);
            acc1 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(s1, ones) - Vector256.Create(sy8[blocks + b])), dx * Vector256.Create(dy[blocks + b]), acc1);
            acc2 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(s2, ones) - Vector256.Create(sy8[2 * blocks + b])), dx * Vector256.Create(dy[2 * blocks + b]), acc2);
            acc3 = Fma.MultiplyAdd(Avx.ConvertToVector256Single(Avx2.MultiplyAddAdjacent(s3, ones) - Vector256.Create(sy8[3 * blocks + b])), dx * Vector256.Create(dy[3 * blocks + b]), acc3);
        }

        Avx.Store(output, acc0);
        Avx.Store(output + outputStride, acc1);
        Avx.Store(output + 2 * outputStride, acc2);
        Avx.Store(output + 3 * outputStride, acc3);
    }
#endif
}
