namespace Hyper.Runtime.Hyperfitting;

/// <summary>One optimizer step's report, for the live progress line.</summary>
public sealed record HyperfitProgress(int Epoch, int Epochs, int Step, int StepsPerEpoch, float Loss, double TokensPerS, TimeSpan Eta);
