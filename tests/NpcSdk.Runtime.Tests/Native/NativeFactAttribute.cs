using System;
using System.Collections.Generic;
using NpcSdk.Native;
using Xunit;

namespace NpcSdk.Runtime.Tests.Native;

/// <summary>An entry point a native test needs beyond the library itself (later ABI versions added them).</summary>
internal enum NativeFeature
{
    None,
    Q4_0Interleaved,
    Q4_KInterleaved,
    Q5_0Interleaved,
}

/// <summary>A fact that is skipped, with the reason, when libnpcsdk_native is not built (the managed kernels then run) or lacks <see cref="Needs"/>.</summary>
internal sealed class NativeFactAttribute : FactAttribute
{
    public NativeFactAttribute() => Skip = NativeTests.SkipReason(NativeFeature.None);

    /// <summary>The entry point the test needs.</summary>
    public NativeFeature Needs
    {
        get => _needs;
        set
        {
            _needs = value;
            Skip = NativeTests.SkipReason(value);
        }
    }

    private NativeFeature _needs;
}

/// <summary>A theory that is skipped, with the reason, when libnpcsdk_native is not built or lacks <see cref="Needs"/>.</summary>
internal sealed class NativeTheoryAttribute : TheoryAttribute
{
    public NativeTheoryAttribute() => Skip = NativeTests.SkipReason(NativeFeature.None);

    /// <summary>The entry point the test needs.</summary>
    public NativeFeature Needs
    {
        get => _needs;
        set
        {
            _needs = value;
            Skip = NativeTests.SkipReason(value);
        }
    }

    private NativeFeature _needs;
}

/// <summary>What the native tests share: why one is skipped, the library's paths, and bit-for-bit comparison.</summary>
internal static class NativeTests
{
    /// <summary>Null when the library is loaded and has <paramref name="feature"/>, else why the test is skipped.</summary>
    public static string? SkipReason(NativeFeature feature) =>
        !NativeKernels.IsAvailable ? "libnpcsdk_native is not built (" + NativeKernels.UnavailableReason + "); run runtime-native/build.sh"
        : feature == NativeFeature.Q4_0Interleaved && !NativeKernels.SupportsQ4_0Interleaved ? "the loaded libnpcsdk_native predates npc_matmul_q4_0x8 (ABI version 4); rebuild it"
        : feature == NativeFeature.Q4_KInterleaved && !NativeKernels.SupportsQ4_KInterleaved ? "the loaded libnpcsdk_native predates npc_matmul_q4_Kx8 of this layout (ABI version 6); rebuild it"
        : feature == NativeFeature.Q5_0Interleaved && !NativeKernels.SupportsQ5_0Interleaved ? "the loaded libnpcsdk_native predates npc_matmul_q5_0x8 (ABI version 8); rebuild it"
        : null;

    /// <summary>Every path the library can run here, each made current in turn.</summary>
    public static IEnumerable<string> Paths()
    {
        foreach (string path in new[] { "avx2", "neon", "scalar" })
        {
            if (NativeKernels.TryUsePath(path))
            {
                yield return path;
            }
        }
    }

    public static void RestoreBestPath()
    {
        if (!NativeKernels.TryUsePath("avx2") && !NativeKernels.TryUsePath("neon"))
        {
            NativeKernels.TryUsePath("scalar");
        }
    }

    public static void AssertSameBits(float expected, float actual, string what) =>
        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual), $"{what}: {actual:R} vs {expected:R}");

    /// <summary>An interleaved product of row groups [firstGroup, groups) written from output row 0 on.</summary>
    public unsafe delegate void GroupProduct(int firstGroup, float* output);

    /// <summary>
    /// Runs an interleaved product (groups of <paramref name="groupRows"/> rows) on every path and compares it bit for bit
    /// with <paramref name="expected"/> (token t's row r at t * stride + r): the whole matrix, whose output columns past
    /// <paramref name="rows"/> must stay untouched, then groups [1, groups) from output row 0, as ForwardPass hands a
    /// thread a range of groups.
    /// </summary>
    public static unsafe void AssertInterleavedOnEveryPath(int rows, int cols, int tokens, int stride, float[] expected, GroupProduct product, int groupRows = 8)
    {
        foreach (string path in Paths())
        {
            var actual = new float[tokens * stride];
            actual.AsSpan().Fill(777f);
            fixed (float* o = actual) product(0, o);
            for (int t = 0; t < tokens; t++)
            {
                for (int c = 0; c < stride; c++)
                {
                    if (c < rows) AssertSameBits(expected[t * stride + c], actual[t * stride + c], $"{path} {rows}x{cols} token {t} row {c}");
                    else Assert.Equal(777f, actual[t * stride + c]);
                }
            }

            if (rows > groupRows)
            {
                var part = new float[tokens * stride];
                fixed (float* o = part) product(1, o);
                for (int t = 0; t < tokens; t++)
                {
                    for (int r = groupRows; r < rows; r++) AssertSameBits(expected[t * stride + r], part[t * stride + r - groupRows], $"{path} groups from 1, token {t} row {r}");
                }
            }
        }

        RestoreBestPath();
    }
}

/// <summary>The native tests switch the library's path (scalar / SIMD) globally, so they never run in parallel.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeCollection
{
    public const string Name = "Native kernels";
}
