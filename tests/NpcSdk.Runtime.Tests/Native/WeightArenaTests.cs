using System;
using System.IO;
using System.Linq;
using NpcSdk.Models;
using NpcSdk.Native;
using NpcSdk.Tests;
using Xunit;

namespace NpcSdk.Runtime.Tests.Native;

/// <summary>The block a model's own weights live in: alignment, bounds, and 2 MiB pages where Linux offers them.</summary>
public unsafe class WeightArenaTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Allocations_Are_Aligned_Disjoint_And_Bounded(bool hugePages)
    {
        using var arena = new WeightArena(WeightArena.Footprint(100) + WeightArena.Footprint(1000), hugePages);
        byte* a = arena.TryAllocate(100), b = arena.TryAllocate(1000);
        Assert.True(a != null && b != null);
        Assert.Equal(0, (long)a % 64);
        Assert.Equal(0, (long)b % 64);
        Assert.True(b >= a + 100);
        new Span<byte>(a, 100).Fill(1);
        new Span<byte>(b, 1000).Fill(2);
        Assert.True(new Span<byte>(a, 100).ToArray().All(x => x == 1));
        Assert.True(arena.TryAllocate(1) == null);
    }

    [Fact]
    public void The_Block_Is_Advised_Into_Huge_Pages_Where_Linux_Offers_Them()
    {
        const string setting = "/sys/kernel/mm/transparent_hugepage/enabled";
        bool offered = OperatingSystem.IsLinux() && File.Exists(setting) && File.ReadAllText(setting) is var mode
            && (mode.Contains("[always]") || mode.Contains("[madvise]")) && Environment.GetEnvironmentVariable("NPCSDK_HUGE_PAGES") != "0";
        Assert.Equal(offered, WeightArena.HugePagesAvailable);
        using var arena = new WeightArena(8L << 20, hugePages: true);
        Assert.Equal(WeightArena.HugePagesAvailable, arena.HugePages);
        if (!arena.HugePages) return;
        byte* p = arena.TryAllocate(8L << 20);
        Assert.Equal(0, (long)p % WeightArena.HugePageBytes);
        new Span<byte>(p, 8 << 20).Fill(3);
        // The kernel's record of the mapping holding p: VmFlags "hg" is MADV_HUGEPAGE taken.
        Assert.Contains("hg", MappingFlags((ulong)p));
    }

    [Fact]
    public void A_Model_Larger_Than_8_MiB_Reads_Its_Products_From_The_Arena_Unless_Told_Not_To()
    {
        string path = TestPaths.Model("npc-q8_0.gguf");
        using var onPages = Model.Load(path, new ModelOptions { Threads = 1, TrimAfterLoad = false });
        using var inFile = Model.Load(path, new ModelOptions { Threads = 1, TrimAfterLoad = false, HugePages = false });
        Assert.Equal(WeightArena.HugePagesAvailable, onPages.Transformer.WeightsOnHugePages);
        Assert.False(inFile.Transformer.WeightsOnHugePages);
        var copied = onPages.Transformer.Weights.Layers[0].Wq;
        var mapped = inFile.Transformer.Weights.Layers[0].Wq;
        Assert.True(mapped.Mapped && mapped.Interleaved == null); // Q8_0 rows of at most 1024 columns: read as stored
        Assert.Equal(!WeightArena.HugePagesAvailable, copied.Mapped);
        Assert.True(copied.RowSpan(0, copied.Rows).SequenceEqual(mapped.RowSpan(0, mapped.Rows)));
        // Same weights, same logits, bit for bit.
        using var a = onPages.CreateSession();
        using var b = inFile.CreateSession();
        var tokens = onPages.Tokenizer.Encode("The blacksmith looks up from the anvil.");
        a.Evaluate(tokens);
        b.Evaluate(tokens);
        Assert.Equal(b.Logits.ToArray(), a.Logits.ToArray());
    }

    private static string MappingFlags(ulong address)
    {
        bool inside = false;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash && IsHex(line.AsSpan(0, dash)))
            {
                ulong start = Convert.ToUInt64(line.Substring(0, dash), 16), end = Convert.ToUInt64(line.Substring(dash + 1, space - dash - 1), 16);
                inside = address >= start && address < end;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal)) return line;
        }
        return "";
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
            if (!Uri.IsHexDigit(c)) return false;
        return true;
    }
}
