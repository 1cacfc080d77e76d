using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Per-thread scratch for the attention tiles: one pinned array per worker thread, grown on
/// demand and reused, so a training step allocates nothing. Its size depends on the block
/// sizes and the head size only (O(Block·hs)), never on T.
/// </summary>
internal static unsafe class AttentionScratch
{
    [ThreadStatic] private static float[]? t_buffer;

    /// <summary>
    /// A 64-byte-aligned (one cache line, one zmm load) pointer to at least
    /// <paramref name="floats"/> floats, valid on this thread until its next call. Contents are
    /// undefined.
    /// </summary>
    public static float* Get(int floats)
    {
        float[]? buffer = t_buffer;
        if (buffer is null || buffer.Length < floats + 16)
        {
            // Pinned (POH) so the raw pointer stays valid without a fixed block.
            buffer = GC.AllocateUninitializedArray<float>(floats + 16, pinned: true);
            t_buffer = buffer;
        }
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        return (float*)((p + 63) & ~(nint)63);
    }
}
