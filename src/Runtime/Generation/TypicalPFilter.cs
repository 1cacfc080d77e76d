namespace Hyper.Runtime.Generation;

/// <summary>
/// Locally typical sampling (Meister et al. 2023, as in Hugging Face): with H the entropy of the current
/// distribution, tokens are ordered by |−log p − H| (closest to the expected surprisal first; equal scores
/// by id) and kept until their mass reaches typical_p (the crossing token kept; at least one always).
/// </summary>
public sealed class TypicalPFilter : ILogitsProcessor
{
    private readonly double _mass;
    private double[] _probs = [];
    private double[] _scores = [];
    private int[] _order = [];

    /// <summary>Keeps a typical set of mass <paramref name="mass"/> in (0, 1].</summary>
    public TypicalPFilter(double mass)
    {
        if (!(mass > 0 && mass <= 1)) throw new ArgumentOutOfRangeException(nameof(mass), mass, "must be in (0, 1]");
        _mass = mass;
    }

    /// <inheritdoc />
    public void Process(Span<float> logits, DecodingContext context)
    {
        int v = logits.Length;
        if (_probs.Length < v) { _probs = new double[v]; _scores = new double[v]; _order = new int[v]; }
        LogitMath.Softmax(logits, _probs);
        double entropy = 0;
        int n = 0;
        for (int i = 0; i < v; i++)
        {
            double p = _probs[i];
            if (p > 0) { entropy -= p * Math.Log(p); _order[n++] = i; }
        }
        for (int j = 0; j < n; j++)
        {
            int i = _order[j];
            _scores[i] = Math.Abs(-Math.Log(_probs[i]) - entropy);
        }
        var scores = _scores;
        _order.AsSpan(0, n).Sort((a, b) => scores[a] != scores[b] ? scores[a].CompareTo(scores[b]) : a.CompareTo(b));

        double mass = 0;
        int keep = 0;
        while (keep < n)
        {
            mass += _probs[_order[keep++]];
            if (mass >= _mass) break;
        }
        // Masked tokens (p = 0) were never in the order, so only the unkept part needs masking.
        LogitMath.KeepOnly(logits, _order, keep, n);
    }
}
