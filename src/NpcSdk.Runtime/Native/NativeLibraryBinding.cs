using System;
using System.IO;
using System.Runtime.InteropServices;

namespace NpcSdk.Native;

/// <summary>
/// The entry points of <c>libnpcsdk_native</c> (runtime-native/include/npcsdk_native.h) and how they are found.
/// <para>
/// net10.0: the library is loaded with <c>System.Runtime.InteropServices.NativeLibrary</c> from the assembly's folder (or the file named by
/// <c>NPCSDK_NATIVE_LIBRARY</c>), and each export is called through an unmanaged function pointer: no marshalling
/// stub, all arguments blittable. netstandard2.1 (Unity/Mono, where <c>NativeLibrary</c> and unmanaged function
/// pointers do not exist): plain <c>[DllImport("npcsdk_native")]</c>, which Mono resolves to
/// <c>libnpcsdk_native.so</c> next to the assembly or in Unity's Plugins folder. Either way a missing library or
/// export only makes <see cref="TryBind"/> return false, and a missing optional export (one a later ABI version added)
/// only clears its <c>Has...</c> flag.
/// </para>
/// </summary>
internal static unsafe class NativeLibraryBinding
{
    /// <summary>The library's base name: <c>libnpcsdk_native.so</c>, <c>libnpcsdk_native.dylib</c>, <c>npcsdk_native.dll</c>.</summary>
    public const string LibraryName = "npcsdk_native";

    /// <summary>NPC_ABI_VERSION of the header these bindings were written against.</summary>
    public const int AbiVersion = 8;

    /// <summary>
    /// The oldest library version these bindings accept: version 4 only added <c>npc_matmul_q4_0x8</c> and version 5
    /// <c>npc_matmul_q4_Kx8</c>, which an older library lacks (<see cref="HasQ4_0Interleaved"/>,
    /// <see cref="HasQ4_KInterleaved"/> are then false). Version 6 only changed the layout <c>npc_matmul_q4_Kx8</c> reads
    /// to the current <see cref="NpcSdk.Tensors.Q4_KInterleaved"/> one (1152-byte super-blocks, the packed scale bytes
    /// kept): a version 5 library reads the old 1184-byte layout, so <see cref="HasQ4_KInterleaved"/> is false for it.
    /// Version 7 only added <c>npc_matmul_q5_0x4</c> (4-row groups, vec_dot's arithmetic), which version 8 replaced by
    /// <c>npc_matmul_q5_0x8</c> (the current <see cref="NpcSdk.Tensors.Q5_0Interleaved"/> layout,
    /// <see cref="HasQ5_0Interleaved"/>): these bindings use only the latter.
    /// </summary>
    public const int OldestAbiVersion = 3;

    /// <summary>Set to a full path to load that file instead of searching.</summary>
    public const string LibraryPathVariable = "NPCSDK_NATIVE_LIBRARY";

    /// <summary>Set to 1 to never load the library (the managed kernels run).</summary>
    public const string DisableVariable = "NPCSDK_NATIVE_DISABLE";

    /// <summary>Whether the bound library has <c>npc_matmul_q4_0x8</c> (ABI version 4 on); set by <see cref="TryBind"/>.</summary>
    public static bool HasQ4_0Interleaved { get; private set; }

    /// <summary>
    /// Whether the bound library has <c>npc_matmul_q4_Kx8</c> for the current <see cref="NpcSdk.Tensors.Q4_KInterleaved"/>
    /// layout (ABI version 6 on; version 5's reads the old layout); set by <see cref="TryBind"/>.
    /// </summary>
    public static bool HasQ4_KInterleaved { get; private set; }

