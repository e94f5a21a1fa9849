using System;

namespace NpcSdk.Tensors;

/// <summary>
/// Reference quantizers of the K-quants: faithful ports of ggml's <c>quantize_row_q{2..6}_K_ref</c> with their
/// scale searches (<c>make_qx_quants</c>, <c>make_q3_quants</c>, <c>make_qkx2_quants</c>). Every float expression
/// keeps ggml's operand order and never fuses a multiply-add (ggml-base is built without FMA contraction), so the
/// bytes match llama-quantize's output.
/// </summary>
internal static partial class Quantizer
{
    private const float GroupMaxEps = 1e-15f;

    private static void Q2_K(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Span<byte> l = stackalloc byte[256];
        Span<byte> laux = stackalloc byte[16];
        Span<float> weights = stackalloc float[16];
        Span<float> mins = stackalloc float[16];
        Span<float> scales = stackalloc float[16];
        const float q4scale = 15f;

        for (int b = 0; b < src.Length / 256; b++)
        {
            ReadOnlySpan<float> x = src.Slice(256 * b, 256);
            Span<byte> y = dst.Slice(84 * b, 84);
            Span<byte> yScales = y.Slice(0, 16);
            Span<byte> yQs = y.Slice(16, 64);

            float maxScale = 0;
            float maxMin = 0;
            for (int j = 0; j < 16; j++)
            {
                for (int i = 0; i < 16; i++)
                {
                    weights[i] = MathF.Abs(x[16 * j + i]);
                }

                scales[j] = MakeQkx2Quants(16, 3, x.Slice(16 * j, 16), weights, l.Slice(16 * j, 16), out mins[j], laux, -0.5f, 0.1f, 15, true);
                if (scales[j] > maxScale)
                {
                    maxScale = scales[j];
                }

                if (mins[j] > maxMin)
                {
                    maxMin = mins[j];
                }
            }

            if (maxScale > 0)
            {
                float iscale = q4scale / maxScale;
                for (int j = 0; j < 16; j++)
                {
                    yScales[j] = (byte)NearestInt(iscale * scales[j]);
                }

                WriteHalf(y, 80, maxScale / q4scale);
            }
            else
            {
                yScales.Clear();
                WriteHalf(y, 80, 0f);
            }

            if (maxMin > 0)
            {
                float iscale = q4scale / maxMin;
                for (int j = 0; j < 16; j++)
                {
                    yScales[j] |= (byte)(NearestInt(iscale * mins[j]) << 4);
                }

                WriteHalf(y, 82, maxMin / q4scale);
            }
            else
            {
                WriteHalf(y, 82, 0f);
            }

            float dAll = Dequantizer.ReadHalf(y, 80);
            float dMin = Dequantizer.ReadHalf(y, 82);
            for (int j = 0; j < 16; j++)
            {
                float d = dAll * (yScales[j] & 0xF);
                if (d == 0f)
                {
                    continue;
                }

                float dm = dMin * (yScales[j] >> 4);
                for (int ii = 0; ii < 16; ii++)
                {
                    int q = NearestInt((x[16 * j + ii] + dm) / d);
                    l[16 * j + ii] = (byte)Math.Max(0, Math.Min(3, q));
                }
            }

            for (int j = 0; j < 256; j += 128)
            {
                for (int i = 0; i < 32; i++)
                {
                    yQs[j / 4 + i] = (byte)(l[j + i] | (l[j + i + 32] << 2) | (l[j + i + 64] << 4) | (l[j + i + 96] << 6));
                }
            }
        }
    }

