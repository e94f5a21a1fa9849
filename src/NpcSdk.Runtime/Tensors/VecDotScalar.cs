using System;
using NpcSdk.Compute;

namespace NpcSdk.Tensors;

/// <summary>
/// Dot products in plain C#, one per weight format, of a weight row with an activation row already converted to the
/// partner format (<see cref="TensorTypeInfo.VecDotType"/>). They compute exactly what <c>VecDotAvx2</c> (that
/// is, ggml's AVX2 kernels) computes: the same exact int32 lanes (element e of a 32-element group lands in lane
/// (e mod 32) / 4), the same FMA per block and lane, the same horizontal sums, so netstandard2.1 (Unity) and CPUs
/// without AVX2 get the same bits, only slower. <c>x</c> is the weight row, <c>y</c> the activation.
/// </summary>
internal static unsafe class VecDotScalar
{
    public static float Dot(TensorType t, ReadOnlySpan<byte> weightRow, ReadOnlySpan<byte> activationRow, int n)
    {
        VecDot.CheckRows(t, weightRow.Length, activationRow.Length, n);
        fixed (byte* x = weightRow)
        fixed (byte* y = activationRow)
        {
            return Dot(t, x, y, n);
        }
    }

    internal static float Dot(TensorType t, byte* x, byte* y, int n)
    {
        switch (t)
        {
            case TensorType.F32: return F32(x, y, n);
            case TensorType.F16: return F16(x, y, n);
            case TensorType.BF16: return BF16(x, y, n);
            case TensorType.Q4_0: return Q4_0(x, y, n / 32);
            case TensorType.Q4_1: return Q4_1(x, y, n / 32);
            case TensorType.Q5_0: return Q5_0(x, y, n / 32);
            case TensorType.Q5_1: return Q5_1(x, y, n / 32);
            case TensorType.Q8_0: return Q8_0(x, y, n / 32);
            case TensorType.Q8_1: return Q8_1(x, y, n / 32);
            case TensorType.Q2_K: return Q2_K(x, y, n / 256);
            case TensorType.Q3_K: return Q3_K(x, y, n / 256);
            case TensorType.Q4_K: return Q4_K(x, y, n / 256);
            case TensorType.Q5_K: return Q5_K(x, y, n / 256);
            case TensorType.Q6_K: return Q6_K(x, y, n / 256);
            case TensorType.Q8_K: return Q8_K(x, y, n / 256);
            default: throw TensorTypeInfo.Unsupported(t);
        }
    }

    internal static float Half(byte* p) => Half16.ToFloat(*(ushort*)p);