    /// <summary>Whether the bound library has <c>npc_matmul_q5_0x8</c> (ABI version 8 on); set by <see cref="TryBind"/>.</summary>
    public static bool HasQ5_0Interleaved { get; private set; }

#if NET
    private static delegate* unmanaged[Cdecl]<int> s_abiVersion;
    private static delegate* unmanaged[Cdecl]<int> s_getPath;
    private static delegate* unmanaged[Cdecl]<int, nint> s_pathName;
    private static delegate* unmanaged[Cdecl]<int, int> s_setPath;
    private static delegate* unmanaged[Cdecl]<int, int> s_pathSupported;
    private static delegate* unmanaged[Cdecl]<int, int, int, void*, long, int, int, void*, long, int, float*, long, int, int, int> s_matmul;
    private static delegate* unmanaged[Cdecl]<int, float*, long, void*, long, long, int, int> s_quantizeRows;
    private static delegate* unmanaged[Cdecl]<int, void*, float*, long, int> s_dequantizeRow;
    private static delegate* unmanaged[Cdecl]<float*, float*, float*, int, float, int> s_rmsNorm;
    private static delegate* unmanaged[Cdecl]<float*, int, int> s_softmax;
    private static delegate* unmanaged[Cdecl]<float*, float*, int, int> s_swiglu;
    private static delegate* unmanaged[Cdecl]<float*, int, int, long, int, float*, float*, int, int> s_rope;
    private static delegate* unmanaged[Cdecl]<float*, int, int, void*, void*, long, int, float, float*, float*, int> s_attention;
    private static delegate* unmanaged[Cdecl]<byte*, int, int, byte*, long, int, float*, long, void> s_matmulQ4_0x8;
    private static delegate* unmanaged[Cdecl]<byte*, int, int, byte*, long, int, int, int, float*, long, void> s_matmulQ4_Kx8;
    private static delegate* unmanaged[Cdecl]<byte*, int, int, byte*, long, int, float*, long, void> s_matmulQ5_0x8;

    public static int GetPath() => s_getPath();

    public static string PathName(int path) => Marshal.PtrToStringAnsi(s_pathName(path)) ?? "unknown";

    public static int SetPath(int path) => s_setPath(path);

    public static int PathSupported(int path) => s_pathSupported(path);

    public static int MatMul(int kernel, int gemmRows, int type, void* w, long rowStride, int rows, int cols, void* act, long actStride,
        int nAct, float* output, long outStride, int rowBegin, int rowEnd) =>
        s_matmul(kernel, gemmRows, type, w, rowStride, rows, cols, act, actStride, nAct, output, outStride, rowBegin, rowEnd);

    public static int QuantizeRows(int type, float* src, long srcStride, void* dst, long dstStride, long n, int count) =>
        s_quantizeRows(type, src, srcStride, dst, dstStride, n, count);

    public static int DequantizeRow(int type, void* src, float* dst, long n) => s_dequantizeRow(type, src, dst, n);

    public static int RmsNorm(float* x, float* w, float* y, int n, float eps) => s_rmsNorm(x, w, y, n, eps);

    public static int Softmax(float* x, int n) => s_softmax(x, n);

    public static int SwiGlu(float* gate, float* up, int n) => s_swiglu(gate, up, n);

    public static int Rope(float* x, int heads, int headDim, long headStride, int ropeDim, float* cos, float* sin, int style) =>
        s_rope(x, heads, headDim, headStride, ropeDim, cos, sin, style);

    public static int Attention(float* q, int headDim, int kvType, void* k, void* v, long kvStride, int positions, float scale,
        float* scores, float* output) =>
        s_attention(q, headDim, kvType, k, v, kvStride, positions, scale, scores, output);

    public static void MatMulQ4_0x8(byte* packed, int cols, int groups, byte* act, long actStride, int tokens, float* output, long outStride) =>
        s_matmulQ4_0x8(packed, cols, groups, act, actStride, tokens, output, outStride);

    public static void MatMulQ4_Kx8(byte* packed, int cols, int groups, byte* act, long actStride, int tokens, int firstRow, int gemmRows,
        float* output, long outStride) =>
        s_matmulQ4_Kx8(packed, cols, groups, act, actStride, tokens, firstRow, gemmRows, output, outStride);

    public static void MatMulQ5_0x8(byte* packed, int cols, int groups, byte* act, long actStride, int tokens, float* output, long outStride) =>
        s_matmulQ5_0x8(packed, cols, groups, act, actStride, tokens, output, outStride);