    private static void Q3_K(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Span<sbyte> l = stackalloc sbyte[256];
        Span<float> scales = stackalloc float[16];

        for (int b = 0; b < src.Length / 256; b++)
        {
            ReadOnlySpan<float> x = src.Slice(256 * b, 256);
            Span<byte> y = dst.Slice(110 * b, 110);
            Span<byte> hmask = y.Slice(0, 32);
            Span<byte> qs = y.Slice(32, 64);
            Span<byte> yScales = y.Slice(96, 12);

            float maxScale = 0;
            float amax = 0;
            for (int j = 0; j < 16; j++)
            {
                scales[j] = MakeQ3Quants(16, 4, x.Slice(16 * j, 16), l.Slice(16 * j, 16));
                float scale = MathF.Abs(scales[j]);
                if (scale > amax)
                {
                    amax = scale;
                    maxScale = scales[j];
                }
            }

            yScales.Clear();
            if (maxScale != 0f)
            {
                float iscale = -32f / maxScale;
                for (int j = 0; j < 16; j++)
                {
                    int q = (sbyte)NearestInt(iscale * scales[j]);
                    q = Math.Max(-32, Math.Min(31, q)) + 32;
                    if (j < 8)
                    {
                        yScales[j] = (byte)(q & 0xF);
                    }
                    else
                    {
                        yScales[j - 8] |= (byte)((q & 0xF) << 4);
                    }

                    q >>= 4;
                    yScales[(j % 4) + 8] |= (byte)(q << (2 * (j / 4)));
                }

                WriteHalf(y, 108, 1 / iscale);
            }
            else
            {
                WriteHalf(y, 108, 0f);
            }

            float dAll = Dequantizer.ReadHalf(y, 108);
            for (int j = 0; j < 16; j++)
            {
                int sc = j < 8 ? yScales[j] & 0xF : yScales[j - 8] >> 4;
                sc = (sc | (((yScales[8 + (j % 4)] >> (2 * (j / 4))) & 3) << 4)) - 32;
                float d = dAll * sc;
                if (d == 0f)
                {
                    continue;
                }

                for (int ii = 0; ii < 16; ii++)
                {
                    int q = NearestInt(x[16 * j + ii] / d);
                    q = Math.Max(-4, Math.Min(3, q));
                    l[16 * j + ii] = (sbyte)(q + 4);
                }
            }

            hmask.Clear();
            int m = 0;
            int hm = 1;
            for (int j = 0; j < 256; j++)
            {
                if (l[j] > 3)
                {
                    hmask[m] |= (byte)hm;
                    l[j] -= 4;
                }

                if (++m == 32)
                {
                    m = 0;
                    hm <<= 1;
                }
            }

            for (int j = 0; j < 256; j += 128)
            {
                for (int i = 0; i < 32; i++)
                {
                    qs[j / 4 + i] = (byte)((byte)l[j + i] | ((byte)l[j + i + 32] << 2) | ((byte)l[j + i + 64] << 4) | ((byte)l[j + i + 96] << 6));
                }
            }
        }
    }

    private static void Q4_K(ReadOnlySpan<float> src, Span<byte> dst) => Q4_KOrQ5_K(src, dst, isQ5: false);

    private static void Q5_K(ReadOnlySpan<float> src, Span<byte> dst) => Q4_KOrQ5_K(src, dst, isQ5: true);

