namespace NpcSdk.Models
{
    /// <summary>Storage type of the key/value cache.</summary>
    public enum KvCacheType
    {
        /// <summary>Half precision, llama.cpp's default: half the memory of F32.</summary>
        F16,
        /// <summary>Full precision.</summary>
        F32,
    }
}