    /// <summary>Loads the library and resolves every export; false (with the reason) when any step fails.</summary>
    public static bool TryBind(out string failure)
    {
        if (Environment.GetEnvironmentVariable(DisableVariable) == "1")
        {
            failure = $"disabled by {DisableVariable}=1";
            return false;
        }

        if (!TryLoad(out IntPtr handle, out failure))
        {
            return false;
        }

        try
        {
            s_abiVersion = (delegate* unmanaged[Cdecl]<int>)NativeLibrary.GetExport(handle, "npc_abi_version");
            int version = s_abiVersion();
            if (version < OldestAbiVersion || version > AbiVersion)
            {
                failure = $"{LibraryName} has ABI version {version}, this assembly needs {OldestAbiVersion} to {AbiVersion}";
                return false;
            }

            s_getPath = (delegate* unmanaged[Cdecl]<int>)NativeLibrary.GetExport(handle, "npc_get_path");
            s_pathName = (delegate* unmanaged[Cdecl]<int, nint>)NativeLibrary.GetExport(handle, "npc_path_name");
            s_setPath = (delegate* unmanaged[Cdecl]<int, int>)NativeLibrary.GetExport(handle, "npc_set_path");
            s_pathSupported = (delegate* unmanaged[Cdecl]<int, int>)NativeLibrary.GetExport(handle, "npc_path_supported");
            s_matmul = (delegate* unmanaged[Cdecl]<int, int, int, void*, long, int, int, void*, long, int, float*, long, int, int, int>)NativeLibrary.GetExport(handle, "npc_matmul_kernel");
            s_quantizeRows = (delegate* unmanaged[Cdecl]<int, float*, long, void*, long, long, int, int>)NativeLibrary.GetExport(handle, "npc_quantize_rows");
            s_dequantizeRow = (delegate* unmanaged[Cdecl]<int, void*, float*, long, int>)NativeLibrary.GetExport(handle, "npc_dequantize_row");
            s_rmsNorm = (delegate* unmanaged[Cdecl]<float*, float*, float*, int, float, int>)NativeLibrary.GetExport(handle, "npc_rmsnorm");
            s_softmax = (delegate* unmanaged[Cdecl]<float*, int, int>)NativeLibrary.GetExport(handle, "npc_softmax");
            s_swiglu = (delegate* unmanaged[Cdecl]<float*, float*, int, int>)NativeLibrary.GetExport(handle, "npc_swiglu");
            s_rope = (delegate* unmanaged[Cdecl]<float*, int, int, long, int, float*, float*, int, int>)NativeLibrary.GetExport(handle, "npc_rope");
            s_attention = (delegate* unmanaged[Cdecl]<float*, int, int, void*, void*, long, int, float, float*, float*, int>)NativeLibrary.GetExport(handle, "npc_attention");
            // Optional (version 4 on): without it only the interleaved Q4_0 product stays managed.
            IntPtr q4x8 = IntPtr.Zero;
            HasQ4_0Interleaved = version >= 4 && NativeLibrary.TryGetExport(handle, "npc_matmul_q4_0x8", out q4x8);
            s_matmulQ4_0x8 = (delegate* unmanaged[Cdecl]<byte*, int, int, byte*, long, int, float*, long, void>)q4x8;
            // Optional (version 6 on; version 5's reads the old layout): without it only the interleaved Q4_K product stays managed.
            IntPtr q4kx8 = IntPtr.Zero;
            HasQ4_KInterleaved = version >= 6 && NativeLibrary.TryGetExport(handle, "npc_matmul_q4_Kx8", out q4kx8);
            s_matmulQ4_Kx8 = (delegate* unmanaged[Cdecl]<byte*, int, int, byte*, long, int, int, int, float*, long, void>)q4kx8;
            // Optional (version 8 on): without it Q5_0 matrices stay row-major.
            IntPtr q5x8 = IntPtr.Zero;
            HasQ5_0Interleaved = version >= 8 && NativeLibrary.TryGetExport(handle, "npc_matmul_q5_0x8", out q5x8);
            s_matmulQ5_0x8 = (delegate* unmanaged[Cdecl]<byte*, int, int, byte*, long, int, float*, long, void>)q5x8;
            failure = string.Empty;
            return true;
        }
        catch (EntryPointNotFoundException e)
        {
            failure = $"{LibraryName} lacks an export: {e.Message}";
            return false;
        }
    }

