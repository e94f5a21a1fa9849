using System;

namespace NpcSdk.Tensors;

/// <summary>
/// How the K-quants pack their sub-block scales (ggml-common.h / ggml-quants.c), shared by the dequantizer,
/// the quantizers and the dot-product kernels.
/// </summary>
internal static class KQuantScales
{
    /// <summary>
    /// Q4_K / Q5_K: eight 6-bit scales and eight 6-bit mins packed in 12 bytes (ggml's <c>get_scale_min_k4</c>).
    /// </summary>
    public static void GetScaleMinK4(int j, ReadOnlySpan<byte> q, out byte scale, out byte min)
    {
        if (j < 4)
        {
            scale = (byte)(q[j] & 63);
            min = (byte)(q[j + 4] & 63);
        }
        else
        {
            scale = (byte)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
            min = (byte)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
        }
    }

    /// <summary>Q4_K / Q5_K: all eight scales and mins at once.</summary>
    public static void UnpackK4(ReadOnlySpan<byte> q, Span<byte> scales, Span<byte> mins)
    {
        for (int j = 0; j < 8; j++)
        {
            GetScaleMinK4(j, q, out scales[j], out mins[j]);
        }
    }

    /// <summary>
    /// Q3_K: sixteen 6-bit scales packed in 12 bytes (low 4 bits in bytes 0..7, high 2 bits in bytes 8..11),
    /// returned with the offset of 32 already removed (range -32..31).
    /// </summary>
    public static void UnpackQ3K(ReadOnlySpan<byte> q, Span<sbyte> scales)
    {
        for (int j = 0; j < 16; j++)
        {
            int low = j < 8 ? q[j] & 0xF : q[j - 8] >> 4;
            int high = (q[8 + (j % 4)] >> (2 * (j / 4))) & 3;
            scales[j] = (sbyte)((low | (high << 4)) - 32);
        }
    }
}
