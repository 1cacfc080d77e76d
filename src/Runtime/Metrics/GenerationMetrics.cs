using System.Text.Json;
using System.Text.Json.Serialization;
using Hyper.Runtime.Generation;

namespace Hyper.Runtime.Metrics;

/// <summary>
/// Every metric of the hyperfitting paper's evaluation for one model's set of generations (one per
/// prompt), as one row of a comparison table. A value is null when it was not measured (no
/// <see cref="TokenStats"/>, <see cref="TokenIndex"/> or perplexity was supplied) or is undefined for the
/// input (e.g. Self-BLEU of one generation). JSON uses snake_case names (<see cref="ToJson"/>).
/// </summary>
public sealed record GenerationMetrics
{
    /// <summary>Shared by <see cref="ToJson"/> and <see cref="MetricsTable"/>: snake_case, indented, NaN written as "NaN" rather than throwing.</summary>
    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        WriteIndented = true,
    };

    /// <summary>Number of generations the row was computed from.</summary>
    public int Generations { get; init; }

    /// <summary>Mean number of generated tokens per generation.</summary>
    public double? MeanLength { get; init; }

    /// <summary>Mean over generations of <see cref="TextMetrics.Ttr"/> (×100, last 96 tokens by default).</summary>
    public double? Ttr { get; init; }

    /// <summary><see cref="TextMetrics.DistinctN"/> with n = 1 over all generations, a fraction.</summary>
    public double? Distinct1 { get; init; }

    /// <summary><see cref="TextMetrics.DistinctN"/> with n = 2 over all generations, a fraction.</summary>
    public double? Distinct2 { get; init; }

    /// <summary><see cref="TextMetrics.SelfBleu"/> (BLEU-4, a fraction; lower = more diverse).</summary>
    public double? SelfBleu { get; init; }

    /// <summary>Mean over generations of <see cref="TextMetrics.RepeatedNgramRate"/> with n = 4.</summary>
    [JsonPropertyName("repeated_4gram")]
    public double? Repeated4gram { get; init; }

    /// <summary>Mean over generations of <see cref="TextMetrics.LongestSharedRun"/> (tokens).</summary>
    public double? OverlapMean { get; init; }

    /// <summary>Maximum over generations of <see cref="TextMetrics.LongestSharedRun"/> (tokens).</summary>
    public int? OverlapMax { get; init; }

    /// <summary><see cref="TokenStats.MeanEntropy"/> of the generated tokens' predictions (nats).</summary>
    public double? MeanEntropy { get; init; }

    /// <summary><see cref="TokenStats.MeanTop1"/> of the generated tokens' predictions.</summary>
    public double? MeanTop1 { get; init; }

    /// <summary>Held-out perplexity, measured elsewhere and passed through.</summary>
    public double? Perplexity { get; init; }

    /// <summary>
    /// Computes the row from <paramref name="generations"/> (generated tokens only, prompt excluded).
    /// Per-generation metrics (TTR, repeated 4-grams, overlap) are averaged over the generations where they
    /// are defined (an empty generation has no TTR); corpus-level ones (distinct-n, Self-BLEU) pool all.
    /// </summary>
    /// <param name="generations">One generated token sequence per prompt.</param>
    /// <param name="tokenStats">Prediction statistics accumulated while generating, if recorded.</param>
    /// <param name="index">The training data, for dataset overlap, if given.</param>
    /// <param name="perplexity">Held-out perplexity, if measured.</param>
    /// <param name="ttrWindow">TTR window (the paper: 96).</param>
    public static GenerationMetrics Compute(
        IReadOnlyList<int[]> generations,
        TokenStats? tokenStats = null,
        TokenIndex? index = null,
        double? perplexity = null,
        int ttrWindow = 96)
    {
        ArgumentNullException.ThrowIfNull(generations);
        foreach (int[] g in generations) ArgumentNullException.ThrowIfNull(g, nameof(generations));

        int[]? overlaps = index is null ? null : generations.Select(g => TextMetrics.LongestSharedRun(g, index)).ToArray();
        return new GenerationMetrics
        {
            Generations = generations.Count,
            MeanLength = Defined(MeanOfDefined(generations.Select(g => (double)g.Length))),
            Ttr = Defined(MeanOfDefined(generations.Select(g => TextMetrics.Ttr(g, ttrWindow)))),
            Distinct1 = Defined(TextMetrics.DistinctN(generations, 1)),
            Distinct2 = Defined(TextMetrics.DistinctN(generations, 2)),
            SelfBleu = Defined(TextMetrics.SelfBleu(generations)),
            Repeated4gram = Defined(MeanOfDefined(generations.Select(g => TextMetrics.RepeatedNgramRate(g, 4)))),
            OverlapMean = overlaps is { Length: > 0 } ? overlaps.Average() : null,
            OverlapMax = overlaps is { Length: > 0 } ? overlaps.Max() : null,
            MeanEntropy = tokenStats is null ? null : Defined(tokenStats.MeanEntropy),
            MeanTop1 = tokenStats is null ? null : Defined(tokenStats.MeanTop1),
            Perplexity = perplexity is { } p ? Defined(p) : null,
        };
    }

    /// <summary>
    /// The row for one decoding's results: the generated tokens, and the entropy and top-1
    /// probability the generator recorded for each of them.
    /// </summary>
    public static GenerationMetrics Of(IReadOnlyList<GenerationResult> results, TokenIndex? index = null, double? perplexity = null)
    {
        ArgumentNullException.ThrowIfNull(results);
        var stats = new TokenStats();
        foreach (var g in results)
            foreach (var t in g.Tokens) stats.Add(t.Entropy, t.Top1);
        return Compute(results.Select(g => g.TokenIds).ToList(), stats, index, perplexity);
    }

    /// <summary>The row as a JSON object with snake_case names; unmeasured values are null.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads a row written by <see cref="ToJson"/>.</summary>
    public static GenerationMetrics FromJson(string json) =>
        JsonSerializer.Deserialize<GenerationMetrics>(json, JsonOptions) ?? throw new JsonException("metrics JSON is null");

    private static double MeanOfDefined(IEnumerable<double> values)
    {
        double sum = 0;
        int n = 0;
        foreach (double v in values)
            if (!double.IsNaN(v)) { sum += v; n++; }
        return n == 0 ? double.NaN : sum / n;
    }

    private static double? Defined(double v) => double.IsNaN(v) ? null : v;
}
