namespace Hyper.Kernels.Cpu;

/// <summary>The CPU attention forward's variants, for the kernel lab (benchmarks and tests run each).</summary>
public enum AttentionVariant
{
    /// <summary>One score row per query materialised, softmax, weighted sum: plain scalar loops, parallel over rows.</summary>
    Naive = 0,

    /// <summary>Tiled flash attention with an online softmax, Vector512 FMA; the default.</summary>
    Flash = 1,
}
