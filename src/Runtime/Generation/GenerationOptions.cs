namespace Hyper.Runtime.Generation;

/// <summary>Run-level settings of <see cref="TextGenerator"/>: how long, when to stop, which random streams.</summary>
public sealed record GenerationOptions
{
    /// <summary>At most this many tokens are generated per prompt.</summary>
    public int MaxNewTokens { get; init; } = 64;

    /// <summary>
    /// GenerationResult of a prompt ends as soon as its text contains one of these; the text is cut where that
    /// string starts (the stop string is not part of it). Token ids keep every token generated, including
    /// those that spelled the stop string (as Hugging Face does).
    /// </summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>
    /// Seed of the sampling streams. Prompt i draws from its own stream derived from (seed, i), so its
    /// output does not depend on which other prompts run beside it.
    /// </summary>
    public ulong Seed { get; init; }

    /// <summary>
    /// When the context is full, restart the cache from the last n_positions/2 tokens and go on, instead of
    /// refusing a prompt + <see cref="MaxNewTokens"/> longer than n_positions.
    /// </summary>
    public bool SlidingWindow { get; init; }

    /// <summary>End a generation when the model emits the tokenizer's end-of-text token (which is then not recorded).</summary>
    public bool StopAtEndOfText { get; init; } = true;

    /// <summary>Most prompts (of equal token length) run together in one batch.</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>Throws <see cref="ArgumentException"/> for a value outside its range.</summary>
    public void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentException($"the number of new tokens ({MaxNewTokens}) must be ≥ 0");
        if (MaxBatch < 1) throw new ArgumentException($"the batch size ({MaxBatch}) must be ≥ 1");
        foreach (string s in StopStrings)
            if (string.IsNullOrEmpty(s)) throw new ArgumentException("a stop string must not be empty");
    }

    /// <summary>
    /// The random stream of prompt <paramref name="promptIndex"/>: the seed and the index are mixed by one
    /// SplitMix64 step each, so neighbouring seeds and indices give unrelated streams.
    /// </summary>
    public static Rng RngFor(ulong seed, int promptIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(promptIndex);
        ulong mixed = new Rng(seed).NextUInt64() ^ new Rng(0x5EED_0000_0000_0000UL + (ulong)promptIndex).NextUInt64();
        return new Rng(mixed);
    }
}
