namespace Hyper.Runtime.Hypernetworks;

/// <summary>N rows of features x[N,In] with class labels[N] for an <see cref="MlpTarget"/>.</summary>
public sealed record MlpBatch(float[] X, int[] Labels, int N);
