namespace Hyper.Runtime.Hyperfitting;

/// <summary>The summary of a finished (or interrupted) hyperfitting run.</summary>
/// <param name="OutDir">The output folder (absolute).</param>
/// <param name="Epochs">Epoch 0 (the starting model) and every completed epoch.</param>
/// <param name="Steps">Optimizer steps taken.</param>
/// <param name="TokensPerS">Training throughput (evaluations excluded).</param>
/// <param name="Seconds">Wall time of the whole run.</param>
/// <param name="Interrupted">Stopped early by cancellation (the checkpoint holds the last step).</param>
/// <param name="PlotPath">The curves' PNG.</param>
/// <param name="SequencesPath">The hyperfitting sequences as text, for dataset overlap and the citation blocker.</param>
/// <param name="HeldOutPath">The held-out text, for prompts and perplexity.</param>
public sealed record HyperfitResult(string OutDir, IReadOnlyList<HyperfitEpoch> Epochs, int Steps, double TokensPerS, double Seconds,
    bool Interrupted, string PlotPath, string SequencesPath, string HeldOutPath)
{
    /// <summary>The size of the per-epoch greedy-TTR probe (null when it was off).</summary>
    public TtrProbe? TtrProbe { get; init; }

    /// <summary>A resumed run that had already done every epoch: nothing was trained and no file was changed.</summary>
    public bool NothingToDo { get; init; }

    /// <summary>The last completed epoch's mean training loss (null when no epoch completed).</summary>
    public double? FinalTrainLoss => Epochs.LastOrDefault(e => e.TrainLoss is not null)?.TrainLoss;
}
