namespace Hyper.Runtime.Generation;

/// <summary>
/// Hugging Face's no-repeat n-gram rule: with the last n − 1 tokens of the context (prompt and generated
/// text) as a prefix, every token that followed that prefix anywhere earlier in the context is banned, so no
/// n-gram occurs twice. Size 1 bans every token already in the context.
/// </summary>
public sealed class NoRepeatNgramProcessor : ILogitsProcessor
{
    private readonly int _n;

    /// <summary>Bans repeats of n-grams of size <paramref name="n"/> (≥ 1).</summary>
    public NoRepeatNgramProcessor(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        _n = n;
    }

    /// <inheritdoc />
    public void Process(Span<float> logits, DecodingContext context)
    {
        var tokens = context.Tokens;
        int length = tokens.Length, prefix = _n - 1;
        // Fewer than n − 1 tokens: no n-gram can be completed yet (HF: cur_len + 1 < n).
        if (length < prefix) return;
        var tail = tokens[(length - prefix)..];
        // A linear scan: contexts are at most n_positions long plus what a sliding window added, and this
        // runs once per token beside a forward pass that costs far more.
        for (int start = 0; start + _n <= length; start++)
            if (tokens.Slice(start, prefix).SequenceEqual(tail))
                logits[tokens[start + prefix]] = float.NegativeInfinity;
    }
}
