using NpcSdk.Native;
using Xunit;

namespace NpcSdk.Runtime.Tests.Native;

/// <summary>A fact that is skipped, with the reason, when libnpcsdk_native is not built (the managed kernels then run).</summary>
internal sealed class NativeFactAttribute : FactAttribute
{
    public NativeFactAttribute()
    {
        if (!NativeKernels.IsAvailable)
        {
            Skip = "libnpcsdk_native is not built (" + NativeKernels.UnavailableReason + "); run runtime-native/build.sh";
        }
    }
}

/// <summary>A theory that is skipped, with the reason, when libnpcsdk_native is not built.</summary>
internal sealed class NativeTheoryAttribute : TheoryAttribute
{
    public NativeTheoryAttribute()
    {
        if (!NativeKernels.IsAvailable)
        {
            Skip = "libnpcsdk_native is not built (" + NativeKernels.UnavailableReason + "); run runtime-native/build.sh";
        }
    }
}

/// <summary>The native tests switch the library's path (scalar / SIMD) globally, so they never run in parallel.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeCollection
{
    public const string Name = "Native kernels";
}
