namespace Hyper.Runtime.Training;

/// <summary>The checks every training loop makes of its shared flags, with the flag named in the message.</summary>
public static class OptimizerFlags
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first flag out of range.</summary>
    public static void Validate(int batch, int steps, int seq, float lr, int warmup, float weightDecay)
    {
        if (batch < 1) throw new ArgumentException("--batch must be at least 1");
        if (steps < 1) throw new ArgumentException("--steps must be at least 1");
        if (seq < 0) throw new ArgumentException("--seq must be positive");
        if (lr <= 0 || !float.IsFinite(lr)) throw new ArgumentException("--lr must be a positive number");
        if (warmup < 0) throw new ArgumentException("--warmup must not be negative");
        if (weightDecay < 0) throw new ArgumentException("--weight-decay must not be negative");
    }
}
