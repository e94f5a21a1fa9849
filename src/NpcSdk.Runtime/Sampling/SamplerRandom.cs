using System;

namespace NpcSdk.Sampling
{
    /// <summary>
    /// A seeded xoshiro256** generator whose sequence is the same on every runtime (CoreCLR, Mono, IL2CPP),
    /// and whose state can be saved and restored.
    /// </summary>
    public sealed class SamplerRandom
    {
        private ulong _s0, _s1, _s2, _s3;

        /// <summary>Seeds the generator (SplitMix64 expansion of <paramref name="seed"/>).</summary>
        public SamplerRandom(ulong seed)
        {
            ulong x = seed;
            _s0 = SplitMix(ref x);
            _s1 = SplitMix(ref x);
            _s2 = SplitMix(ref x);
            _s3 = SplitMix(ref x);
        }

        /// <summary>The generator state (for saves).</summary>
        public ulong[] GetState() => new[] { _s0, _s1, _s2, _s3 };

        /// <summary>Restores a state from <see cref="GetState"/>.</summary>
        public void SetState(ulong[] state)
        {
            if (state == null || state.Length != 4) throw new ArgumentException("expected 4 state words", nameof(state));
            _s0 = state[0]; _s1 = state[1]; _s2 = state[2]; _s3 = state[3];
        }

        /// <summary>The next 64 random bits.</summary>
        public ulong NextUInt64()
        {
            ulong result = RotL(_s1 * 5, 7) * 9;
            ulong t = _s1 << 17;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = RotL(_s3, 45);
            return result;
        }

        /// <summary>A uniform double in [0, 1).</summary>
        public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

        private static ulong RotL(ulong x, int k) => (x << k) | (x >> (64 - k));

        private static ulong SplitMix(ref ulong x)
        {
            ulong z = x += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
