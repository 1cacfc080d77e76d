namespace Hyper.Runtime.Hyperfitting;

/// <summary>
/// Everything `hyper hyperfit` can be told. The defaults are the recipe of Carlsson et al. (ICLR 2025,
/// section 3): 2,000 random sequences of 256 tokens, 20 epochs of batch 8, Adam at a constant 1e-6, no
/// weight decay, no warm-up, every parameter trained.
/// </summary>
public sealed record HyperfitOptions
{
    /// <summary>The pretrained checkpoint folder to start from.</summary>
    public required string ModelDir { get; init; }
    /// <summary>The text the hyperfitting sequences (and the held-out tail) come from.</summary>
    public required string DataPath { get; init; }
    /// <summary>Output folder: the hyperfitted checkpoint, log.jsonl, hyperfit.png, the sequences and the held-out text.</summary>
    public required string OutDir { get; init; }
    /// <summary>Sequences drawn (seeded, without replacement) from the training part.</summary>
    public int Samples { get; init; } = 2000;
    /// <summary>Tokens per sequence.</summary>
    public int Seq { get; init; } = 256;
    /// <summary>Passes over the sequences.</summary>
    public int Epochs { get; init; } = 20;
    /// <summary>Sequences per step.</summary>
    public int Batch { get; init; } = 8;
    /// <summary>Constant learning rate.</summary>
    public float Lr { get; init; } = 1e-6f;
    /// <summary>Decoupled weight decay on matrices (the paper: none).</summary>
    public float WeightDecay { get; init; }
    /// <summary>Global gradient-norm clip; 0 = off (the paper names none).</summary>
    public float GradClip { get; init; }
    /// <summary>What a step with a NaN or infinite loss or gradient norm does.</summary>
    public Training.NonFinitePolicy OnNonFinite { get; init; } = Training.NonFinitePolicy.Stop;
    /// <summary>Null = every parameter; N = only the last N blocks, the final norm and an untied output head (see ICausalLm.TrainLastBlocks).</summary>
    public int? TrainLastBlocks { get; init; }
    /// <summary>The tail of the data held out (by position in the file): never drawn, used for held-out loss and prompts.</summary>
    public double ValFraction { get; init; } = 0.1;
    /// <summary>Windows of the held-out text per evaluation (loss, entropy, top-1).</summary>
    public int EvalWindows { get; init; } = 32;
    /// <summary>Held-out prompts for the per-epoch greedy TTR (0 = no TTR).</summary>
    public int Prompts { get; init; } = 16;
    /// <summary>Tokens per held-out prompt (the paper: 32).</summary>
    public int PromptTokens { get; init; } = 32;
    /// <summary>Greedy tokens generated per prompt for the TTR (the paper: 96).</summary>
    public int NewTokens { get; init; } = 96;
    /// <summary>Seed of the sequence choice and of the order within each epoch.</summary>
    public ulong Seed { get; init; } = 1337;
    /// <summary>Backend name.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Continue the run saved in <see cref="OutDir"/> exactly where it stopped (up to <see cref="Epochs"/>).</summary>
    public bool Resume { get; init; }
    /// <summary>The ranks this run is spread over (each takes its rows of every batch); a single process by default. The caller owns it.</summary>
    public Distributed.ICollectives Collectives { get; init; } = Distributed.SingleProcess.Instance;
    /// <summary>Gradient bucket size in bytes for summing over the ranks during the backward (see <see cref="Distributed.DataParallel"/>); 0 sums after it.</summary>
    public long GradientBucketBytes { get; init; }
}
