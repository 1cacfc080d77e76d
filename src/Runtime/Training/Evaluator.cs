using Hyper.Runtime.Models;

namespace Hyper.Runtime.Training;

/// <summary>Mean next-token cross-entropy of a model over a token stream.</summary>
public static class Evaluator
{
    /// <summary>What an evaluation measured.</summary>
    public sealed record Result(double Loss, long Tokens, int Windows)
    {
        /// <summary>exp(loss).</summary>
        public double Perplexity => Math.Exp(Loss);
    }

    /// <summary>
    /// Window k takes inputs tokens[kT .. kT+T) and targets tokens[kT+1 .. kT+T+1), for every k
    /// with kT+T+1 ≤ N (or the first <paramref name="maxWindows"/>); windows run
    /// <paramref name="batch"/> at a time. Every window has T targets, so the mean over windows
    /// is the mean over tokens.
    /// </summary>
    public static Result Evaluate(ICausalLm model, ReadOnlySpan<int> tokens, int T, int maxWindows = int.MaxValue, int batch = 8)
    {
        if (T < 1 || T > model.Config.Context)
            throw new ArgumentOutOfRangeException(nameof(T), $"sequence length {T} is outside 1..n_positions ({model.Config.Context})");
        int windows = tokens.Length < T + 1 ? 0 : (tokens.Length - 1) / T;
        windows = Math.Min(windows, maxWindows);
        if (windows == 0)
            throw new ArgumentException($"{tokens.Length} tokens are fewer than one window of {T + 1}");
        var inputs = new int[batch * T];
        var targets = new int[batch * T];
        double sum = 0;
        for (int k = 0; k < windows; k += batch)
        {
            int b = Math.Min(batch, windows - k);
            for (int i = 0; i < b; i++)
            {
                tokens.Slice((k + i) * T, T).CopyTo(inputs.AsSpan(i * T));
                tokens.Slice((k + i) * T + 1, T).CopyTo(targets.AsSpan(i * T));
            }
            sum += (double)model.Forward(inputs.AsSpan(0, b * T), targets.AsSpan(0, b * T), b, T) * b;
        }
        return new Result(sum / windows, (long)windows * T, windows);
    }
}
