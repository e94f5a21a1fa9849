using System.Runtime.CompilerServices;

namespace NpcSdk.Embeddings
{
    /// <summary>a·b + c rounded once, the FMA that ggml's vector code and GCC's contracted expressions use.</summary>
    internal static class ScalarFma
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Compute(float a, float b, float c)
        {
#if NET
            return System.MathF.FusedMultiplyAdd(a, b, c);
#else
            // netstandard2.1 has no float FMA. The product of two floats is exact in double, so only the sum is rounded
            // twice (to double, then to float): a last-bit difference in rare ties, within the managed fallback's tolerance.
            return (float)((double)a * b + c);
#endif
        }
    }
}
