namespace NpcSdk.Models
{
    /// <summary>Storage type of the key/value cache.</summary>
    public enum KvCacheType
    {
        /// <summary>Half precision, llama.cpp's default: half the memory of F32.</summary>
        F16,
        /// <summary>Full precision.</summary>
        F32,
        /// <summary>8-bit blocks (Q8_0): about a quarter of F32; the head size must be a multiple of 32.</summary>
        Q8_0,
    }
}
