namespace Hyper.Kernels.Reference;

/// <summary>
/// What HyperAttention decoding keeps per layer beside the key/value cache: the settings, the
/// layer's LSH hyperplanes [r, hs] and sample seed, and — for the CPU kernel — every cached key's
/// sort key and, per (row, head), the older keys' positions in bucket order, extended by one
/// insertion as each key leaves the exact window. Rows advance together, so one count serves all.
/// </summary>
public sealed class HyperAttentionKvState
{
    /// <summary>Settings (block, samples, hyperplane count, exact window = MinSeqLen, bucket order).</summary>
    public HyperAttentionConfig Config { get; }

    /// <summary>The layer's hyperplanes [r, hs].</summary>
    public float[] Hyperplanes { get; }

    /// <summary>Seed of the per-step samples.</summary>
    public ulong Seed { get; }

    internal readonly int[] KeySortKeys; // [B, NH, maxT]: sort key of each cached key's bucket
    internal readonly int[] Sorted;      // [B, NH, maxT]: older key positions in (sort key, position) order
    internal int SortedCount;             // older keys inserted so far (the same for every row and head)
    internal readonly int B, NH, MaxT;

    /// <summary>State for B rows of NH heads over a cache of maxT positions.</summary>
    public HyperAttentionKvState(HyperAttentionConfig config, float[] hyperplanes, ulong seed, int B, int NH, int maxT)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(hyperplanes);
        config.Validate();
        if (config.LshProjections > 0 && hyperplanes.Length % config.LshProjections != 0)
            throw new ArgumentException($"hyper attention: {hyperplanes.Length} hyperplane values are not r·hs with r = {config.LshProjections}", nameof(hyperplanes));
        Config = config;
        Hyperplanes = hyperplanes;
        Seed = seed;
        this.B = B;
        this.NH = NH;
        MaxT = maxT;
        KeySortKeys = new int[B * NH * maxT];
        Sorted = new int[B * NH * maxT];
    }

    /// <summary>Forgets every cached key (the decoder's reset).</summary>
    public void Reset() => SortedCount = 0;

    /// <summary>The sort key of a bucket under the configured order.</summary>
    public int SortKey(int bucket) =>
        Config.Order == HyperAttentionOrder.Gray ? HyperAttentionPlan.InverseGray(bucket) : HyperAttentionPlan.Gray(bucket);

    /// <summary>Throws unless the hyperplanes have <paramref name="headSize"/> columns.</summary>
    public void CheckFits(int headSize)
    {
        if (Hyperplanes.Length != Config.LshProjections * headSize)
            throw new ArgumentException($"hyper attention: {Hyperplanes.Length} hyperplane values, expected r·hs = {Config.LshProjections * headSize}");
    }
}
