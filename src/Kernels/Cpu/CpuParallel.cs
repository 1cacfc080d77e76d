namespace Hyper.Kernels.Cpu;

/// <summary>
/// The one place the CPU kernels go parallel. Work is split into a fixed number of chunks that
/// depends only on the problem size, never on timing, so every reduction that sums per-chunk
/// partials in chunk order gives bit-identical results from run to run (training on the CPU is
/// deterministic from a seed).
/// </summary>
public static class CpuParallel
{
    /// <summary>Worker count used by the kernels; defaults to the machine's logical cores.</summary>
    public static int Threads { get; set; } = Math.Max(1, Environment.ProcessorCount);

    /// <summary>
    /// Runs <paramref name="body"/> for every index in [0, count). Indices are independent: each
    /// must write only its own outputs. Runs inline when there is one index or one thread.
    /// </summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 0) return;
        if (count == 1 || Threads == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Threads }, body);
    }

    /// <summary>
    /// Splits [0, n) into at most <see cref="Threads"/> contiguous ranges of at least
    /// <paramref name="minChunk"/> items and runs <paramref name="body"/>(start, end) on each.
    /// </summary>
    public static void ForRange(int n, int minChunk, Action<int, int> body)
    {
        if (n <= 0) return;
        int chunks = Math.Clamp(n / Math.Max(1, minChunk), 1, Threads);
        if (chunks == 1)
        {
            body(0, n);
            return;
        }
        For(chunks, c =>
        {
            int start = (int)((long)n * c / chunks);
            int end = (int)((long)n * (c + 1) / chunks);
            body(start, end);
        });
    }
}
