namespace Hyper.Runtime.Hypernetworks;

/// <summary>B windows of T tokens for a language-model target: inputs[B,T] and next-token targets[B,T].</summary>
public sealed record TokenBatch(int[] Inputs, int[] Targets, int B, int T);
