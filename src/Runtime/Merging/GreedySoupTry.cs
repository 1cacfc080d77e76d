namespace Hyper.Runtime.Merging;

/// <summary>One step of the greedy soup: an ingredient offered to the soup.</summary>
/// <param name="Model">The ingredient's folder.</param>
/// <param name="Loss">Its own held-out loss.</param>
/// <param name="SoupSize">Ingredients in the candidate soup (the soup so far plus this one).</param>
/// <param name="SoupLoss">The candidate's held-out loss (for the first ingredient, its own).</param>
/// <param name="Kept">Whether the ingredient stayed in the soup.</param>
public sealed record GreedySoupTry(string Model, double Loss, int SoupSize, double SoupLoss, bool Kept);
