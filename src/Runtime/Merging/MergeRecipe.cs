namespace Hyper.Runtime.Merging;

/// <summary>
/// What to merge and how: the ingredient checkpoints (folders), their weights, and for the task
/// vector methods the base, λ and (Breadcrumbs) the fractions of each task vector tensor dropped.
/// </summary>
public sealed record MergeRecipe
{
    /// <summary>
    /// The default of <see cref="MergeMethod.Breadcrumbs"/>'s mask: the top 1% of each task vector
    /// tensor's magnitudes dropped (β = 0.01) ... (see docs/merging.md for where the defaults come from)
    /// </summary>
    public const double DefaultTopBeta = 0.01;

    /// <summary>... and the bottom 9% (γ = 0.09), so 90% of each tensor is kept.</summary>
    public const double DefaultBottomGamma = 0.09;

    /// <summary>The ingredient checkpoint folders.</summary>
    public required IReadOnlyList<string> Models { get; init; }

    /// <summary>One weight per ingredient (soup weights, or the task vectors' weights).</summary>
    public required IReadOnlyList<float> Weights { get; init; }

    /// <summary>How they are combined.</summary>
    public MergeMethod Method { get; init; } = MergeMethod.Soup;

    /// <summary>The base checkpoint of the task vector methods.</summary>
    public string? Base { get; init; }

    /// <summary>λ, the scale of the summed task vectors.</summary>
    public float Lambda { get; init; } = 1f;

    /// <summary>Breadcrumbs: the fraction of each task vector tensor's largest magnitudes dropped (β).</summary>
    public double TopBeta { get; init; } = DefaultTopBeta;

    /// <summary>Breadcrumbs: the fraction of each task vector tensor's smallest magnitudes dropped (γ).</summary>
    public double BottomGamma { get; init; } = DefaultBottomGamma;
}
