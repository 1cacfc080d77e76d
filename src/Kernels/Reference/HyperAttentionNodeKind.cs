namespace Hyper.Kernels.Reference;

/// <summary>What a <see cref="HyperAttentionNode"/> computes.</summary>
public enum HyperAttentionNodeKind
{
    /// <summary>Exact self-attention of a token range on itself (causal iff the plan is): the recursion's leaves.</summary>
    Diagonal = 0,

    /// <summary>Exact attention of a query range on a key range, every key with weight 1 (a rectangle below min_seq_len queries).</summary>
    Exact = 1,

    /// <summary>sortLSH block-diagonal plus uniform samples: the HyperAttention approximation of a rectangle.</summary>
    Sorted = 2,
}