    /// <summary>quantize_row_q4_K_ref and quantize_row_q5_K_ref, which differ only in nmax, search range and packing.</summary>
    private static void Q4_KOrQ5_K(ReadOnlySpan<float> src, Span<byte> dst, bool isQ5)
    {
        Span<byte> l = stackalloc byte[256];
        Span<byte> laux = stackalloc byte[32];
        Span<float> weights = stackalloc float[32];
        Span<float> mins = stackalloc float[8];
        Span<float> scales = stackalloc float[8];
        int nmax = isQ5 ? 31 : 15;
        float rmin = isQ5 ? -0.5f : -1f;
        int nstep = isQ5 ? 15 : 20;
        int blockBytes = isQ5 ? 176 : 144;

        for (int b = 0; b < src.Length / 256; b++)
        {
            ReadOnlySpan<float> x = src.Slice(256 * b, 256);
            Span<byte> y = dst.Slice(blockBytes * b, blockBytes);
            Span<byte> yScales = y.Slice(4, 12);

            float maxScale = 0;
            float maxMin = 0;
            for (int j = 0; j < 8; j++)
            {
                float sumX2 = 0;
                for (int i = 0; i < 32; i++)
                {
                    sumX2 += x[32 * j + i] * x[32 * j + i];
                }

                float avX = MathF.Sqrt(sumX2 / 32);
                for (int i = 0; i < 32; i++)
                {
                    weights[i] = avX + MathF.Abs(x[32 * j + i]);
                }

                scales[j] = MakeQkx2Quants(32, nmax, x.Slice(32 * j, 32), weights, l.Slice(32 * j, 32), out mins[j], laux, rmin, 0.1f, nstep, false);
                if (scales[j] > maxScale)
                {
                    maxScale = scales[j];
                }

                if (mins[j] > maxMin)
                {
                    maxMin = mins[j];
                }
            }

            float invScale = maxScale > 0 ? 63f / maxScale : 0f;
            float invMin = maxMin > 0 ? 63f / maxMin : 0f;
            for (int j = 0; j < 8; j++)
            {
                int ls = Math.Min(63, (int)(byte)NearestInt(invScale * scales[j]));
                int lm = Math.Min(63, (int)(byte)NearestInt(invMin * mins[j]));
                if (j < 4)
                {
                    yScales[j] = (byte)ls;
                    yScales[j + 4] = (byte)lm;
                }
                else
                {
                    yScales[j + 4] = (byte)((ls & 0xF) | ((lm & 0xF) << 4));
                    yScales[j - 4] |= (byte)((ls >> 4) << 6);
                    yScales[j] |= (byte)((lm >> 4) << 6);
                }
            }

            WriteHalf(y, 0, maxScale / 63f);
            WriteHalf(y, 2, maxMin / 63f);

            float dAll = Dequantizer.ReadHalf(y, 0);
            float dMin = Dequantizer.ReadHalf(y, 2);
            for (int j = 0; j < 8; j++)
            {
                KQuantScales.GetScaleMinK4(j, yScales, out byte sc, out byte m);
                float d = dAll * sc;
                if (d == 0f)
                {
                    continue;
                }

                float dm = dMin * m;
                for (int ii = 0; ii < 32; ii++)
                {
                    int q = NearestInt((x[32 * j + ii] + dm) / d);
                    l[32 * j + ii] = (byte)Math.Max(0, Math.Min(nmax, q));
                }
            }

            if (isQ5)
            {
                Span<byte> qh = y.Slice(16, 32);
                Span<byte> ql = y.Slice(48, 128);
                qh.Clear();
                int m1 = 1, m2 = 2;
                for (int n = 0; n < 256; n += 64)
                {
                    for (int j = 0; j < 32; j++)
                    {
                        int l1 = l[n + j];
                        if (l1 > 15)
                        {
                            l1 -= 16;
                            qh[j] |= (byte)m1;
                        }

                        int l2 = l[n + j + 32];
                        if (l2 > 15)
                        {
                            l2 -= 16;
                            qh[j] |= (byte)m2;
                        }

                        ql[n / 2 + j] = (byte)(l1 | (l2 << 4));
                    }

                    m1 <<= 2;
                    m2 <<= 2;
                }
            }
            else
            {
                Span<byte> q = y.Slice(16, 128);
                for (int j = 0; j < 256; j += 64)
                {
                    for (int i = 0; i < 32; i++)
                    {
                        q[j / 2 + i] = (byte)(l[j + i] | (l[j + i + 32] << 4));
                    }
                }
            }
        }
    }

