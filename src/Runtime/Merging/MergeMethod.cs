namespace Hyper.Runtime.Merging;

/// <summary>How the ingredients of a merge are combined (see docs/merging.md for the formulas).</summary>
public enum MergeMethod
{
    /// <summary>A weighted soup: θ = Σₖ wₖ θₖ (Wortsman et al., model soups).</summary>
    Soup,

    /// <summary>Task arithmetic: θ = θ_base + λ Σₖ wₖ (θₖ − θ_base) (Ilharco et al.).</summary>
    TaskArithmetic,

    /// <summary>Model Breadcrumbs: task arithmetic with each task vector tensor masked to a band of magnitudes (Davari and Belilovsky).</summary>
    Breadcrumbs,
}
