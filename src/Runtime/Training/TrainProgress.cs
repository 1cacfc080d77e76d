namespace Hyper.Runtime.Training;

/// <summary>One step's report, for the live progress line and the JSONL log.</summary>
public sealed record TrainProgress(int Step, int TotalSteps, float Loss, float Lr, double GradNorm, double StepMs, double TokensPerS,
    TimeSpan Eta, double? ValLoss)
{
    /// <summary>Bytes this rank put into the step's all-reduces (0 in a single process).</summary>
    public long CommBytes { get; init; }

    /// <summary>Milliseconds this rank spent in the step's collectives, waiting for the others included.</summary>
    public double CommMs { get; init; }
}
