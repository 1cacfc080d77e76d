namespace Hyper.Runtime.Data;

/// <summary>Splits a token stream into training and validation parts.</summary>
public static class DataSplit
{
    /// <summary>
    /// The first part of <paramref name="tokens"/> for training and the last
    /// round(N·<paramref name="valFraction"/>) tokens for validation (the tail, so the two never
    /// share a window). <paramref name="valFraction"/> must be in [0, 1); 0 gives an empty validation
    /// part and checks only the training part. Each non-empty part must hold at least
    /// <paramref name="minLength"/> tokens (pass T+1, one window), else <see cref="ArgumentException"/>.
    /// </summary>
    public static (int[] Train, int[] Val) Split(int[] tokens, double valFraction, int minLength = 1)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (!(valFraction >= 0 && valFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(valFraction), valFraction, "validation fraction must be in [0, 1)");
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(minLength);

        int n = tokens.Length;
        int val = (int)Math.Round(n * valFraction, MidpointRounding.AwayFromZero);
        int train = n - val;
        if (train < minLength)
            throw new ArgumentException(
                $"training split has {train} tokens ({n} tokens, validation fraction {valFraction}); it needs at least {minLength} (one window of T+1)",
                nameof(tokens));
        if (valFraction > 0 && val < minLength)
            throw new ArgumentException(
                $"validation split has {val} tokens ({n} tokens × {valFraction}); it needs at least {minLength} (one window of T+1) — raise the fraction or use a longer corpus",
                nameof(tokens));
        return (tokens[..train], tokens[train..]);
    }
}
