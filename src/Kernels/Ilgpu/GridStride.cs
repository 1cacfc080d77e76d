using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// The step of a grid-stride loop, <c>for (i = Grid.GlobalIndex.X; i &lt; n; i += GridStride.Step)</c>:
/// every thread of the launch takes every Step-th element, so any launch size covers any n. The
/// per-element kernels are written this way so the backend can size launches per device: many
/// groups of 256 on a GPU, a handful of threads on the CPU accelerator, where each group launched
/// costs host-thread hand-offs (measured: a 4096-element kernel took 285 ms with one group per
/// warp, 0.5 ms as a grid-stride loop on 4 threads).
/// </summary>
public static class GridStride
{
    /// <summary>Threads in the whole launch.</summary>
    public static int Step => Grid.DimX * Group.DimX;
}
