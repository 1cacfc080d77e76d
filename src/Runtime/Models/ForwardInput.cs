using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// What every <see cref="ICausalLm.Forward"/> does around its graph: check the batch against the
/// model, keep tokens and targets for the backward, and average the per-position losses over the
/// targets that count (a negative target is padding).
/// </summary>
internal static class ForwardInput
{
    /// <summary>Throws, naming the value, when the batch does not fit a model of this context and vocabulary.</summary>
    public static void Check(ReadOnlySpan<int> tokens, ReadOnlySpan<int> targets, int B, int T, int context, int vocab, string contextName)
    {
        if (T < 1 || T > context)
            throw new ArgumentOutOfRangeException(nameof(T), $"sequence length {T} is outside 1..{contextName} ({context})");
        if (tokens.Length != B * T)
            throw new ArgumentException($"{tokens.Length} tokens given for B={B}, T={T}");
        if (!targets.IsEmpty && targets.Length != B * T)
            throw new ArgumentException($"{targets.Length} targets given for B={B}, T={T}");
        foreach (int t in tokens)
            if ((uint)t >= (uint)vocab) throw new ArgumentOutOfRangeException(nameof(tokens), $"token id {t} is outside the vocabulary (0..{vocab - 1})");
    }

    /// <summary>Copies <paramref name="values"/> into <paramref name="keep"/>, reusing it when the length matches (no per-step allocation).</summary>
    public static void Keep(ref int[] keep, ReadOnlySpan<int> values)
    {
        if (keep.Length != values.Length) keep = new int[values.Length];
        values.CopyTo(keep);
    }

    /// <summary>
    /// The mean of <paramref name="losses"/> [N] over positions whose target is not negative, summed
    /// in double; 0 when none counts. <paramref name="host"/> is the reused download buffer.
    /// </summary>
    public static float MeanLoss(IBackend be, TensorView losses, ReadOnlySpan<int> targets, ref float[] host, out int valid)
    {
        int N = targets.Length;
        if (host.Length != N) host = new float[N];
        be.Download(losses, host);
        double sum = 0;
        valid = 0;
        for (int i = 0; i < N; i++)
        {
            if (targets[i] < 0) continue;
            sum += host[i];
            valid++;
        }
        return valid == 0 ? 0f : (float)(sum / valid);
    }
}
