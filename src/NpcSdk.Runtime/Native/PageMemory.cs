using System;
using System.Runtime.InteropServices;

namespace NpcSdk.Native;

/// <summary>
/// Unmanaged memory for weights the runtime lays out again (64-byte aligned, outside the GC heap), and the release of
/// mapped file pages those copies replace, so that resident memory holds one copy of the weights, not two.
/// </summary>
internal static unsafe class PageMemory
{
    private const int Alignment = 64;

    public static void* Allocate(long bytes)
    {
        if (bytes <= 0) throw new ArgumentOutOfRangeException(nameof(bytes));
#if NET
        return NativeMemory.AlignedAlloc((nuint)bytes, Alignment);
#else
        // Over-allocate and keep the block's own address just below the aligned one.
        byte* raw = (byte*)Marshal.AllocHGlobal(new IntPtr(bytes + Alignment + sizeof(IntPtr)));
        byte* aligned = (byte*)(((ulong)(raw + sizeof(IntPtr)) + Alignment - 1) & ~(ulong)(Alignment - 1));
        ((IntPtr*)aligned)[-1] = (IntPtr)raw;
        return aligned;
#endif
    }

    public static void Free(void* p)
    {
#if NET
        NativeMemory.AlignedFree(p);
#else
        Marshal.FreeHGlobal(((IntPtr*)p)[-1]);
#endif
    }

    /// <summary>
    /// Tells the OS that the whole pages of a read-only file mapping in [<paramref name="p"/>, +<paramref name="bytes"/>)
    /// are not needed now (<c>madvise(MADV_DONTNEED)</c> on Linux and macOS): they leave this process's resident set
    /// and are read from the file again if touched. Does nothing where that is unavailable.
    /// </summary>
    public static void ReleaseMappedPages(byte* p, long bytes)
    {
        if (!(RuntimeInformation.IsOSPlatform(OSPlatform.Linux) || RuntimeInformation.IsOSPlatform(OSPlatform.OSX))) return;
        long page = Environment.SystemPageSize;
        ulong start = ((ulong)p + (ulong)page - 1) & ~(ulong)(page - 1);
        ulong end = ((ulong)p + (ulong)bytes) & ~(ulong)(page - 1);
        if (end <= start) return;
        const int MadvDontNeed = 4; // the same value on Linux and macOS
        try
        {
#if NET
            if (s_madvise == null) return;
            s_madvise((void*)start, (nuint)(end - start), MadvDontNeed);
#else
            madvise((IntPtr)(long)start, new UIntPtr(end - start), MadvDontNeed);
#endif
        }
        catch (DllNotFoundException)
        {
        }
        catch (EntryPointNotFoundException)
        {
        }
    }

#if NET
    // Looked up among the process's own symbols (libc is always loaded), which works for JIT and native AOT alike.
    private static readonly delegate* unmanaged<void*, nuint, int, int> s_madvise =
        NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), "madvise", out IntPtr f) ? (delegate* unmanaged<void*, nuint, int, int>)f : null;
#else
    [DllImport("libc", CallingConvention = CallingConvention.Cdecl)]
    private static extern int madvise(IntPtr addr, UIntPtr length, int advice);
#endif
}
