using System;

namespace NpcSdk.Tensors;

/// <summary>
/// Q8_0 weights with long rows laid out again in groups of 4 rows, block by block: a group's 32-column blocks one after
/// another, each the 4 rows' 34-byte Q8_0 blocks in row order (136 bytes). The one-token kernel then reads four rows at
/// once, four FMA chains hiding each other's latency, from one stream that the hardware prefetcher follows (four rows
/// read where they lie in the file are four streams it does not, see <c>MatVec</c>). Each output keeps
/// ggml_vec_dot_q8_0_q8_0's arithmetic. Rows of up to <see cref="MatVec.StreamedQ8_0MaxCols"/> columns already stream
/// well in place and are not laid out again.
/// </summary>
internal static unsafe class Q8_0Interleaved
{
    /// <summary>Rows per group.</summary>
    public const int GroupRows = 4;

    /// <summary>Bytes of one group's 32 columns.</summary>
    public const int GroupBlockBytes = 4 * 34;

    /// <summary>Bytes of one group of 4 rows of <paramref name="cols"/> columns (the same as the 4 rows in Q8_0).</summary>
    public static long GroupBytes(int cols) => (long)(cols / 32) * GroupBlockBytes;

    /// <summary>Whether the layout applies: a multiple of 4 rows longer than <see cref="MatVec.StreamedQ8_0MaxCols"/> columns.</summary>
    public static bool CanRepack(int rows, int cols) => rows > 0 && rows % GroupRows == 0 && cols % 32 == 0 && cols > MatVec.StreamedQ8_0MaxCols;

    /// <summary>
    /// Lays out groups [<paramref name="groupStart"/>, <paramref name="groupEnd"/>) of Q8_0 <paramref name="src"/> into
    /// <paramref name="dst"/>. Returns true: the kernel reads every F16 scale through the exact conversion table.
    /// </summary>
    public static bool Repack(byte* src, int cols, byte* dst, int groupStart, int groupEnd)
    {
        int blocks = cols / 32;
        long rowBytes = blocks * 34L;
        for (int g = groupStart; g < groupEnd; g++)
        {
            byte* rows = src + g * GroupRows * rowBytes;
            byte* d = dst + g * GroupBytes(cols);
            for (int b = 0; b < blocks; b++, d += GroupBlockBytes)
                for (int r = 0; r < GroupRows; r++)
                    Buffer.MemoryCopy(rows + r * rowBytes + b * 34L, d + 34 * r, 34, 34);
        }
        return true;
    }

#if NET
    public static bool IsSupported => VecDotAvx2.IsSupported;

    /// <summary>Bytes of weights a row block of a batch aims for (as the row-major batched path).</summary>
    private const int RowBlockBytes = 16384;

    [ThreadStatic] private static byte[]? t_rows;

    /// <summary>
    /// <c>output[t * outputStride + r] = row r · activation t</c> for the <paramref name="groups"/> groups at
    /// <paramref name="packed"/> and <paramref name="tokens"/> Q8_0 activations <paramref name="activationBytes"/> apart.
    /// A batch puts each block of rows back in row order first (a copy from cache, small next to the batch's
    /// arithmetic) and runs <see cref="VecDotAvx2.Q8_0Tiled"/> on it.
    /// </summary>
    public static void Compute(byte* packed, int cols, int groups, byte* activations, long activationBytes, int tokens, float* output, int outputStride)
    {
        int blocks = cols / 32;
        long groupBytes = GroupBytes(cols);
        if (tokens == 1)
        {
            // Rows 34 bytes apart, a row's blocks 136: one stream the prefetcher follows, no software prefetch.
            for (int g = 0; g < groups; g++) VecDotAvx2.Q8_0x4(packed + g * groupBytes, 34, activations, blocks, output + g * GroupRows, null, GroupBlockBytes);
            return;
        }

        // At least 16 rows, as the row-major path: the tiled kernel widens the activations' scales once per call.
        int groupBlock = (int)Math.Max(16 / GroupRows, RowBlockBytes / groupBytes);
        long needed = groupBlock * groupBytes;
        byte[] scratch = t_rows is { } s && s.Length >= needed ? s : t_rows = new byte[needed];
        fixed (byte* rows = scratch)
        {
            for (int g0 = 0; g0 < groups; g0 += groupBlock)
            {
                int n = Math.Min(groupBlock, groups - g0);
                Unpack(packed + g0 * groupBytes, blocks, n, rows);
                VecDotAvx2.Q8_0Tiled(rows, blocks * 34L, n * GroupRows, activations, activationBytes, tokens, blocks, output + g0 * GroupRows, outputStride);
            }
        }
    }

    /// <summary>Groups back to Q8_0 rows in row order.</summary>
    private static void Unpack(byte* packed, int blocks, int groups, byte* rows)
    {
        long rowBytes = blocks * 34L;
        for (int g = 0; g < groups; g++)
        {
            byte* dst = rows + g * GroupRows * rowBytes;
            for (int b = 0; b < blocks; b++, packed += GroupBlockBytes)
                for (int r = 0; r < GroupRows; r++)
                    Buffer.MemoryCopy(packed + 34 * r, dst + r * rowBytes + b * 34L, 34, 34);
        }
    }
#endif
}
