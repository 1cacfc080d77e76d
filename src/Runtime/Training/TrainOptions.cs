namespace Hyper.Runtime.Training;

/// <summary>Everything `hyper train` can be told; defaults are what a user gets without flags.</summary>
public sealed record TrainOptions
{
    /// <summary>Training corpus: a text file or an llm.c token shard.</summary>
    public required string DataPath { get; init; }
    /// <summary>Held-out corpus; when null the last <see cref="ValFraction"/> of the tokens is held out.</summary>
    public string? ValDataPath { get; init; }
    /// <summary>Fraction of the corpus held out when no validation file is given.</summary>
    public double ValFraction { get; init; } = 0.05;
    /// <summary>Output folder: checkpoint, log.jsonl, loss.png.</summary>
    public required string OutDir { get; init; }
    /// <summary>A preset name, a config.json, or a checkpoint folder to start from.</summary>
    public string Model { get; init; } = "tiny";
    /// <summary>byte or gpt2; null = what the model implies.</summary>
    public string? Tokenizer { get; init; }
    /// <summary>Total optimizer steps of the run (a resumed run continues up to this).</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Sequences per step.</summary>
    public int Batch { get; init; } = 8;
    /// <summary>Tokens per sequence; 0 = the model's n_positions.</summary>
    public int Seq { get; init; }
    /// <summary>Peak learning rate.</summary>
    public float Lr { get; init; } = 1e-3f;
    /// <summary>Linear warm-up steps.</summary>
    public int Warmup { get; init; }
    /// <summary>cosine (decay to 10% at the end) or constant.</summary>
    public string Schedule { get; init; } = "cosine";
    /// <summary>AdamW decoupled weight decay on matrices.</summary>
    public float WeightDecay { get; init; } = 0.1f;
    /// <summary>Global gradient-norm clip (0 = off).</summary>
    public float GradClip { get; init; } = 1.0f;
    /// <summary>Held-out loss every N steps (0 = only at the end).</summary>
    public int EvalEvery { get; init; } = 100;
    /// <summary>Windows of the held-out set per evaluation.</summary>
    public int EvalWindows { get; init; } = 32;
    /// <summary>Checkpoint every N steps (0 = only at the end).</summary>
    public int SaveEvery { get; init; }
    /// <summary>Seed for weights and data order.</summary>
    public ulong Seed { get; init; } = 1337;
    /// <summary>Continue the run saved in <see cref="OutDir"/>.</summary>
    public bool Resume { get; init; }
    /// <summary>Backend name.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>What a step with a NaN or infinite loss or gradient norm does.</summary>
    public NonFinitePolicy OnNonFinite { get; init; } = NonFinitePolicy.Stop;
    /// <summary>Attention per layer (exact or HyperAttention); null keeps what the model has.</summary>
    public Models.HyperAttentionRequest? Attention { get; init; }
    /// <summary>The ranks this run is spread over; a single process by default. The caller owns (and disposes) it.</summary>
    public Distributed.ICollectives Collectives { get; init; } = Distributed.SingleProcess.Instance;
    /// <summary>Gradient bucket size in bytes for summing over the ranks during the backward (see <see cref="Distributed.DataParallel"/>); 0 sums after it.</summary>
    public long GradientBucketBytes { get; init; }
}
