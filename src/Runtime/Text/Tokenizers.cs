namespace Hyper.Runtime.Text;

/// <summary>Creates tokenizers by name.</summary>
public static class Tokenizers
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["byte", "gpt2"];

    /// <summary>
    /// The tokenizer called <paramref name="name"/> ("byte" or "gpt2", case-insensitive). Tokenizers
    /// are immutable and thread-safe, so the GPT-2 one (≈0.2 s to load) is shared.
    /// </summary>
    public static ITokenizer Create(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "byte" => new ByteTokenizer(),
            "gpt2" => Gpt2Tokenizer.Shared,
            _ => throw new ArgumentException(
                $"unknown tokenizer '{name}': expected one of {string.Join(", ", Names)}", nameof(name)),
        };
    }
}
