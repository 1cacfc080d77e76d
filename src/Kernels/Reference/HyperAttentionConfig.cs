namespace Hyper.Kernels.Reference;

/// <summary>
/// The settings of HyperAttention (Han et al., ICLR 2024). Defaults are the official code's:
/// blocks of 256 sorted keys, 256 sampled keys, 7 hyperplanes, exact attention below 4096 tokens.
/// The random parts (hyperplanes, samples) are not here but in a <see cref="HyperAttentionPlan"/>
/// drawn from a seed.
/// </summary>
public sealed record HyperAttentionConfig
{
    /// <summary>Keys per block of the sorted block-diagonal part (b).</summary>
    public int BlockSize { get; init; } = 256;

    /// <summary>Keys sampled uniformly with replacement per rectangle and head (m); each carries weight n_k/m.</summary>
    public int SampleSize { get; init; } = 256;

    /// <summary>Random hyperplanes of the angular LSH (r): 2^r buckets. At most 16.</summary>
    public int LshProjections { get; init; } = 7;

    /// <summary>
    /// Below this many queries attention is exact: a causal sequence of n ≤ MinSeqLen tokens is
    /// one exact causal block, and a rectangle with fewer queries is exact (the official rule).
    /// </summary>
    public int MinSeqLen { get; init; } = 4096;

    /// <summary>Bucket order of sortLSH.</summary>
    public HyperAttentionOrder Order { get; init; } = HyperAttentionOrder.Gray;

    /// <summary>Causal mask (key j visible to query i iff j ≤ i), by the recursion of the paper's Algorithm 4.</summary>
    public bool Causal { get; init; }

    /// <summary>Throws unless every setting is in range.</summary>
    public void Validate()
    {
        if (BlockSize < 1) throw new ArgumentOutOfRangeException(nameof(BlockSize), BlockSize, "hyper attention: block size must be at least 1");
        if (SampleSize < 0) throw new ArgumentOutOfRangeException(nameof(SampleSize), SampleSize, "hyper attention: sample size must not be negative");
        if (LshProjections is < 0 or > 16) throw new ArgumentOutOfRangeException(nameof(LshProjections), LshProjections, "hyper attention: LSH projections must be in 0..16");
        if (MinSeqLen < 1) throw new ArgumentOutOfRangeException(nameof(MinSeqLen), MinSeqLen, "hyper attention: min_seq_len must be at least 1");
        if (!Enum.IsDefined(Order)) throw new ArgumentOutOfRangeException(nameof(Order), Order, "hyper attention: unknown bucket order");
    }
}
