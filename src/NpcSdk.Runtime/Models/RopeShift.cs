using System;

namespace NpcSdk.Models
{
    /// <summary>
    /// Moves cached keys to earlier positions without recomputing them: a key rotated for position p becomes the key for
    /// p − δ by rotating each pair further by −δ·θᵢ (RoPE rotations compose), as llama.cpp's context shift does.
    /// </summary>
    internal sealed class RopeShift
    {
        private readonly ModelConfig _c;
        private readonly double[] _inverseFrequency;

        public RopeShift(ModelConfig c)
        {
            _c = c;
            _inverseFrequency = new double[c.RopeDim / 2];
            for (int i = 0; i < _inverseFrequency.Length; i++)
                _inverseFrequency[i] = c.RopeFreqScale * Math.Pow(c.RopeFreqBase, -2.0 * i / c.RopeDim);
        }

        /// <summary>Rotates every head of a key row (all KV heads) as if its position moved by −<paramref name="delta"/>.</summary>
        public void Apply(Span<float> keyRow, int delta)
        {
            int half = _inverseFrequency.Length;
            Span<float> cos = stackalloc float[half];
            Span<float> sin = stackalloc float[half];
            for (int i = 0; i < half; i++)
            {
                double angle = -delta * _inverseFrequency[i];
                cos[i] = (float)Math.Cos(angle);
                sin[i] = (float)Math.Sin(angle);
            }
            for (int h = 0; h < _c.KvHeadCount; h++)
            {
                var head = keyRow.Slice(h * _c.HeadDim, _c.HeadDim);
                for (int i = 0; i < half; i++)
                {
                    int a = _c.Architecture.Rope == RopeStyle.Normal ? 2 * i : i;
                    int b = _c.Architecture.Rope == RopeStyle.Normal ? 2 * i + 1 : i + half;
                    float x0 = head[a], x1 = head[b];
                    head[a] = x0 * cos[i] - x1 * sin[i];
                    head[b] = x0 * sin[i] + x1 * cos[i];
                }
            }
        }
    }
}