    /// <summary>ggml_vec_dot_f32: 32 lanes (four 8-lane accumulators) of FMAs, GGML_F32x8_REDUCE, then the leftovers.</summary>
    public static float F32(byte* x, byte* y, int n)
    {
        float* a = (float*)x;
        float* b = (float*)y;
        float* acc = stackalloc float[32];
        for (int l = 0; l < 32; l++) acc[l] = 0f;
        int np = n & ~31;
        for (int i = 0; i < np; i++) acc[i & 31] = GgmlMath.FusedMultiplyAdd(a[i], b[i], acc[i & 31]);
        float sum = GgmlMath.Reduce4x8(new ReadOnlySpan<float>(acc, 32));
        for (int i = np; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>ggml_vec_dot_f16: as <see cref="F32(byte*, byte*, int)"/> on widened values, reduced into a double.</summary>
    public static float F16(byte* x, byte* y, int n)
    {
        ushort* a = (ushort*)x;
        ushort* b = (ushort*)y;
        float[] table = Half16.ToFloatTable;
        float* acc = stackalloc float[32];
        for (int l = 0; l < 32; l++) acc[l] = 0f;
        int np = n & ~31;
        for (int i = 0; i < np; i++) acc[i & 31] = GgmlMath.FusedMultiplyAdd(table[a[i]], table[b[i]], acc[i & 31]);
        double sum = GgmlMath.Reduce4x8(new ReadOnlySpan<float>(acc, 32));
        for (int i = np; i < n; i++) sum += table[a[i]] * table[b[i]];
        return (float)sum;
    }

    /// <summary>ggml_vec_dot_bf16 (AVX2): four 8-lane accumulators c1..c4, hsum of (c1+c3)+(c2+c4), leftovers in double.</summary>
    public static float BF16(byte* x, byte* y, int n)
    {
        ushort* a = (ushort*)x;
        ushort* b = (ushort*)y;
        float* acc = stackalloc float[32];
        for (int l = 0; l < 32; l++) acc[l] = 0f;
        int np = n & ~31;
        for (int i = 0; i < np; i++) acc[i & 31] = GgmlMath.FusedMultiplyAdd(BFloat16.ToFloat(a[i]), BFloat16.ToFloat(b[i]), acc[i & 31]);
        double sum = GgmlMath.Hsum8(
            (acc[0] + acc[16]) + (acc[8] + acc[24]), (acc[1] + acc[17]) + (acc[9] + acc[25]),
            (acc[2] + acc[18]) + (acc[10] + acc[26]), (acc[3] + acc[19]) + (acc[11] + acc[27]),
            (acc[4] + acc[20]) + (acc[12] + acc[28]), (acc[5] + acc[21]) + (acc[13] + acc[29]),
            (acc[6] + acc[22]) + (acc[14] + acc[30]), (acc[7] + acc[23]) + (acc[15] + acc[31]));
        for (int i = np; i < n; i++) sum += BFloat16.ToFloat(a[i]) * BFloat16.ToFloat(b[i]);
        return (float)sum;
    }

    /// <summary>Q4_0 block: fp16 d, 16 bytes of nibbles (low nibbles = elements 0..15, high = 16..31), value (q-8)*d.</summary>
    public static float Q4_0(byte* x, byte* y, int blocks)
    {
        float* acc = stackalloc float[8];
        int* w = stackalloc int[32];
        ClearLanes(acc);
        for (int b = 0; b < blocks; b++, x += 18, y += 34)
        {
            for (int j = 0; j < 16; j++)
            {
                w[j] = (x[2 + j] & 0xF) - 8;
                w[j + 16] = (x[2 + j] >> 4) - 8;
            }

            BlockLanes(acc, w, (sbyte*)(y + 2), Half(x) * Half(y));
        }

        return Hsum(acc);
    }

    /// <summary>Q4_1 block: fp16 d, fp16 m, nibbles; value q*d+m. The m term uses the Q8_1 block sum s = d_y*sum(q_y).</summary>
    public static float Q4_1(byte* x, byte* y, int blocks)
    {
        float* acc = stackalloc float[8];
        int* w = stackalloc int[32];
        ClearLanes(acc);
        float summs = 0f;
        for (int b = 0; b < blocks; b++, x += 20, y += 36)
        {
            summs = GgmlMath.FusedMultiplyAdd(Half(x + 2), Half(y + 2), summs);
            for (int j = 0; j < 16; j++)
            {
                w[j] = x[4 + j] & 0xF;
                w[j + 16] = x[4 + j] >> 4;
            }

            BlockLanes(acc, w, (sbyte*)(y + 4), Half(x) * Half(y));
        }

        return Hsum(acc) + summs;
    }

    /// <summary>Q5_0 block: fp16 d, 32 high bits, nibbles; value (q-16)*d.</summary>
    public static float Q5_0(byte* x, byte* y, int blocks)
    {
        float* acc = stackalloc float[8];
        int* w = stackalloc int[32];
        ClearLanes(acc);
        for (int b = 0; b < blocks; b++, x += 22, y += 34)
        {
            uint qh = *(uint*)(x + 2);
            for (int j = 0; j < 16; j++)
            {
                w[j] = ((x[6 + j] & 0xF) | (int)(((qh >> j) & 1) << 4)) - 16;
                w[j + 16] = ((x[6 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4)) - 16;
            }

            BlockLanes(acc, w, (sbyte*)(y + 2), Half(x) * Half(y));
        }

        return Hsum(acc);
    }

    /// <summary>Q5_1 block: fp16 d, fp16 m, 32 high bits, nibbles; value q*d+m.</summary>
    public static float Q5_1(byte* x, byte* y, int blocks)
    {
        float* acc = stackalloc float[8];
        int* w = stackalloc int[32];
        ClearLanes(acc);
        float summs = 0f;
        for (int b = 0; b < blocks; b++, x += 24, y += 36)
        {
            summs = GgmlMath.FusedMultiplyAdd(Half(x + 2), Half(y + 2), summs);
            uint qh = *(uint*)(x + 4);
            for (int j = 0; j < 16; j++)
            {
                w[j] = (x[8 + j] & 0xF) | (int)(((qh >> j) & 1) << 4);
                w[j + 16] = (x[8 + j] >> 4) | (int)(((qh >> (j + 16)) & 1) << 4);
            }

            BlockLanes(acc, w, (sbyte*)(y + 4), Half(x) * Half(y));
        }

        return Hsum(acc) + summs;
    }

    /// <summary>Q8_0 block: fp16 d, 32 signed bytes.</summary>
    /// <remarks>
    /// The same lanes as <see cref="BlockLanes"/>, written out with the accumulators in locals: the hot loop of every
    /// Q8_0 model on the netstandard builds, whose JITs (Mono's above all) keep neither the copy nor the call cheap.
    /// </remarks>
    public static float Q8_0(byte* x, byte* y, int blocks)
    {
        float a0 = 0f, a1 = 0f, a2 = 0f, a3 = 0f, a4 = 0f, a5 = 0f, a6 = 0f, a7 = 0f;
        for (int b = 0; b < blocks; b++, x += 34, y += 34)
        {
            sbyte* p = (sbyte*)(x + 2);
            sbyte* q = (sbyte*)(y + 2);
            float d = Half(x) * Half(y);
            a0 = GgmlMath.FusedMultiplyAdd(d, p[0] * q[0] + p[1] * q[1] + p[2] * q[2] + p[3] * q[3], a0);
            a1 = GgmlMath.FusedMultiplyAdd(d, p[4] * q[4] + p[5] * q[5] + p[6] * q[6] + p[7] * q[7], a1);
            a2 = GgmlMath.FusedMultiplyAdd(d, p[8] * q[8] + p[9] * q[9] + p[10] * q[10] + p[11] * q[11], a2);
            a3 = GgmlMath.FusedMultiplyAdd(d, p[12] * q[12] + p[13] * q[13] + p[14] * q[14] + p[15] * q[15], a3);
            a4 = GgmlMath.FusedMultiplyAdd(d, p[16] * q[16] + p[17] * q[17] + p[18] * q[18] + p[19] * q[19], a4);
            a5 = GgmlMath.FusedMultiplyAdd(d, p[20] * q[20] + p[21] * q[21] + p[22] * q[22] + p[23] * q[23], a5);
            a6 = GgmlMath.FusedMultiplyAdd(d, p[24] * q[24] + p[25] * q[25] + p[26] * q[26] + p[27] * q[27], a6);
            a7 = GgmlMath.FusedMultiplyAdd(d, p[28] * q[28] + p[29] * q[29] + p[30] * q[30] + p[31] * q[31], a7);
        }

        return GgmlMath.Hsum8(a0, a1, a2, a3, a4, a5, a6, a7);
    }

    private static void ClearLanes(float* acc)
    {
        for (int l = 0; l < 8; l++) acc[l] = 0f;
    }

    private static float Hsum(float* acc) => GgmlMath.Hsum8(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5], acc[6], acc[7]);

    /// <summary>One 32-element block: lane l = sum of elements 4l..4l+3 (exact), then acc[l] = fma(d, lane, acc[l]).</summary>
    private static void BlockLanes(float* acc, int* w, sbyte* q8, float d)
    {
        for (int l = 0; l < 8; l++)
        {
            int s = w[4 * l] * q8[4 * l] + w[4 * l + 1] * q8[4 * l + 1] + w[4 * l + 2] * q8[4 * l + 2] + w[4 * l + 3] * q8[4 * l + 3];
            acc[l] = GgmlMath.FusedMultiplyAdd(d, s, acc[l]);
        }
    }

    /// <summary>Q8_1 with Q8_1 (ggml has no such kernel; provided so every format has a dot product).</summary>
    public static float Q8_1(byte* x, byte* y, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 36, y += 36)
        {
            sbyte* qx = (sbyte*)(x + 4);
            sbyte* qy = (sbyte*)(y + 4);
            int isum = 0;
            for (int j = 0; j < 32; j++)
            {
                isum += qx[j] * qy[j];
            }

            sum += Half(x) * Half(y) * isum;
        }

        return sum;
    }

    /// <summary>Q8_K with Q8_K (ggml has no such kernel; provided so every format has a dot product).</summary>
    public static float Q8_K(byte* x, byte* y, int blocks)
    {
        float sum = 0;
        for (int b = 0; b < blocks; b++, x += 292, y += 292)
        {
            sbyte* qx = (sbyte*)(x + 4);
            sbyte* qy = (sbyte*)(y + 4);
            int isum = 0;
            for (int j = 0; j < 256; j++)
            {
                isum += qx[j] * qy[j];
            }

            sum += *(float*)x * *(float*)y * isum;
        }

        return sum;
    }

    /// <summary>
    /// Q2_K super-block: scales[16] (low nibble scale, high nibble min), qs[64] (2 bits, 4 planes of 32 per 128
    /// elements), fp16 d, fp16 dmin. value = d*sc*q - dmin*m; the min term uses the Q8_K 16-element sums, lane l
    /// taking groups 2l and 2l+1, FMA'd into the same accumulator before the scale term.
    /// </summary>
    public static float Q2_K(byte* x, byte* y, int blocks)
    {
        float* acc = stackalloc float[8];
        int* w = stackalloc int[256];
        int* lanes = stackalloc int[8];
        ClearLanes(acc);
        for (int b = 0; b < blocks; b++, x += 84, y += 292)
        {
            float dy = *(float*)y;
            short* bsums = (short*)(y + 260);
            for (int e = 0; e < 256; e++)
            {
                int q = (x[16 + 32 * (e >> 7) + (e & 31)] >> (2 * ((e >> 5) & 3))) & 3;
                w[e] = (x[e >> 4] & 0xF) * q;
            }

            float dmin = -dy * Half(x + 82);
            for (int l = 0; l < 8; l++)
                acc[l] = GgmlMath.FusedMultiplyAdd(dmin, (x[2 * l] >> 4) * bsums[2 * l] + (x[2 * l + 1] >> 4) * bsums[2 * l + 1], acc[l]);
            SuperBlockLanes(w, (sbyte*)(y + 4), lanes);
            AddLanes(acc, lanes, dy * Half(x + 80));
        }

        return Hsum(acc);
    }

    /// <summary>
    /// Q3_K super-block: hmask[32] (high bit, cleared means -4), qs[64] (low 2 bits), 12 bytes of 6-bit scales,
    /// fp16 d. value = d*(scale-32)*q.
    /// </summary>
    public static float Q3_K(byte* x, byte* y, int blocks)
    {
        float* acc = stackalloc float[8];
        int* w = stackalloc int[256];
        int* lanes = stackalloc int[8];
        sbyte* scales = stackalloc sbyte[16];
        ClearLanes(acc);
        for (int b = 0; b < blocks; b++, x += 110, y += 292)
        {
            KQuantScales.UnpackQ3K(new ReadOnlySpan<byte>(x + 96, 12), new Span<sbyte>(scales, 16));
            for (int e = 0; e < 256; e++)
            {
                int plane = (e >> 5) & 3, k = e >> 7, l = e & 31;
                int q = ((x[32 + 32 * k + l] >> (2 * plane)) & 3) - ((x[l] & (1 << (4 * k + plane))) != 0 ? 0 : 4);
                w[e] = scales[e >> 4] * q;
            }

            SuperBlockLanes(w, (sbyte*)(y + 4), lanes);
            AddLanes(acc, lanes, *(float*)y * Half(x + 108));
        }

        return Hsum(acc);
    }

    /// <summary>
    /// Q4_K super-block: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins, qs[128] (per 64 elements, 32 bytes:
    /// low nibbles first 32, high nibbles next 32). value = d*sc*q - dmin*m; the mins go through a 4-lane
    /// accumulator (lane k: sub-blocks 2k, 2k+1) reduced as (m0+m2)+(m1+m3).
    /// </summary>
    public static float Q4_K(byte* x, byte* y, int blocks)
    {
        float* acc = stackalloc float[8];
        float* accMin = stackalloc float[4];
        int* w = stackalloc int[256];
        int* lanes = stackalloc int[8];
        int* mins = stackalloc int[4];
        ClearLanes(acc);
        for (int k = 0; k < 4; k++) accMin[k] = 0f;
        for (int b = 0; b < blocks; b++, x += 144, y += 292)
        {
            float dy = *(float*)y;
            K45Weights(x, y, false, w, mins);
            float dmin = -dy * Half(x + 2);
            for (int k = 0; k < 4; k++) accMin[k] = GgmlMath.FusedMultiplyAdd(dmin, mins[k], accMin[k]);
            SuperBlockLanes(w, (sbyte*)(y + 4), lanes);
            AddLanes(acc, lanes, dy * Half(x));
        }

        return Hsum(acc) + ((accMin[0] + accMin[2]) + (accMin[1] + accMin[3]));
    }

    /// <summary>Q5_K super-block: as Q4_K plus qh[32] holding the fifth bit; the mins' integer total goes into a scalar.</summary>
    public static float Q5_K(byte* x, byte* y, int blocks)
    {
        float* acc = stackalloc float[8];
        int* w = stackalloc int[256];
        int* lanes = stackalloc int[8];
        int* mins = stackalloc int[4];
        ClearLanes(acc);
        float summs = 0f;
        for (int b = 0; b < blocks; b++, x += 176, y += 292)
        {
            float dy = *(float*)y;
            K45Weights(x, y, true, w, mins);
            summs = GgmlMath.FusedMultiplyAdd(-dy * Half(x + 2), mins[0] + mins[1] + mins[2] + mins[3], summs);
            SuperBlockLanes(w, (sbyte*)(y + 4), lanes);
            AddLanes(acc, lanes, dy * Half(x));
        }

        return Hsum(acc) + summs;
    }

    /// <summary>
    /// Q6_K super-block: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16] (one per 16 elements), fp16 d.
    /// value = d*scale*(q-32): lanes of scale*q over the unsigned quants, minus 32 * (scale * 16-element activation
    /// sum) for groups 2l and 2l+1 in lane l.
    /// </summary>
    public static float Q6_K(byte* x, byte* y, int blocks)
    {
        float* acc = stackalloc float[8];
        int* w = stackalloc int[256];
        int* lanes = stackalloc int[8];
        ClearLanes(acc);
        for (int b = 0; b < blocks; b++, x += 210, y += 292)
        {
            sbyte* sc = (sbyte*)(x + 192);
            short* bsums = (short*)(y + 260);
            for (int e = 0; e < 256; e++)
            {
                int n = e >> 7, plane = (e >> 5) & 3, l = e & 31;
                int low = x[64 * n + 32 * (plane & 1) + l];
                low = plane < 2 ? low & 0xF : low >> 4;
                int high = (x[128 + 32 * n + l] >> (2 * plane)) & 3;
                w[e] = sc[e >> 4] * (low | (high << 4));
            }

            SuperBlockLanes(w, (sbyte*)(y + 4), lanes);
            for (int l = 0; l < 8; l++) lanes[l] -= 32 * (bsums[2 * l] * sc[2 * l] + bsums[2 * l + 1] * sc[2 * l + 1]);
            AddLanes(acc, lanes, *(float*)y * Half(x + 208));
        }

        return Hsum(acc);
    }

    /// <summary>Lane l = sum over the 256 elements e with (e mod 32) / 4 = l of w[e] * q8[e] (exact).</summary>
    private static void SuperBlockLanes(int* w, sbyte* q8, int* lanes)
    {
        for (int l = 0; l < 8; l++) lanes[l] = 0;
        for (int e = 0; e < 256; e++) lanes[(e & 31) >> 2] += w[e] * q8[e];
    }

    private static void AddLanes(float* acc, int* lanes, float d)
    {
        for (int l = 0; l < 8; l++) acc[l] = GgmlMath.FusedMultiplyAdd(d, lanes[l], acc[l]);
    }

    /// <summary>Q4_K/Q5_K: w[e] = scale * q per element, mins[k] = m[2k]*(32-sum) + m[2k+1]*(32-sum) of sub-blocks 2k, 2k+1.</summary>
    private static void K45Weights(byte* x, byte* y, bool fifthBit, int* w, int* mins)
    {
        byte* scales = stackalloc byte[8];
        byte* minValues = stackalloc byte[8];
        KQuantScales.UnpackK4(new ReadOnlySpan<byte>(x + 4, 12), new Span<byte>(scales, 8), new Span<byte>(minValues, 8));
        byte* qh = x + 16;
        byte* q4 = fifthBit ? x + 48 : x + 16;
        short* bsums = (short*)(y + 260);
        for (int k = 0; k < 4; k++)
            mins[k] = minValues[2 * k] * (bsums[4 * k] + bsums[4 * k + 1]) + minValues[2 * k + 1] * (bsums[4 * k + 2] + bsums[4 * k + 3]);
        for (int e = 0; e < 256; e++)
        {
            int j = e >> 6, l = e & 31;
            bool high = (e & 32) != 0;
            int q = high ? q4[32 * j + l] >> 4 : q4[32 * j + l] & 0xF;
            if (fifthBit && (qh[l] & (1 << (2 * j + (high ? 1 : 0)))) != 0) q += 16;
            w[e] = scales[e >> 5] * q;
        }
    }

    /// <summary>
    /// One output element of the CPU_REPACK Q4_0 / Q4_K kernels (<c>VecDotAvx2.Repacked</c>), or of the managed 8-row
    /// Q5_0 kernels (<see cref="Q5_0Interleaved"/>), which take the same per-block arithmetic.
    /// </summary>
    public static float Repacked(TensorType t, byte* x, byte* y, int n)
    {
        if (t == TensorType.Q5_0)
        {
            float acc = 0f;
            for (int b = 0; b < n / 32; b++, x += 22, y += 34)
            {
                sbyte* qy = (sbyte*)(y + 2);
                uint qh = *(uint*)(x + 2);
                int isum = 0;
                for (int j = 0; j < 16; j++)
                {
                    int lo = (x[6 + j] & 0xF) | (int)((qh >> j) & 1) << 4, hi = (x[6 + j] >> 4) | (int)((qh >> (j + 16)) & 1) << 4;
                    isum += (lo - 16) * qy[j] + (hi - 16) * qy[j + 16];
                }

                acc = GgmlMath.FusedMultiplyAdd(isum, Half(x) * Half(y), acc);
            }

            return acc;
        }

        if (t == TensorType.Q4_0)
        {
            float acc = 0f;
            for (int b = 0; b < n / 32; b++, x += 18, y += 34)
            {
                sbyte* qy = (sbyte*)(y + 2);
                int isum = 0;
                for (int j = 0; j < 16; j++)
                {
                    isum += ((x[2 + j] & 0xF) - 8) * qy[j] + ((x[2 + j] >> 4) - 8) * qy[j + 16];
                }

                acc = GgmlMath.FusedMultiplyAdd(isum, Half(x) * Half(y), acc);
            }

            return acc;
        }

        if (t == TensorType.Q4_K)
        {
            float acc = 0f, accMin = 0f;
            for (int b = 0; b < n / 256; b++, x += 144, y += 292)
            {
                float dy = *(float*)y;
                int s1 = Q45KTotals(x, y, false, out int s2);
                acc = GgmlMath.FusedMultiplyAdd(s1, Half(x) * dy, acc);
                accMin = GgmlMath.FusedMultiplyAdd(s2, Half(x + 2) * dy, accMin);
            }

            return acc - accMin;
        }

        throw TensorTypeInfo.Unsupported(t);
    }

    /// <summary>One output element of the CPU_REPACK 4-row gemm (<c>VecDotAvx2.RepackedGemm</c>).</summary>
    public static float RepackedGemm(TensorType t, byte* x, byte* y, int n)
    {
        if (t != TensorType.Q4_K)
        {
            return Repacked(t, x, y, n);
        }

        byte* scales = stackalloc byte[8];
        byte* minValues = stackalloc byte[8];
        float acc = 0f, accMin = 0f;
        for (int b = 0; b < n / 256; b++, x += 144, y += 292)
        {
            float dy = *(float*)y;
            float d = Half(x) * dy, dmin = Half(x + 2) * dy;
            KQuantScales.UnpackK4(new ReadOnlySpan<byte>(x + 4, 12), new Span<byte>(scales, 8), new Span<byte>(minValues, 8));
            byte* q4 = x + 16;
            sbyte* q8 = (sbyte*)(y + 4);
            short* bsums = (short*)(y + 260);
            for (int j = 0; j < 4; j++, q4 += 32, q8 += 64)
            {
                int lo = 0, hi = 0;
                for (int l = 0; l < 32; l++)
                {
                    lo += (q4[l] & 0xF) * q8[l];
                    hi += (q4[l] >> 4) * q8[l + 32];
                }

                int m = minValues[2 * j] * (bsums[4 * j] + bsums[4 * j + 1]) + minValues[2 * j + 1] * (bsums[4 * j + 2] + bsums[4 * j + 3]);
                acc = GgmlMath.FusedMultiplyAdd(scales[2 * j] * lo + scales[2 * j + 1] * hi, d, acc);
                accMin = GgmlMath.FusedMultiplyAdd(m, dmin, accMin);
            }
        }

        return acc - accMin;
    }

    /// <summary>Q4_K/Q5_K integer totals: sum(sc*q*y) and, in <paramref name="mins"/>, sum(m*bsum32).</summary>
    private static int Q45KTotals(byte* x, byte* y, bool fifthBit, out int mins)
    {
        byte* scales = stackalloc byte[8];
        byte* minValues = stackalloc byte[8];
        KQuantScales.UnpackK4(new ReadOnlySpan<byte>(x + 4, 12), new Span<byte>(scales, 8), new Span<byte>(minValues, 8));
        byte* qh = x + 16;
        byte* q4 = fifthBit ? x + 48 : x + 16;
        sbyte* q8 = (sbyte*)(y + 4);
        short* bsums = (short*)(y + 260);

        mins = 0;
        for (int j = 0; j < 16; j++)
        {
            mins += bsums[j] * minValues[j / 2];
        }

        int isum = 0;
        int m1 = 1, m2 = 2;
        for (int j = 0; j < 4; j++, q4 += 32, q8 += 64, m1 <<= 2, m2 <<= 2)
        {
            int lo = 0, hi = 0;
            for (int l = 0; l < 32; l++)
            {
                int h1 = fifthBit && (qh[l] & m1) != 0 ? 16 : 0;
                int h2 = fifthBit && (qh[l] & m2) != 0 ? 16 : 0;
                lo += ((q4[l] & 0xF) + h1) * q8[l];
                hi += ((q4[l] >> 4) + h2) * q8[l + 32];
            }

            isum += scales[2 * j] * lo + scales[2 * j + 1] * hi;
        }

        return isum;
    }
}
