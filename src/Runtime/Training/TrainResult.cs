namespace Hyper.Runtime.Training;

/// <summary>The summary of a finished (or interrupted) training run.</summary>
public sealed record TrainResult(string OutDir, int Steps, float FinalLoss, double? FinalValLoss, double TokensPerS, double Seconds,
    long Parameters, bool Interrupted, string? PlotPath)
{
    /// <summary>A resumed run that had already reached --steps: nothing was trained and no file was changed.</summary>
    public bool NothingToDo { get; init; }
}
