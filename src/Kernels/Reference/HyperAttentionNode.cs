namespace Hyper.Kernels.Reference;

/// <summary>
/// One piece of a <see cref="HyperAttentionPlan"/>: queries [QueryStart, QueryStart + QueryCount)
/// attend to keys [KeyStart, KeyStart + KeyCount) (token indices within a sequence). Each query
/// row's result is the log-sum-exp merge of the pieces that contain it.
/// </summary>
/// <param name="Kind">Exact diagonal block, exact rectangle, or sorted/sampled rectangle.</param>
/// <param name="QueryStart">First query token.</param>
/// <param name="QueryCount">Query tokens (n_q).</param>
/// <param name="KeyStart">First key token.</param>
/// <param name="KeyCount">Key tokens (n_k).</param>
public readonly record struct HyperAttentionNode(HyperAttentionNodeKind Kind, int QueryStart, int QueryCount, int KeyStart, int KeyCount);
