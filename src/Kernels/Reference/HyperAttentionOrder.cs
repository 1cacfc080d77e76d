namespace Hyper.Kernels.Reference;

/// <summary>
/// How sortLSH orders the 2^r hash buckets before the sequence is cut into blocks. A bucket id
/// has bit t set when the row lies on the positive side of hyperplane t, so buckets that differ
/// in one bit are angular neighbours; an order in which consecutive buckets differ in one bit
/// keeps neighbours in the same or adjacent blocks.
/// </summary>
public enum HyperAttentionOrder
{
    /// <summary>
    /// Sort by the bucket's position in the reflected Gray sequence, g⁻¹(bucket) with
    /// g(k) = k xor (k ≫ 1): every pair of consecutive buckets differs in exactly one bit. The default.
    /// </summary>
    Gray = 0,

    /// <summary>
    /// The official code's order (insuhan/hyper-attn, angular_lsh.py): sort by g(bucket). Only
    /// "mostly Gray": at r = 7, 96 of the 127 consecutive pairs differ in one bit.
    /// </summary>
    Official = 1,
}
