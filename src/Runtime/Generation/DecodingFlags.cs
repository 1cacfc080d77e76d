using System.Globalization;
using Hyper.Runtime.Metrics;

namespace Hyper.Runtime.Generation;

/// <summary>
/// Decoding controls as a user gave them, each null when not given: the flags of <c>hyper generate</c>, or a
/// <c>--decoding</c> spec of <c>hyper eval-gen</c> ("greedy", "top-p=0.9,temperature=0.7,top-k=50",
/// "greedy,block-citations=FILE"; keys are the flag names without "--"). <see cref="Resolve"/> applies the
/// defaults and refuses contradictions, so both commands read the same way.
/// </summary>
public sealed record DecodingFlags
{
    /// <summary>The keys a spec accepts, in <see cref="LogitsPipeline.Order"/> order.</summary>
    public static IReadOnlyList<string> Keys { get; } =
    [
        "greedy", "repetition-penalty", "frequency-penalty", "presence-penalty", "no-repeat-ngram-size", "block-citations",
        "temperature", "top-k", "top-p", "min-p", "typical-p",
    ];

    /// <summary>Greedy decoding asked for explicitly.</summary>
    public bool Greedy { get; init; }

    /// <summary>Sampling temperature.</summary>
    public double? Temperature { get; init; }

    /// <summary>Top-k.</summary>
    public int? TopK { get; init; }

    /// <summary>Top-p.</summary>
    public double? TopP { get; init; }

    /// <summary>Min-p.</summary>
    public double? MinP { get; init; }

    /// <summary>Typical-p.</summary>
    public double? TypicalP { get; init; }

    /// <summary>Repetition penalty.</summary>
    public double? RepetitionPenalty { get; init; }

    /// <summary>Frequency penalty.</summary>
    public double? FrequencyPenalty { get; init; }

    /// <summary>Presence penalty.</summary>
    public double? PresencePenalty { get; init; }

    /// <summary>No-repeat n-gram size.</summary>
    public int? NoRepeatNgramSize { get; init; }

    /// <summary>File whose token runs the citation blocker stops the model from continuing.</summary>
    public string? BlockCitations { get; init; }

    /// <summary>
    /// Parses a spec: comma-separated items, each "greedy" or "key=value" with a key of <see cref="Keys"/>;
    /// numbers in invariant form. Throws <see cref="ArgumentException"/> for an unknown or repeated key or a
    /// malformed value.
    /// </summary>
    public static DecodingFlags ParseSpec(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var flags = new DecodingFlags();
        var seen = new HashSet<string>();
        foreach (string raw in spec.Split(','))
        {
            string item = raw.Trim();
            if (item.Length == 0) throw new ArgumentException("empty item (two commas in a row, or a comma at an end)");
            int eq = item.IndexOf('=');
            string key = (eq < 0 ? item : item[..eq]).Trim().ToLowerInvariant();
            string? value = eq < 0 ? null : item[(eq + 1)..].Trim();
            if (!Keys.Contains(key)) throw new ArgumentException($"unknown key '{key}': expected one of {string.Join(", ", Keys)}");
            if (!seen.Add(key)) throw new ArgumentException($"'{key}' is given twice");
            if (key == "greedy")
            {
                if (value is not null) throw new ArgumentException("'greedy' takes no value");
                flags = flags with { Greedy = true };
                continue;
            }
            if (string.IsNullOrEmpty(value)) throw new ArgumentException($"'{key}' needs a value: {key}=VALUE");
            flags = key switch
            {
                "temperature" => flags with { Temperature = Number(key, value) },
                "top-k" => flags with { TopK = Integer(key, value) },
                "top-p" => flags with { TopP = Number(key, value) },
                "min-p" => flags with { MinP = Number(key, value) },
                "typical-p" => flags with { TypicalP = Number(key, value) },
                "repetition-penalty" => flags with { RepetitionPenalty = Number(key, value) },
                "frequency-penalty" => flags with { FrequencyPenalty = Number(key, value) },
                "presence-penalty" => flags with { PresencePenalty = Number(key, value) },
                "no-repeat-ngram-size" => flags with { NoRepeatNgramSize = Integer(key, value) },
                _ => flags with { BlockCitations = value },
            };
        }
        return flags;
    }

    /// <summary>
    /// The settings these flags mean. Decoding samples when a temperature above 0 or an active sampling
    /// filter (top-k &gt; 0, top-p &lt; 1, min-p &gt; 0, typical-p &lt; 1) is given, at temperature 1 unless one is
    /// given; otherwise it is greedy. Greedy together with a temperature above 0 or an active filter is a
    /// contradiction (<see cref="ArgumentException"/>), as is any value outside its range. Error messages name
    /// each flag as <paramref name="prefix"/> + key.
    /// </summary>
    /// <param name="loadCitations">Builds the citation blocker's index from <see cref="BlockCitations"/>; required when that is set.</param>
    /// <param name="prefix">"--" for command-line flags, "" for spec keys.</param>
    public SamplingSettings Resolve(Func<string, TokenIndex>? loadCitations = null, string prefix = "--")
    {
        string? filter =
            TopK is > 0 ? "top-k" :
            TopP is < 1 ? "top-p" :
            MinP is > 0 ? "min-p" :
            TypicalP is < 1 ? "typical-p" : null;
        if (Greedy && Temperature is > 0)
            throw new ArgumentException($"{prefix}greedy contradicts {prefix}temperature {Temperature.Value.ToString(CultureInfo.InvariantCulture)}: greedy decoding is temperature 0");
        if ((Greedy || Temperature == 0) && filter is not null)
            throw new ArgumentException(
                $"{prefix}{filter} has no effect with greedy decoding ({(Greedy ? prefix + "greedy" : prefix + "temperature 0")}): drop it, or sample with a temperature above 0");

        double temperature = Greedy ? 0 : Temperature ?? (filter is null ? 0 : 1);
        var settings = new SamplingSettings
        {
            Temperature = temperature,
            TopK = TopK ?? 0,
            TopP = TopP ?? 1,
            MinP = MinP ?? 0,
            TypicalP = TypicalP ?? 1,
            RepetitionPenalty = RepetitionPenalty ?? 1,
            FrequencyPenalty = FrequencyPenalty ?? 0,
            PresencePenalty = PresencePenalty ?? 0,
            NoRepeatNgramSize = NoRepeatNgramSize ?? 0,
        };
        settings.Validate(prefix);
        if (BlockCitations is null) return settings;
        if (loadCitations is null) throw new ArgumentException($"{prefix}block-citations needs a corpus loader");
        return settings with { CitationIndex = loadCitations(BlockCitations) };
    }

    private static double Number(string key, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
            ? d : throw new ArgumentException($"'{key}={value}': '{value}' is not a number");

    private static int Integer(string key, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i)
            ? i : throw new ArgumentException($"'{key}={value}': '{value}' is not an integer");
}
