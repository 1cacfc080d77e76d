namespace Hyper.Runtime.Generation;

/// <summary>Divides the logits by the temperature (&gt; 0): below 1 sharpens the distribution, above 1 flattens it.</summary>
public sealed class TemperatureProcessor : ILogitsProcessor
{
    private readonly float _inverse;

    /// <summary>Scales by 1 / <paramref name="temperature"/>.</summary>
    public TemperatureProcessor(double temperature)
    {
        if (!(temperature > 0) || double.IsInfinity(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "must be finite and > 0 (0 is greedy decoding, which does not scale)");
        _inverse = (float)(1 / temperature);
    }

    /// <inheritdoc />
    public void Process(Span<float> logits, DecodingContext context)
    {
        // −∞ stays −∞ under a positive factor.
        for (int i = 0; i < logits.Length; i++) logits[i] *= _inverse;
    }
}
