using System;
using System.Runtime.InteropServices;

namespace NpcSdk.Native;

/// <summary>
/// One block of memory for the weights a model holds itself (laid out again, or copied out of the file mapping), carved
/// 64-byte aligned. On Linux with transparent huge pages enabled (<c>always</c> or <c>madvise</c>) the block is an
/// anonymous mapping aligned to 2 MiB and advised <c>MADV_HUGEPAGE</c>: streaming weights through 2 MiB pages instead
/// of 4 KiB ones reads them about a third faster here (the TLB stops missing every 4 KiB and the prefetchers are not
/// stopped at each page boundary). Elsewhere it is one ordinary aligned allocation.
/// </summary>
internal sealed unsafe class WeightArena : IDisposable
{
    /// <summary>The size of a transparent huge page on x86-64 and (4 KiB-page) ARM64 Linux.</summary>
    public const long HugePageBytes = 2L << 20;

    private const int Alignment = 64;

    private byte* _block;
    private readonly long _blockBytes;
    private byte* _next;
    private readonly byte* _end;

    /// <summary>Room for <paramref name="bytes"/> of weights (allocations rounded up to 64 bytes count in full).</summary>
    /// <param name="bytes">Total bytes to be carved.</param>
    /// <param name="hugePages">Ask for 2 MiB pages where <see cref="HugePagesAvailable"/>.</param>
    public WeightArena(long bytes, bool hugePages)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes));
        if (bytes == 0) return;
        if (hugePages && HugePagesAvailable && TryMapHugePages(bytes, out _block, out _blockBytes, out byte* aligned))
        {
            HugePages = true;
            _next = aligned;
        }
        else
        {
            _block = (byte*)PageMemory.Allocate(bytes);
            _next = _block;
        }
        _end = _next + bytes;
    }

    /// <summary>Whether the block is advised into 2 MiB pages.</summary>
    public bool HugePages { get; }

    /// <summary>64-byte aligned room for <paramref name="bytes"/>, or null when the block has no more.</summary>
    public byte* TryAllocate(long bytes)
    {
        long rounded = Footprint(bytes);
        if (_block == null || bytes <= 0 || rounded > _end - _next) return null;
        byte* p = _next;
        _next += rounded;
        return p;
    }

    /// <summary>The bytes an allocation of <paramref name="bytes"/> takes of the block.</summary>
    public static long Footprint(long bytes) => (bytes + Alignment - 1) & ~(long)(Alignment - 1);

    /// <summary>Frees the block; every pointer carved from it dangles.</summary>
    public void Dispose()
    {
        if (_block == null) return;
        if (HugePages) Unmap(_block, _blockBytes);
        else PageMemory.Free(_block);
        _block = null;
    }

    /// <summary>
    /// Linux with transparent huge pages in <c>always</c> or <c>madvise</c> mode, and mmap/madvise at hand; false when
    /// the environment variable <c>NPCSDK_HUGE_PAGES</c> is <c>0</c>.
    /// </summary>
    public static bool HugePagesAvailable => s_hugePagesAvailable;

    private static bool DetectHugePages()
    {
        try
        {
            if (Environment.GetEnvironmentVariable("NPCSDK_HUGE_PAGES") == "0") return false;
            if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux)) return false;
            const string setting = "/sys/kernel/mm/transparent_hugepage/enabled";
            if (!System.IO.File.Exists(setting)) return false;
            string mode = System.IO.File.ReadAllText(setting);
            if (!mode.Contains("[always]") && !mode.Contains("[madvise]")) return false;
#if NET
            return s_mmap != null && s_munmap != null && s_madvise != null;
#else
            return true;
#endif
        }
        catch (Exception e) when (e is System.IO.IOException || e is UnauthorizedAccessException || e is System.Security.SecurityException)
        {
            return false;
        }
    }

    private static bool TryMapHugePages(long bytes, out byte* block, out long blockBytes, out byte* aligned)
    {
        // Anonymous, private, read-write, whole huge pages plus one of slack so the carved range can start on a
        // huge-page boundary (untouched pages cost nothing).
        const int ProtReadWrite = 3, MapPrivateAnonymous = 0x02 | 0x20, MadvHugePage = 14;
        long advised = (bytes + HugePageBytes - 1) / HugePageBytes * HugePageBytes;
        blockBytes = advised + HugePageBytes;
        block = null;
        aligned = null;
        try
        {
            byte* p = Map((nuint)blockBytes, ProtReadWrite, MapPrivateAnonymous);
            if (p == null || p == (byte*)(-1)) return false;
            aligned = (byte*)(((ulong)p + (ulong)HugePageBytes - 1) & ~(ulong)(HugePageBytes - 1));
            // Advice refused (a kernel without THP support compiled in): 4 KiB pages, still a valid block.
            Advise(aligned, (nuint)advised, MadvHugePage);
            block = p;
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
        {
            return false;
        }
    }

#if NET
    // Looked up among the process's own symbols (libc is always loaded), as PageMemory does for madvise.
    private static readonly delegate* unmanaged<void*, nuint, int, int, int, long, void*> s_mmap =
        NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "mmap", out IntPtr f) ? (delegate* unmanaged<void*, nuint, int, int, int, long, void*>)f : null;
    private static readonly delegate* unmanaged<void*, nuint, int> s_munmap =
        NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "munmap", out IntPtr f) ? (delegate* unmanaged<void*, nuint, int>)f : null;
    private static readonly delegate* unmanaged<void*, nuint, int, int> s_madvise =
        NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "madvise", out IntPtr f) ? (delegate* unmanaged<void*, nuint, int, int>)f : null;

    private static byte* Map(nuint bytes, int prot, int flags) => (byte*)s_mmap(null, bytes, prot, flags, -1, 0);
    private static void Advise(byte* p, nuint bytes, int advice) => s_madvise(p, bytes, advice);
    private static void Unmap(byte* p, long bytes) => s_munmap(p, (nuint)bytes);
#else
    [DllImport("libc", EntryPoint = "mmap", CallingConvention = CallingConvention.Cdecl)]
    private static extern IntPtr mmap(IntPtr addr, UIntPtr length, int prot, int flags, int fd, long offset);

    [DllImport("libc", EntryPoint = "munmap", CallingConvention = CallingConvention.Cdecl)]
    private static extern int munmap(IntPtr addr, UIntPtr length);

    [DllImport("libc", EntryPoint = "madvise", CallingConvention = CallingConvention.Cdecl)]
    private static extern int madvise(IntPtr addr, UIntPtr length, int advice);

    private static byte* Map(nuint bytes, int prot, int flags) => (byte*)mmap(IntPtr.Zero, (UIntPtr)(ulong)bytes, prot, flags, -1, 0);
    private static void Advise(byte* p, nuint bytes, int advice) => madvise((IntPtr)p, (UIntPtr)(ulong)bytes, advice);
    private static void Unmap(byte* p, long bytes) => munmap((IntPtr)p, new UIntPtr((ulong)bytes));
#endif

    // After the function pointers: static fields initialise in the order they are written.
    private static readonly bool s_hugePagesAvailable = DetectHugePages();
}
