namespace Hyper.Runtime.Merging;

/// <summary>What a merge wrote.</summary>
/// <param name="Tensors">Tensors merged.</param>
/// <param name="Parameters">Values per model.</param>
/// <param name="Kept">Task vector values kept by the masks, over all ingredients (task arithmetic keeps them all; 0 for a soup).</param>
/// <param name="Masked">Task vector values the masks looked at (ingredients × parameters; 0 for a soup).</param>
public sealed record MergeSummary(int Tensors, long Parameters, long Kept, long Masked);
