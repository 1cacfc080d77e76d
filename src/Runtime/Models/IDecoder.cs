namespace Hyper.Runtime.Models;

/// <summary>
/// Incremental inference with a key/value cache for B rows that advance together: prefill is
/// <see cref="Feed"/> with the prompt (all its tokens in one pass), decoding is <see cref="Feed"/>
/// with one token per row. Made by <see cref="ICausalLm.CreateDecoder"/>; it shares the model's
/// parameters.
/// </summary>
public interface IDecoder : IDisposable
{
    /// <summary>Rows decoded together (B).</summary>
    int Batch { get; }

    /// <summary>Tokens per row in the cache: the position the next fed token takes.</summary>
    int Position { get; }

    /// <summary>Positions the cache holds.</summary>
    int MaxT { get; }

    /// <summary>Empties the cache (the next feed starts at position 0).</summary>
    void Reset();

    /// <summary>Whether <paramref name="extraTokens"/> more per row fit in the cache.</summary>
    bool Fits(int extraTokens);

    /// <summary>
    /// Appends <paramref name="Tq"/> tokens per row (<paramref name="tokens"/> is [B,Tq]) and writes
    /// the logits of each row's last token to <paramref name="lastLogits"/> [B,V].
    /// </summary>
    void Feed(ReadOnlySpan<int> tokens, int Tq, Span<float> lastLogits);
}
