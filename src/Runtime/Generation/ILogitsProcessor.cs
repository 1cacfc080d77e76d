namespace Hyper.Runtime.Generation;

/// <summary>
/// One step of the decoding pipeline: rewrites the next-token logits [V] in place. A banned or filtered
/// token gets −∞; a processor never raises a −∞ back, so each step sees what the earlier ones left.
/// </summary>
public interface ILogitsProcessor
{
    /// <summary>Rewrites <paramref name="logits"/> [V] for the sequence described by <paramref name="context"/>.</summary>
    void Process(Span<float> logits, DecodingContext context);
}
