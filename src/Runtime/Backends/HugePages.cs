using System.Runtime.InteropServices;

namespace Hyper.Runtime.Backends;

/// <summary>
/// Asks Linux to back large host views with 2 MiB pages (transparent huge pages). Decoding streams
/// every weight once per token; with 4 KiB pages that is a TLB miss and a restart of the hardware
/// prefetcher every 4 KiB. Measured on the 10M model's 42 MB of decode GEMVs (two threads, variants
/// interleaved in random order): 2.62-2.64 ms per token's worth with 4 KiB pages, 2.04-2.21 ms with
/// the same memory collapsed into 2 MiB pages, as fast as memory that had them from the start.
/// <para>
/// This machine's THP mode is "madvise", so nothing gets huge pages unless asked. The request is
/// advisory: MADV_HUGEPAGE marks the 2 MiB-aligned interior of the view, MADV_COLLAPSE (Linux 6.1+)
/// rebuilds its already-touched pages now (12-120 ms for 42 MB; a no-op once done). Contents never
/// change, failures (an older kernel, no free huge pages, not Linux) are ignored, and other backends'
/// buffers are left alone. HostBuffer could do this at allocation time for every large buffer; until
/// it does, <see cref="Models.Gpt2Decoder"/> asks for its weights and cache.
/// </para>
/// </summary>
internal static partial class HugePages
{
    private const int MadvHugepage = 14;
    private const int MadvCollapse = 25;
    private const long Size = 2 << 20;

    /// <summary>Requests 2 MiB pages for the whole 2 MiB pages inside <paramref name="view"/>, when it is host memory on Linux.</summary>
    public static unsafe void Advise(TensorView view)
    {
        if (!OperatingSystem.IsLinux() || view.Buffer is not HostBuffer host || view.Length * sizeof(float) < 2 * Size)
            return;
        if (view.Length > int.MaxValue) return; // more than one span addresses; not worth splitting
        fixed (float* p = host.Span(view.Offset, view.Length))
            Advise(p, view.Length * sizeof(float));
    }

    // The same for bytes at p, memory that does not move.
    private static unsafe void Advise(void* p, long bytes)
    {
        if (!OperatingSystem.IsLinux() || bytes < 2 * Size) return;
        nint start = ((nint)p + (nint)(Size - 1)) & ~(nint)(Size - 1);
        nint end = ((nint)p + (nint)bytes) & ~(nint)(Size - 1);
        if (end <= start) return;
        try
        {
            if (Madvise(start, (nuint)(end - start), MadvHugepage) == 0)
                Madvise(start, (nuint)(end - start), MadvCollapse);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc madvise: 4 KiB pages it is.
        }
    }

    /// <summary>
    /// MADV_HUGEPAGE alone for the whole 2 MiB pages inside fresh memory at <paramref name="p"/> (any alignment), before its
    /// first write: a large host buffer then faults in 2 MiB pages as it is first written, and the decoders' later
    /// <see cref="Advise(TensorView)"/> finds nothing to collapse (copying a loaded 4 GiB arena into huge pages took
    /// about a quarter of a 1.1B model's load).
    /// </summary>
    public static unsafe void AdviseFresh(void* p, long bytes)
    {
        nint start = ((nint)p + (nint)(Size - 1)) & ~(nint)(Size - 1);
        nint end = ((nint)p + (nint)bytes) & ~(nint)(Size - 1);
        if (end > start) AdviseUntouched((void*)start, end - start);
    }

    /// <summary>
    /// MADV_HUGEPAGE alone for memory not yet touched (<paramref name="p"/> 2 MiB-aligned, as <see cref="PackedArena"/>'s
    /// slabs): its first writes then fault in 2 MiB pages, with nothing to collapse.
    /// </summary>
    public static unsafe void AdviseUntouched(void* p, long bytes)
    {
        if (!OperatingSystem.IsLinux() || bytes < Size) return;
        try
        {
            Madvise((nint)p, (nuint)(bytes & ~(Size - 1)), MadvHugepage);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // No libc madvise: 4 KiB pages it is.
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
