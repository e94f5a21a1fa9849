using System;
using System.Runtime.CompilerServices;
using NpcSdk.Tensors;
#if NET
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
#endif

namespace NpcSdk.Embeddings
{
    /// <summary>
    /// Q8_0 weight row · Q8_0 activation row in the summation order of llama.cpp's batched matrix product on x86
    /// (llamafile's <c>tinyBLAS_Q0_AVX</c>, which ggml-cpu uses whenever more than one token goes through a Q8_0
    /// matrix): one 8-lane float accumulator, each lane adding d_w·d_a × (integer dot of 4 consecutive bytes) per block
    /// with FMA, the lanes folded at the end (8 → 4 → 2 → 1).
    /// </summary>
    /// <remarks>
    /// <see cref="MatVec"/>'s Q8_0 kernel sums in another order (two accumulators), 1 ulp apart; the encoder's activations
    /// are re-quantized to Q8_0 after every matrix, where such differences flip roundings, so it needs llama.cpp's order.
    /// </remarks>
    internal static unsafe class BatchedQ8_0Dot
    {
        private const int BlockBytes = 34;

        /// <summary>Rows [0, count) of <paramref name="weights"/> (rows of <paramref name="blocks"/> Q8_0 blocks) · <paramref name="activation"/>.</summary>
        public static void Rows(ReadOnlySpan<byte> weights, int blocks, ReadOnlySpan<byte> activation, Span<float> output, int count)
        {
            if (weights.Length < count * blocks * BlockBytes || activation.Length < blocks * BlockBytes || output.Length < count)
                throw new ArgumentException("row sizes do not match the Q8_0 block count");
            fixed (byte* w = weights)
            fixed (byte* a = activation)
            {
                for (int r = 0; r < count; r++) output[r] = Dot(w + (long)r * blocks * BlockBytes, a, blocks);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static float Scale(byte* block) => Half16.ToFloat((ushort)(block[0] | (block[1] << 8)));

        private static float Dot(byte* x, byte* y, int blocks)
        {
#if NET
            if (Avx2.IsSupported && Fma.IsSupported)
            {
                Vector256<float> acc = Vector256<float>.Zero;
                Vector256<short> ones = Vector256.Create((short)1);
                for (int b = 0; b < blocks; b++, x += BlockBytes, y += BlockBytes)
                {
                    Vector256<sbyte> qx = Avx.LoadVector256((sbyte*)(x + 2));
                    Vector256<sbyte> qy = Avx.LoadVector256((sbyte*)(y + 2));
                    Vector256<short> pairs = Avx2.MultiplyAddAdjacent(Avx2.Sign(qx, qx).AsByte(), Avx2.Sign(qy, qx));
                    Vector256<int> quads = Avx2.MultiplyAddAdjacent(pairs, ones);
                    acc = Fma.MultiplyAdd(Vector256.Create(Scale(x) * Scale(y)), Avx.ConvertToVector256Single(quads), acc);
                }
                Vector128<float> r = Sse.Add(acc.GetUpper(), acc.GetLower());
                r = Sse.Add(r, Sse.MoveHighToLow(r, r));
                r = Sse.AddScalar(r, Sse3.MoveHighAndDuplicate(r));
                return r.ToScalar();
            }
#endif
            float* lanes = stackalloc float[8];
            for (int l = 0; l < 8; l++) lanes[l] = 0f;
            for (int b = 0; b < blocks; b++, x += BlockBytes, y += BlockBytes)
            {
                float d = Scale(x) * Scale(y);
                sbyte* qx = (sbyte*)(x + 2), qy = (sbyte*)(y + 2);
                for (int l = 0; l < 8; l++)
                {
                    int sum = qx[4 * l] * qy[4 * l] + qx[4 * l + 1] * qy[4 * l + 1] + qx[4 * l + 2] * qy[4 * l + 2] + qx[4 * l + 3] * qy[4 * l + 3];
                    lanes[l] = ScalarFma.Compute(d, sum, lanes[l]);
                }
            }
            float r0 = lanes[4] + lanes[0], r1 = lanes[5] + lanes[1], r2 = lanes[6] + lanes[2], r3 = lanes[7] + lanes[3];
            return (r0 + r2) + (r1 + r3);
        }
    }
}
