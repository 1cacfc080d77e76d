namespace Hyper.Runtime.Hypernetworks;

/// <summary>Everything `hyper hypernet train` can be told; defaults are what a user gets without flags.</summary>
public sealed record HyperTrainOptions
{
    /// <summary>Corpus A (weight γ).</summary>
    public required string DataA { get; init; }
    /// <summary>Corpus B (weight 1 − γ).</summary>
    public required string DataB { get; init; }
    /// <summary>Output folder: hypernetwork checkpoint, log.jsonl, loss.png.</summary>
    public required string OutDir { get; init; }
    /// <summary>The target: a preset name or a config.json.</summary>
    public string Model { get; init; } = "tiny";
    /// <summary>The hypernetwork's switches and shape.</summary>
    public HyperNetworkOptions Network { get; init; } = HyperNetworkOptions.Mip;
    /// <summary>Optimizer steps.</summary>
    public int Steps { get; init; } = 300;
    /// <summary>Samples per step, each with its own γ.</summary>
    public int Batch { get; init; } = 8;
    /// <summary>Tokens per window; 0 = the target's n_positions.</summary>
    public int Seq { get; init; }
    /// <summary>Peak learning rate.</summary>
    public float Lr { get; init; } = 1e-3f;
    /// <summary>Linear warm-up steps.</summary>
    public int Warmup { get; init; }
    /// <summary>constant or cosine (decay to 10% at the end).</summary>
    public string Schedule { get; init; } = "constant";
    /// <summary>AdamW decoupled weight decay on the hypernetwork's weights.</summary>
    public float WeightDecay { get; init; }
    /// <summary>Global gradient-norm clip (0 = off).</summary>
    public float GradClip { get; init; } = 1.0f;
    /// <summary>Held-out evaluation every N steps (and at the start and the end).</summary>
    public int EvalEvery { get; init; } = 25;
    /// <summary>Held-out windows per corpus per evaluation.</summary>
    public int EvalWindows { get; init; } = 16;
    /// <summary>Fraction of each corpus held out (its end).</summary>
    public double ValFraction { get; init; } = 0.05;
    /// <summary>The held-out loss whose first crossing is reported as steps_to_target.</summary>
    public double TargetLoss { get; init; } = 2.6;
    /// <summary>Seed of the weights, the data order and the γ draws.</summary>
    public ulong Seed { get; init; } = 1337;
    /// <summary>Backend name.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Continue the run saved in <see cref="OutDir"/> exactly where it stopped (same settings).</summary>
    public bool Resume { get; init; }
    /// <summary>What a step with a NaN or infinite loss or gradient norm does.</summary>
    public Training.NonFinitePolicy OnNonFinite { get; init; } = Training.NonFinitePolicy.Stop;
}
