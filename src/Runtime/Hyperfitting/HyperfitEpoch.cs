namespace Hyper.Runtime.Hyperfitting;

/// <summary>
/// The measurements after one epoch (epoch 0 = the starting model, before any update).
/// </summary>
/// <param name="Epoch">Epochs done.</param>
/// <param name="TrainLoss">Mean loss of the epoch's steps (nats/token); null for epoch 0.</param>
/// <param name="HeldOutLoss">Mean next-token loss on the held-out windows.</param>
/// <param name="Entropy">Mean entropy (nats) of the model's next-token distributions on the held-out windows.</param>
/// <param name="Top1">Mean probability of the most likely next token on the held-out windows.</param>
/// <param name="Ttr">Greedy TTR (x100, last 96 tokens) on the held-out prompts; null when none are used.</param>
/// <param name="Seconds">Wall time since the run started.</param>
public sealed record HyperfitEpoch(int Epoch, double? TrainLoss, double HeldOutLoss, double Entropy, double Top1, double? Ttr, double Seconds);
