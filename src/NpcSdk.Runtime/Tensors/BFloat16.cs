using System;

namespace NpcSdk.Tensors;

/// <summary>
/// bfloat16 conversions, bit-exact with ggml's <c>ggml_compute_fp32_to_bf16</c> / <c>ggml_compute_bf16_to_fp32</c>:
/// round to nearest even, NaNs forced quiet, subnormals kept (not flushed).
/// </summary>
internal static class BFloat16
{
    public static float ToFloat(ushort b) => BitConverter.Int32BitsToSingle(b << 16);

    public static ushort FromFloat(float f)
    {
        uint u = (uint)BitConverter.SingleToInt32Bits(f);
        if ((u & 0x7FFFFFFFu) > 0x7F800000u)
        {
            return (ushort)((u >> 16) | 64u);
        }

        return (ushort)((u + (0x7FFFu + ((u >> 16) & 1u))) >> 16);
    }
}
