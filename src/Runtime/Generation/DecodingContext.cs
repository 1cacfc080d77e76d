using System.Runtime.InteropServices;

namespace Hyper.Runtime.Generation;

/// <summary>
/// What the logits processors may look at for one sequence: the prompt and the tokens generated so far,
/// and how often each token occurs in the generated part. The whole history is kept even when a sliding
/// window drops the start of it from the model's cache.
/// </summary>
public sealed class DecodingContext
{
    private readonly List<int> _tokens;
    private readonly Dictionary<int, int> _generatedCounts = [];

    /// <summary>Starts a context at <paramref name="prompt"/> (copied).</summary>
    public DecodingContext(ReadOnlySpan<int> prompt)
    {
        _tokens = new List<int>(prompt.Length + 64);
        _tokens.AddRange(prompt);
        PromptLength = prompt.Length;
    }

    /// <summary>Number of prompt tokens at the start of <see cref="Tokens"/>.</summary>
    public int PromptLength { get; }

    /// <summary>Prompt followed by the generated tokens.</summary>
    public ReadOnlySpan<int> Tokens => CollectionsMarshal.AsSpan(_tokens);

    /// <summary>The generated tokens only.</summary>
    public ReadOnlySpan<int> Generated => Tokens[PromptLength..];

    /// <summary>Count of each token id in <see cref="Generated"/> (ids that never occurred are absent).</summary>
    public IReadOnlyDictionary<int, int> GeneratedCounts => _generatedCounts;

    /// <summary>Records a generated token.</summary>
    public void Append(int id)
    {
        _tokens.Add(id);
        CollectionsMarshal.GetValueRefOrAddDefault(_generatedCounts, id, out _)++;
    }
}
