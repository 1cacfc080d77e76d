using Hyper.Kernels.Reference;

namespace Hyper.Runtime.Benchmarks;

/// <summary>What <see cref="AttentionBenchmark.Run"/> measures.</summary>
public sealed record AttentionBenchmarkOptions
{
    /// <summary>Sequence lengths n, one result each.</summary>
    public IReadOnlyList<int> Lengths { get; init; } = [4096];

    /// <summary>Heads (batch is 1).</summary>
    public int Heads { get; init; } = 1;

    /// <summary>Head size hs.</summary>
    public int HeadSize { get; init; } = 64;

    /// <summary>Causal mask.</summary>
    public bool Causal { get; init; }

    /// <summary>Also time forward + backward and compare dQ, dK, dV.</summary>
    public bool Backward { get; init; }

    /// <summary>Input distribution.</summary>
    public AttentionData Data { get; init; } = AttentionData.Random;

    /// <summary>Cluster centres of <see cref="AttentionData.Clustered"/>.</summary>
    public int Clusters { get; init; } = 16;

    /// <summary>Checkpoint folder of <see cref="AttentionData.Model"/>.</summary>
    public string? ModelDir { get; init; }

    /// <summary>Text the model reads for <see cref="AttentionData.Model"/>.</summary>
    public string ModelText { get; init; } = "data/moby-dick.txt";

    /// <summary>Layer whose q, k, v are taken for <see cref="AttentionData.Model"/> (−1: the last).</summary>
    public int ModelLayer { get; init; } = -1;

    /// <summary>HyperAttention settings (its <see cref="HyperAttentionConfig.Causal"/> is taken from <see cref="Causal"/>).</summary>
    public HyperAttentionConfig Hyper { get; init; } = new();

    /// <summary>Seed of the data and of the plan.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Timed runs per kernel and length (the minimum is reported); a kernel whose first run takes over <see cref="LongRunSeconds"/> runs once.</summary>
    public int Repeats { get; init; } = 3;

    /// <summary>See <see cref="Repeats"/>.</summary>
    public double LongRunSeconds { get; init; } = 5;
}
