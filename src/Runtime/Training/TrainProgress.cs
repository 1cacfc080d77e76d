namespace Hyper.Runtime.Training;

/// <summary>One step's report, for the live progress line and the JSONL log.</summary>
public sealed record TrainProgress(int Step, int TotalSteps, float Loss, float Lr, double GradNorm, double StepMs, double TokensPerS,
    TimeSpan Eta, double? ValLoss);
