namespace Hyper.Runtime.Models;

/// <summary>AdamW hyperparameters (PyTorch's names and defaults, GPT-2-style decay and clipping).</summary>
public sealed record AdamWSettings
{
    /// <summary>First-moment decay.</summary>
    public float Beta1 { get; init; } = 0.9f;
    /// <summary>Second-moment decay.</summary>
    public float Beta2 { get; init; } = 0.999f;
    /// <summary>Denominator epsilon.</summary>
    public float Eps { get; init; } = 1e-8f;
    /// <summary>Decoupled weight decay, applied to matrices only (see <see cref="ParameterLayout"/>).</summary>
    public float WeightDecay { get; init; } = 0.0f;
    /// <summary>Global gradient-norm clip; 0 or less turns clipping off.</summary>
    public float GradClip { get; init; } = 1.0f;
}
