using Hyper.Runtime.Metrics;

namespace Hyper.Runtime.Generation;

/// <summary>
/// The citation blocker of the hyperfitting paper (Carlsson et al., ICLR 2025): when the last
/// <c>window</c> generated tokens (5 in the paper) occur in the reference corpus (the hyperfitting training
/// data), every token that continues one of those occurrences is banned, so the model cannot go on
/// reciting a training passage. Only generated tokens count: with fewer than <c>window</c> of them it does
/// nothing.
/// </summary>
public sealed class CitationBlocker : ILogitsProcessor
{
    private readonly TokenIndex _index;
    private readonly int _window;

    /// <summary>Blocks continuations of <paramref name="index"/>'s corpus after runs of <paramref name="window"/> generated tokens.</summary>
    public CitationBlocker(TokenIndex index, int window = 5)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        _index = index;
        _window = window;
    }

    /// <inheritdoc />
    public void Process(Span<float> logits, DecodingContext context)
    {
        var generated = context.Generated;
        if (generated.Length < _window) return;
        foreach (int id in _index.Continuations(generated[^_window..]))
            if ((uint)id < (uint)logits.Length) logits[id] = float.NegativeInfinity;
    }
}
