using Hyper.Runtime.Metrics;

namespace Hyper.Runtime.Generation;

/// <summary>
/// Chooses the next token from raw logits: runs the <see cref="LogitsPipeline"/> on a copy, then takes the
/// argmax (greedy) or draws from the softmax of what is left with the caller's seeded <see cref="Rng"/>.
/// Holds scratch buffers, so one instance serves one thread.
/// </summary>
public sealed class Sampler
{
    private readonly LogitsPipeline _pipeline;
    private float[] _work = [];

    /// <summary>A sampler for <paramref name="settings"/>.</summary>
    public Sampler(SamplingSettings settings)
    {
        _pipeline = LogitsPipeline.Create(settings);
        Settings = settings;
    }

    /// <summary>The settings it applies.</summary>
    public SamplingSettings Settings { get; }

    /// <summary>
    /// The next token after <paramref name="context"/> given the model's raw <paramref name="logits"/> [V],
    /// or null when the pipeline banned every token. Greedy decoding draws nothing from <paramref name="rng"/>;
    /// sampling draws exactly one number.
    /// </summary>
    public GeneratedToken? Next(ReadOnlySpan<float> logits, DecodingContext context, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(rng);
        var (entropy, top1) = TokenStats.FromLogits(logits);

        if (_work.Length != logits.Length) _work = new float[logits.Length];
        var work = _work.AsSpan();
        logits.CopyTo(work);
        _pipeline.Process(work, context);
        int id = Settings.IsGreedy ? LogitMath.ArgMax(work) : Draw(work, rng);
        if (id < 0) return null;

        // log p = (l − max) − ln Z, and top-1 = 1/Z, so ln Z = −ln top-1: no second pass over the vocabulary.
        double logProb = ((double)logits[id] - LogitMath.Max(logits)) + Math.Log(top1);
        return new GeneratedToken(id, logProb, entropy, top1);
    }

    /// <summary>
    /// Inverse-CDF draw from softmax(<paramref name="logits"/>), ids in ascending order; −1 when all are −∞.
    /// </summary>
    internal static int Draw(ReadOnlySpan<float> logits, Rng rng)
    {
        float max = LogitMath.Max(logits);
        if (float.IsNegativeInfinity(max)) return -1;
        double z = 0;
        foreach (float l in logits) if (!float.IsNegativeInfinity(l)) z += Math.Exp((double)l - max);
        double target = rng.NextDouble() * z, cumulative = 0;
        int last = -1;
        for (int i = 0; i < logits.Length; i++)
        {
            if (float.IsNegativeInfinity(logits[i])) continue;
            cumulative += Math.Exp((double)logits[i] - max);
            last = i;
            if (cumulative > target) return i;
        }
        // Rounding can leave the sum a hair under the target: the last candidate takes that sliver.
        return last;
    }
}