    private static void Q6_K(ReadOnlySpan<float> src, Span<byte> dst)
    {
        Span<sbyte> l = stackalloc sbyte[256];
        Span<float> scales = stackalloc float[16];

        for (int b = 0; b < src.Length / 256; b++)
        {
            ReadOnlySpan<float> x = src.Slice(256 * b, 256);
            Span<byte> y = dst.Slice(210 * b, 210);

            float maxScale = 0;
            float maxAbsScale = 0;
            for (int ib = 0; ib < 16; ib++)
            {
                float scale = MakeQxQuants(16, 32, x.Slice(16 * ib, 16), l.Slice(16 * ib, 16));
                scales[ib] = scale;
                float absScale = MathF.Abs(scale);
                if (absScale > maxAbsScale)
                {
                    maxAbsScale = absScale;
                    maxScale = scale;
                }
            }

            if (maxAbsScale < GroupMaxEps)
            {
                y.Clear();
                continue;
            }

            Span<byte> ql = y.Slice(0, 128);
            Span<byte> qh = y.Slice(128, 64);
            Span<byte> yScales = y.Slice(192, 16);

            float iscale = -128f / maxScale;
            WriteHalf(y, 208, 1 / iscale);
            for (int ib = 0; ib < 16; ib++)
            {
                yScales[ib] = (byte)(sbyte)Math.Min(127, NearestInt(iscale * scales[ib]));
            }

            float dAll = Dequantizer.ReadHalf(y, 208);
            for (int j = 0; j < 16; j++)
            {
                float d = dAll * (sbyte)yScales[j];
                if (d == 0f)
                {
                    continue;
                }

                for (int ii = 0; ii < 16; ii++)
                {
                    int q = NearestInt(x[16 * j + ii] / d);
                    q = Math.Max(-32, Math.Min(31, q));
                    l[16 * j + ii] = (sbyte)(q + 32);
                }
            }

            for (int j = 0; j < 256; j += 128)
            {
                for (int i = 0; i < 32; i++)
                {
                    int q1 = l[j + i] & 0xF;
                    int q2 = l[j + i + 32] & 0xF;
                    int q3 = l[j + i + 64] & 0xF;
                    int q4 = l[j + i + 96] & 0xF;
                    ql[j / 2 + i] = (byte)(q1 | (q3 << 4));
                    ql[j / 2 + i + 32] = (byte)(q2 | (q4 << 4));
                    qh[j / 4 + i] = (byte)((l[j + i] >> 4) | ((l[j + i + 32] >> 4) << 2) | ((l[j + i + 64] >> 4) << 4) | ((l[j + i + 96] >> 4) << 6));
                }
            }
        }
    }

    /// <summary>
    /// ggml's <c>make_qx_quants</c> as Q6_K calls it (rmse_type 1, no importance weights): symmetric quants in
    /// [-nmax, nmax-1] stored with +nmax, the scale chosen by a weighted (w = x^2) least-squares search over 19
    /// candidate inverse scales.
    /// </summary>
    private static float MakeQxQuants(int n, int nmax, ReadOnlySpan<float> x, Span<sbyte> l)
    {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }

