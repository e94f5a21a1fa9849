#if NETSTANDARD2_0
using System;

namespace NpcSdk
{
    /// <summary>
    /// System.MathF for netstandard2.0, which has none: each function runs in double and rounds once to float. In the
    /// root namespace, it is the <c>MathF</c> that code in NpcSdk.* namespaces binds to. <c>Abs</c> and <c>Round</c>
    /// avoid Math's, which are internal calls on Mono (slow in the quantizers' inner loops).
    /// </summary>
    internal static class MathF
    {
        public static float Abs(float x) => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(x) & int.MaxValue);

        public static float Cos(float x) => (float)Math.Cos(x);

        public static float Exp(float x) => (float)Math.Exp(x);

        public static float Log(float x) => (float)Math.Log(x);

        public static float Pow(float x, float y) => (float)Math.Pow(x, y);

        public static float Round(float x, MidpointRounding mode)
        {
            // Adding and subtracting 1.5 * 2^52 rounds a double below 2^51 in magnitude to an integer, ties to even;
            // x * 0 keeps the sign of a zero result.
            const double Shift = 6755399441055744.0;
            if (mode != MidpointRounding.ToEven || !(x > -2251799813685248.0 && x < 2251799813685248.0)) return (float)Math.Round(x, mode);
            double r = (x + Shift) - Shift;
            return r == 0 ? x * 0f : (float)r;
        }

        public static float Sin(float x) => (float)Math.Sin(x);

        public static float Sqrt(float x) => (float)Math.Sqrt(x);

        public static float Tanh(float x) => (float)Math.Tanh(x);
    }
}
#endif
