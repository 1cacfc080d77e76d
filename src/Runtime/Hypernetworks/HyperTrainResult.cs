namespace Hyper.Runtime.Hypernetworks;

/// <summary>The summary of a hypernetwork training run.</summary>
/// <param name="OutDir">The checkpoint folder.</param>
/// <param name="Steps">Optimizer steps taken.</param>
/// <param name="FinalLoss">The last held-out loss (mean over γ ∈ {0, ½, 1} of the mixture loss).</param>
/// <param name="FinalTrainLoss">Mean training loss of the last (up to) 20 steps.</param>
/// <param name="StepsToTarget">First evaluated step whose held-out loss is at or below the target; null if none.</param>
/// <param name="TargetLoss">The target.</param>
/// <param name="EvalByGamma">The last held-out mixture loss at γ = 0, ½, 1.</param>
/// <param name="Seconds">Wall time.</param>
/// <param name="HyperParameters">Floats in the hypernetwork.</param>
/// <param name="TargetParameters">Floats it generates.</param>
/// <param name="Interrupted">Stopped early by a cancellation.</param>
/// <param name="LogPath">log.jsonl.</param>
/// <param name="PlotPath">loss.png.</param>
/// <param name="Settings">The run's settings, as written to hypernet.json.</param>
public sealed record HyperTrainResult(string OutDir, int Steps, double FinalLoss, double FinalTrainLoss, int? StepsToTarget, double TargetLoss,
    double[] EvalByGamma, double Seconds, long HyperParameters, long TargetParameters, bool Interrupted, string LogPath, string PlotPath,
    IReadOnlyDictionary<string, string> Settings)
{
    /// <summary>A resumed run that had already reached --steps: nothing was trained and no file was changed.</summary>
    public bool NothingToDo { get; init; }
}