        if (amax < GroupMaxEps)
        {
            l.Slice(0, n).Clear();
            return 0f;
        }

        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++)
        {
            int q = NearestInt(iscale * x[i]);
            q = Math.Max(-nmax, Math.Min(nmax - 1, q));
            l[i] = (sbyte)(q + nmax);
            float w = x[i] * x[i];
            sumlx += w * x[i] * q;
            suml2 += w * q * q;
        }

        float scale = suml2 != 0f ? sumlx / suml2 : 0.0f;
        float best = scale * sumlx;
        for (int step = -9; step <= 9; step++)
        {
            if (step == 0)
            {
                continue;
            }

            iscale = -(nmax + 0.1f * step) / max;
            sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < n; i++)
            {
                int q = NearestInt(iscale * x[i]);
                q = Math.Max(-nmax, Math.Min(nmax - 1, q));
                float w = x[i] * x[i];
                sumlx += w * x[i] * q;
                suml2 += w * q * q;
            }

            if (suml2 > 0 && sumlx * sumlx > best * suml2)
            {
                for (int i = 0; i < n; i++)
                {
                    int q = NearestInt(iscale * x[i]);
                    l[i] = (sbyte)(nmax + Math.Max(-nmax, Math.Min(nmax - 1, q)));
                }

                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }

        return scale;
    }

    /// <summary>
    /// ggml's <c>make_q3_quants</c> with do_rmse: start from the max-abs scale, then up to 5 passes of coordinate
    /// descent on single quants under the weighted (w = x^2) error. Quants are returned with +nmax.
    /// </summary>
    private static float MakeQ3Quants(int n, int nmax, ReadOnlySpan<float> x, Span<sbyte> l)
    {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++)
        {
            float ax = MathF.Abs(x[i]);
            if (ax > amax)
            {
                amax = ax;
                max = x[i];
            }
        }

        if (amax < GroupMaxEps)
        {
            l.Slice(0, n).Clear();
            return 0f;
        }

        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++)
        {
            int q = NearestInt(iscale * x[i]);
            q = Math.Max(-nmax, Math.Min(nmax - 1, q));
            l[i] = (sbyte)q;
            float w = x[i] * x[i];
            sumlx += w * x[i] * q;
            suml2 += w * q * q;
        }

        for (int itry = 0; itry < 5; itry++)
        {
            int nChanged = 0;
            for (int i = 0; i < n; i++)
            {
                float w = x[i] * x[i];
                float slx = sumlx - w * x[i] * l[i];
                if (slx > 0)
                {
                    float sl2 = suml2 - w * l[i] * l[i];
                    int newL = NearestInt(x[i] * sl2 / slx);
                    newL = Math.Max(-nmax, Math.Min(nmax - 1, newL));
                    if (newL != l[i])
                    {
                        slx += w * x[i] * newL;
                        sl2 += w * newL * newL;
                        if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2)
                        {
                            l[i] = (sbyte)newL;
                            sumlx = slx;
                            suml2 = sl2;
                            nChanged++;
                        }
                    }
                }
            }

            if (nChanged == 0)
            {
                break;
            }
        }

        for (int i = 0; i < n; i++)
        {
            l[i] += (sbyte)nmax;
        }

        return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
    }

    /// <summary>
    /// ggml's <c>make_qkx2_quants</c>: asymmetric quants in [0, nmax] with scale and min fitted by weighted least squares
    /// over nstep+1 candidate inverse scales; returns the scale and the (negated, non-negative) min.
    /// </summary>
    private static float MakeQkx2Quants(int n, int nmax, ReadOnlySpan<float> x, ReadOnlySpan<float> weights, Span<byte> l,
        out float theMin, Span<byte> laux, float rmin, float rdelta, int nstep, bool useMad)
    {
        float min = x[0];
        float max = x[0];
        float sumW = weights[0];
        float sumX = sumW * x[0];
        for (int i = 1; i < n; i++)
        {
            if (x[i] < min)
            {
                min = x[i];
            }

            if (x[i] > max)
            {
                max = x[i];
            }

            float w = weights[i];
            sumW += w;
            sumX += w * x[i];
        }

        if (min > 0)
        {
            min = 0;
        }

        if (max == min)
        {
            l.Slice(0, n).Clear();
            theMin = -min;
            return 0f;
        }

        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++)
        {
            int q = NearestInt(iscale * (x[i] - min));
            l[i] = (byte)Math.Max(0, Math.Min(nmax, q));
            float diff = scale * l[i] + min - x[i];
            diff = useMad ? MathF.Abs(diff) : diff * diff;
            bestError += weights[i] * diff;
        }

        if (nstep < 1)
        {
            theMin = -min;
            return scale;
        }

        for (int step = 0; step <= nstep; step++)
        {
            iscale = (rmin + rdelta * step + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++)
            {
                int q = NearestInt(iscale * (x[i] - min));
                q = Math.Max(0, Math.Min(nmax, q));
                laux[i] = (byte)q;
                float w = weights[i];
                sumL += w * q;
                sumL2 += w * q * q;
                sumXL += w * q * x[i];
            }

            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0)
            {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0)
                {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }

                float curError = 0;
                for (int i = 0; i < n; i++)
                {
                    float diff = thisScale * laux[i] + thisMin - x[i];
                    diff = useMad ? MathF.Abs(diff) : diff * diff;
                    curError += weights[i] * diff;
                }

                if (curError < bestError)
                {
                    laux.Slice(0, n).CopyTo(l);
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }

        theMin = -min;
        return scale;
    }
}