    private static bool TryLoad(out IntPtr handle, out string failure)
    {
        string? explicitPath = Environment.GetEnvironmentVariable(LibraryPathVariable);
        if (!string.IsNullOrEmpty(explicitPath))
        {
            if (NativeLibrary.TryLoad(explicitPath, out handle))
            {
                failure = string.Empty;
                return true;
            }

            failure = $"{LibraryPathVariable}={explicitPath} could not be loaded";
            return false;
        }

        string fileName = OperatingSystem.IsWindows() ? LibraryName + ".dll"
            : OperatingSystem.IsMacOS() ? "lib" + LibraryName + ".dylib"
            : "lib" + LibraryName + ".so";
        string assemblyFolder = AssemblyFolder();
        foreach (string folder in new[] { assemblyFolder, AppContext.BaseDirectory })
        {
            if (folder.Length != 0 && NativeLibrary.TryLoad(Path.Combine(folder, fileName), out handle))
            {
                failure = string.Empty;
                return true;
            }
        }

        // Last, the runtime's own probing (NATIVE_DLL_SEARCH_DIRECTORIES, LD_LIBRARY_PATH, ...).
        if (NativeLibrary.TryLoad(LibraryName, typeof(NativeLibraryBinding).Assembly, null, out handle))
        {
            failure = string.Empty;
            return true;
        }

        failure = $"{fileName} was not found next to {typeof(NativeLibraryBinding).Assembly.GetName().Name} ({assemblyFolder}) or on the library path";
        return false;
    }

    /// <summary>The folder of this assembly; empty in a single-file or native AOT app, where AppContext.BaseDirectory serves.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("SingleFile", "IL3000", Justification = "An empty location is handled: the caller then probes AppContext.BaseDirectory.")]
    private static string AssemblyFolder() => Path.GetDirectoryName(typeof(NativeLibraryBinding).Assembly.Location) ?? string.Empty;
#else
    public static int GetPath() => npc_get_path();

    public static string PathName(int path) => Marshal.PtrToStringAnsi(npc_path_name(path)) ?? "unknown";

    public static int SetPath(int path) => npc_set_path(path);

    public static int PathSupported(int path) => npc_path_supported(path);

    public static int MatMul(int kernel, int gemmRows, int type, void* w, long rowStride, int rows, int cols, void* act, long actStride,
        int nAct, float* output, long outStride, int rowBegin, int rowEnd) =>
        npc_matmul_kernel(kernel, gemmRows, type, w, rowStride, rows, cols, act, actStride, nAct, output, outStride, rowBegin, rowEnd);

    public static int QuantizeRows(int type, float* src, long srcStride, void* dst, long dstStride, long n, int count) =>
        npc_quantize_rows(type, src, srcStride, dst, dstStride, n, count);

    public static int DequantizeRow(int type, void* src, float* dst, long n) => npc_dequantize_row(type, src, dst, n);

    public static int RmsNorm(float* x, float* w, float* y, int n, float eps) => npc_rmsnorm(x, w, y, n, eps);

    public static int Softmax(float* x, int n) => npc_softmax(x, n);

    public static int SwiGlu(float* gate, float* up, int n) => npc_swiglu(gate, up, n);

    public static int Rope(float* x, int heads, int headDim, long headStride, int ropeDim, float* cos, float* sin, int style) =>
        npc_rope(x, heads, headDim, headStride, ropeDim, cos, sin, style);

    public static int Attention(float* q, int headDim, int kvType, void* k, void* v, long kvStride, int positions, float scale,
        float* scores, float* output) =>
        npc_attention(q, headDim, kvType, k, v, kvStride, positions, scale, scores, output);

    public static void MatMulQ4_0x8(byte* packed, int cols, int groups, byte* act, long actStride, int tokens, float* output, long outStride) =>
        npc_matmul_q4_0x8(packed, cols, groups, act, actStride, tokens, output, outStride);

    public static void MatMulQ4_Kx8(byte* packed, int cols, int groups, byte* act, long actStride, int tokens, int firstRow, int gemmRows,
        float* output, long outStride) =>
        npc_matmul_q4_Kx8(packed, cols, groups, act, actStride, tokens, firstRow, gemmRows, output, outStride);

