using System;
using System.Runtime.InteropServices;
using NpcSdk.Compute;
using NpcSdk.Tensors;

namespace NpcSdk.Models
{
    /// <summary>Causal attention for (token, head) items: softmax(q·K/√d) · V over positions 0..pos of the KV cache.</summary>
    internal sealed class Attention : IRangeWork
    {
        [ThreadStatic] private static float[]? t_scores;
        [ThreadStatic] private static float[]? t_row;
        [ThreadStatic] private static byte[]? t_q16;

        private readonly ModelConfig _c;
        private readonly float _scale;
        private KvCache _cache = null!;
        private int _layer, _startPos;
        private float[] _q = null!, _out = null!;

        public Attention(ModelConfig c)
        {
            _c = c;
            _scale = 1.0f / MathF.Sqrt(c.HeadDim);
        }

        public void Set(KvCache cache, int layer, float[] q, float[] output, int startPos)
        {
            _cache = cache; _layer = layer; _q = q; _out = output; _startPos = startPos;
        }

        public void Execute(int start, int end)
        {
            int hd = _c.HeadDim;
            int group = _c.HeadCount / _c.KvHeadCount;
            var f16 = _cache.Type == KvCacheType.F16;
            var kvType = _cache.ElementType;
            for (int item = start; item < end; item++)
            {
                int t = item / _c.HeadCount, h = item % _c.HeadCount;
                int pos = _startPos + t;
                int kvOffset = h / group * hd;
                var q = _q.AsSpan(t * _c.QueryDim + h * hd, hd);
                var scores = Scratch(ref t_scores, pos + 1);
                ReadOnlySpan<byte> qBytes;
                if (f16)
                {
                    // llama.cpp converts q to the cache's F16 before the K·q product, and the probabilities before P·V.
                    var q16 = ScratchBytes(ref t_q16, hd * 2);
                    Quantizer.QuantizeRow(TensorType.F16, q, q16);
                    qBytes = q16;
                }
                else
                {
                    qBytes = MemoryMarshal.AsBytes(q);
                }
                for (int j = 0; j <= pos; j++)
                    scores[j] = VecDot.Dot(kvType, _cache.KeyBytes(_layer, j, kvOffset, hd), qBytes, hd) * _scale;
                var p = scores.AsSpan(0, pos + 1);
                VectorOps.Softmax(p);
                var o = _out.AsSpan(t * _c.QueryDim + h * hd, hd);
                o.Clear();
                var vRow = Scratch(ref t_row, hd).AsSpan(0, hd);
                for (int j = 0; j <= pos; j++)
                {
                    float pj = f16 ? Half16.ToFloat(Half16.FromFloat(p[j])) : p[j];
                    Dequantizer.DequantizeRow(kvType, _cache.ValueBytes(_layer, j, kvOffset, hd), vRow);
                    VectorOps.MultiplyAdd(o, vRow, pj);
                }
            }
        }

        private static float[] Scratch(ref float[]? buffer, int n)
        {
            if (buffer == null || buffer.Length < n) buffer = new float[Math.Max(n, 1024)];
            return buffer;
        }

        private static byte[] ScratchBytes(ref byte[]? buffer, int n)
        {
            if (buffer == null || buffer.Length < n) buffer = new byte[Math.Max(n, 1024)];
            return buffer;
        }
    }
}
