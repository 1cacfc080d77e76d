namespace Hyper.Runtime.Generation;

/// <summary>The continuation of one prompt.</summary>
public sealed record GenerationResult
{
    /// <summary>Position of the prompt in the list given to the generator.</summary>
    public required int PromptIndex { get; init; }

    /// <summary>The prompt's token ids.</summary>
    public required int[] PromptTokens { get; init; }

    /// <summary>The prompt as text (decoded from its tokens).</summary>
    public required string Prompt { get; init; }

    /// <summary>The generated tokens, prompt excluded, with their log-probabilities and entropies.</summary>
    public required IReadOnlyList<GeneratedToken> Tokens { get; init; }

    /// <summary>The generated text, cut before the first stop string when one ended it.</summary>
    public required string Text { get; init; }

    /// <summary>Why it ended.</summary>
    public required FinishReason FinishReason { get; init; }

    /// <summary>The generated token ids.</summary>
    public int[] TokenIds => Tokens.Select(t => t.Id).ToArray();
}
