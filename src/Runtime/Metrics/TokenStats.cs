namespace Hyper.Runtime.Metrics;

/// <summary>
/// Accumulates per-token prediction statistics over generated tokens: the entropy of the model's
/// next-token distribution in nats (natural log) and the probability of its top-1 token. Hyperfitted
/// models are marked by both: entropy near 0 and top-1 near 1 (Carlsson et al., ICLR 2025).
/// </summary>
public sealed class TokenStats
{
    private double _entropySum;
    private double _top1Sum;

    /// <summary>Number of tokens added.</summary>
    public int Count { get; private set; }

    /// <summary>Mean entropy in nats over the added tokens; NaN when none were added.</summary>
    public double MeanEntropy => Count == 0 ? double.NaN : _entropySum / Count;

    /// <summary>Mean top-1 probability over the added tokens; NaN when none were added.</summary>
    public double MeanTop1 => Count == 0 ? double.NaN : _top1Sum / Count;

    /// <summary>Adds one token's statistics: entropy (nats, ≥ 0) and top-1 probability (in [0, 1]).</summary>
    public void Add(double entropy, double top1)
    {
        if (!(entropy >= 0) || double.IsPositiveInfinity(entropy))
            throw new ArgumentOutOfRangeException(nameof(entropy), entropy, "entropy must be finite and non-negative");
        if (!(top1 >= 0 && top1 <= 1))
            throw new ArgumentOutOfRangeException(nameof(top1), top1, "top-1 probability must be in [0, 1]");
        _entropySum += entropy;
        _top1Sum += top1;
        Count++;
    }

    /// <summary>Adds one token's statistics computed from the model's raw logits (temperature 1) by <see cref="FromLogits"/>.</summary>
    public void AddLogits(ReadOnlySpan<float> logits)
    {
        var (entropy, top1) = FromLogits(logits);
        Add(entropy, top1);
    }

    /// <summary>Adds everything another accumulator holds (e.g. one per prompt, merged for a model).</summary>
    public void Add(TokenStats other)
    {
        ArgumentNullException.ThrowIfNull(other);
        _entropySum += other._entropySum;
        _top1Sum += other._top1Sum;
        Count += other.Count;
    }

    /// <summary>
    /// Entropy (nats) and top-1 probability of softmax(<paramref name="logits"/>), in double precision.
    /// With m = max logit and Z = Σ exp(lᵢ − m): top-1 = 1/Z and H = ln Z − Σ pᵢ (lᵢ − m), so no
    /// probability is ever logged; tokens masked with −∞ have pᵢ = 0 and are skipped (0·∞ would be NaN).
    /// </summary>
    public static (double Entropy, double Top1) FromLogits(ReadOnlySpan<float> logits)
    {
        if (logits.IsEmpty) throw new ArgumentException("no logits", nameof(logits));
        float max = float.NegativeInfinity;
        foreach (float l in logits)
        {
            if (float.IsNaN(l) || float.IsPositiveInfinity(l)) throw new ArgumentException($"logit {l} is not a number below +∞", nameof(logits));
            max = Math.Max(max, l);
        }
        if (float.IsNegativeInfinity(max)) throw new ArgumentException("every logit is −∞", nameof(logits));

        double z = 0;
        foreach (float l in logits) z += Math.Exp((double)l - max);
        double weighted = 0;
        foreach (float l in logits)
        {
            double d = (double)l - max;
            double e = Math.Exp(d);
            if (e > 0) weighted += e * d;
        }
        // Rounding can leave a one-hot distribution at −1e-17; entropy is non-negative by definition.
        double entropy = Math.Max(0, Math.Log(z) - weighted / z);
        return (entropy, 1 / z);
    }
}