    public static void MatMulQ5_0x8(byte* packed, int cols, int groups, byte* act, long actStride, int tokens, float* output, long outStride) =>
        npc_matmul_q5_0x8(packed, cols, groups, act, actStride, tokens, output, outStride);

    /// <summary>Calls one export to find out whether the library loads; false (with the reason) when it does not.</summary>
    public static bool TryBind(out string failure)
    {
        if (Environment.GetEnvironmentVariable(DisableVariable) == "1")
        {
            failure = $"disabled by {DisableVariable}=1";
            return false;
        }

        try
        {
            int version = npc_abi_version();
            if (version < OldestAbiVersion || version > AbiVersion)
            {
                failure = $"{LibraryName} has ABI version {version}, this assembly needs {OldestAbiVersion} to {AbiVersion}";
                return false;
            }

            // Resolve the hot entry points now, so a stale library fails here and not in the middle of a forward pass.
            npc_path_supported(0);
            npc_row_bytes(0, 0);
            HasQ4_0Interleaved = version >= 4 && ResolvesQ4_0x8();
            HasQ4_KInterleaved = version >= 6 && ResolvesQ4_Kx8();
            HasQ5_0Interleaved = version >= 8 && ResolvesQ5_0x8();
            failure = string.Empty;
            return true;
        }
        catch (DllNotFoundException e)
        {
            failure = $"{LibraryName} was not found: {e.Message}";
        }
        catch (EntryPointNotFoundException e)
        {
            failure = $"{LibraryName} lacks an export: {e.Message}";
        }
        catch (BadImageFormatException e)
        {
            failure = $"{LibraryName} is not for this platform: {e.Message}";
        }

        return false;
    }

    /// <summary>Resolves the optional <c>npc_matmul_q4_0x8</c> with a call that does nothing (no groups, no tokens).</summary>
    private static bool ResolvesQ4_0x8()
    {
        try
        {
            npc_matmul_q4_0x8(null, 0, 0, null, 0, 0, null, 0);
            return true;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Resolves the optional <c>npc_matmul_q4_Kx8</c> with a call that does nothing (no groups, no tokens).</summary>
    private static bool ResolvesQ4_Kx8()
    {
        try
        {
            npc_matmul_q4_Kx8(null, 0, 0, null, 0, 0, 0, 0, null, 0);
            return true;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Resolves the optional <c>npc_matmul_q5_0x8</c> with a call that does nothing (no groups, no tokens).</summary>
    private static bool ResolvesQ5_0x8()
    {
        try
        {
            npc_matmul_q5_0x8(null, 0, 0, null, 0, 0, null, 0);
            return true;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_abi_version();

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_get_path();

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern IntPtr npc_path_name(int path);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_set_path(int path);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_path_supported(int path);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern long npc_row_bytes(int type, long n);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_matmul_kernel(int kernel, int gemmRows, int type, void* w, long rowStride, int rows, int cols,
        void* act, long actStride, int nAct, float* output, long outStride, int rowBegin, int rowEnd);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_quantize_rows(int type, float* src, long srcStride, void* dst, long dstStride, long n, int count);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_dequantize_row(int type, void* src, float* dst, long n);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_rmsnorm(float* x, float* w, float* y, int n, float eps);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_softmax(float* x, int n);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_swiglu(float* gate, float* up, int n);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_rope(float* x, int heads, int headDim, long headStride, int ropeDim, float* cos, float* sin, int style);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern int npc_attention(float* q, int headDim, int kvType, void* k, void* v, long kvStride, int positions,
        float scale, float* scores, float* output);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern void npc_matmul_q4_0x8(byte* packed, int cols, int groups, byte* act, long actStride, int tokens,
        float* output, long outStride);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern void npc_matmul_q4_Kx8(byte* packed, int cols, int groups, byte* act, long actStride, int tokens,
        int firstRow, int gemmRows, float* output, long outStride);

    [DllImport(LibraryName, CallingConvention = CallingConvention.Cdecl)]
    private static extern void npc_matmul_q5_0x8(byte* packed, int cols, int groups, byte* act, long actStride, int tokens,
        float* output, long outStride);
#endif
}
