using Hyper.Runtime.Data;

namespace Hyper.Runtime.Hyperfitting;

/// <summary>
/// The data of a hyperfitting run: the tail of the file held out by position (so held-out text and
/// prompts never overlap the training sequences), and the sequences drawn from the rest.
/// </summary>
public static class HyperfitData
{
    /// <summary>
    /// Splits <paramref name="tokens"/> into the training part and the held-out tail (the last
    /// round(N·<paramref name="valFraction"/>) tokens), as <see cref="DataSplit"/> does for `hyper train`, so a
    /// model pretrained with the same --val-fraction has seen none of the held-out text either.
    /// </summary>
    public static (int[] Train, int[] HeldOut) Split(int[] tokens, double valFraction, int window, string source)
    {
        try
        {
            return DataSplit.Split(tokens, valFraction, window);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{source}: {e.Message.Replace($" (Parameter '{e.ParamName}')", "")}");
        }
    }

    /// <summary>
    /// <paramref name="count"/> distinct sequences of <paramref name="length"/> tokens chosen at random
    /// (seeded) among the non-overlapping windows train[k·length .. (k+1)·length), so no two share a token
    /// position. Throws <see cref="ArgumentException"/> when the part holds fewer windows than asked for.
    /// </summary>
    public static int[][] Choose(int[] train, int count, int length, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        int windows = train.Length / length;
        if (count > windows)
            throw new SettingException("Samples", $"{count} is more than the {windows} non-overlapping sequences of {length} tokens the training part holds");
        // A partial Fisher-Yates shuffle of the window indices: the first count are a uniform sample.
        var order = Enumerable.Range(0, windows).ToArray();
        var rng = new Rng(seed);
        for (int i = 0; i < count; i++)
        {
            int j = i + rng.NextInt(windows - i);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order[..count].Select(k => train.AsSpan(k * length, length).ToArray()).ToArray();
    }

    /// <summary>Shuffles <paramref name="items"/> in place (Fisher-Yates).</summary>
    public static void Shuffle<T>(T[] items, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(rng);
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
