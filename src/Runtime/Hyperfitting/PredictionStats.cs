using Hyper.Runtime.Models;

namespace Hyper.Runtime.Hyperfitting;

/// <summary>
/// Loss, entropy and top-1 probability of a model's next-token predictions on held-out text, in one pass
/// (teacher forcing: every position sees the true text before it).
/// </summary>
public static class PredictionStats
{
    /// <summary>What one pass measured, each a mean over all predicted positions.</summary>
    /// <param name="Loss">Cross-entropy of the true next token (nats).</param>
    /// <param name="Entropy">Entropy of the predicted distribution (nats).</param>
    /// <param name="Top1">Probability of the most likely token.</param>
    /// <param name="Tokens">Positions measured.</param>
    public sealed record Result(double Loss, double Entropy, double Top1, long Tokens);

    /// <summary>
    /// Measures windows k = 0, 1, ... of T+1 tokens (inputs tokens[kT .. kT+T), targets one later), at most
    /// <paramref name="maxWindows"/>, <paramref name="batch"/> at a time, as <see cref="Training.Evaluator"/> does.
    /// </summary>
    public static Result Evaluate(ICausalLm model, ReadOnlySpan<int> tokens, int T, int maxWindows, int batch)
    {
        ArgumentNullException.ThrowIfNull(model);
        int windows = Math.Min(tokens.Length < T + 1 ? 0 : (tokens.Length - 1) / T, maxWindows);
        if (windows == 0) throw new ArgumentException($"{tokens.Length} tokens are fewer than one window of {T + 1}");
        int V = model.Config.VocabSize, Vp = model.Config.PaddedVocabSize;
        var inputs = new int[batch * T];
        var targets = new int[batch * T];
        var probs = new float[T * V]; // one window at a time: a GPT-2 vocabulary makes the whole batch hundreds of MB
        double loss = 0, entropy = 0, top1 = 0;
        for (int k = 0; k < windows; k += batch)
        {
            int b = Math.Min(batch, windows - k);
            for (int i = 0; i < b; i++)
            {
                tokens.Slice((k + i) * T, T).CopyTo(inputs.AsSpan(i * T));
                tokens.Slice((k + i) * T + 1, T).CopyTo(targets.AsSpan(i * T));
            }
            loss += (double)model.Forward(inputs.AsSpan(0, b * T), targets.AsSpan(0, b * T), b, T) * b * T;
            // With targets, the forward leaves softmax probabilities in the logits buffer.
            for (int n = 0; n < b * T; n++)
            {
                if (n % T == 0) VocabularyPadding.DownloadRows(model.Backend, model.Logits.Slice((long)n * Vp, (long)T * Vp), probs, T, V, Vp);
                var row = probs.AsSpan(n % T * V, V);
                double h = 0;
                float max = 0;
                foreach (float q in row)
                {
                    if (q > 0) h -= q * Math.Log(q);
                    if (q > max) max = q;
                }
                entropy += h;
                top1 += max;
            }
        }
        long count = (long)windows * T;
        return new Result(loss / count, entropy / count, top1 / count, count);
    }
}
