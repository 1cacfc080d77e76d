namespace Hyper.Runtime.Generation;

/// <summary>
/// Min-p filtering (Nguyen et al. 2024; llama.cpp, Hugging Face): keeps the tokens whose probability is at
/// least min_p times the top token's, under the distribution the earlier steps left. The top token always stays.
/// </summary>
public sealed class MinPFilter : ILogitsProcessor
{
    private readonly double _minP;
    private double[] _probs = [];

    /// <summary>Keeps tokens with p ≥ <paramref name="minP"/> · p_max, <paramref name="minP"/> in [0, 1].</summary>
    public MinPFilter(double minP)
    {
        if (!(minP >= 0 && minP <= 1)) throw new ArgumentOutOfRangeException(nameof(minP), minP, "must be in [0, 1]");
        _minP = minP;
    }

    /// <inheritdoc />
    public void Process(Span<float> logits, DecodingContext context)
    {
        if (_probs.Length < logits.Length) _probs = new double[logits.Length];
        LogitMath.Softmax(logits, _probs);
        double max = 0;
        for (int i = 0; i < logits.Length; i++) max = Math.Max(max, _probs[i]);
        double threshold = _minP * max;
        for (int i = 0; i < logits.Length; i++)
            if (_probs[i] < threshold) logits[i] = float.NegativeInfinity;
    }
}
