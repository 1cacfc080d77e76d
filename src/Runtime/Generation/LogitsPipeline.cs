namespace Hyper.Runtime.Generation;

/// <summary>
/// The processors a <see cref="SamplingSettings"/> switches on, in the fixed order of <see cref="Order"/>
/// (the order of Hugging Face's generate: penalties and bans on the raw logits, then temperature, then the
/// truncation filters, each filter measuring the distribution the previous steps left).
/// </summary>
public sealed class LogitsPipeline
{
    /// <summary>The order in which the controls apply, for help texts and docs.</summary>
    public const string Order =
        "1. repetition penalty (every token id in prompt + generated text: logit > 0 -> logit / r, else logit * r); " +
        "2. frequency and presence penalties (logit -= f * count + p * [count > 0], counts over the generated tokens only); " +
        "3. no-repeat n-gram (bans tokens that would repeat an n-gram of prompt + generated text); " +
        "4. citation blocker (when the last 5 generated tokens occur in the file, bans every token that continues them there); " +
        "then greedy (temperature 0): argmax; or sampling: 5. temperature, 6. top-k, 7. top-p, 8. min-p, 9. typical-p, " +
        "10. a draw from the seeded generator (each prompt its own stream from the seed and its index). " +
        "Per-token logprob and entropy are those of the raw model distribution (temperature 1, before any step).";

    private readonly ILogitsProcessor[] _processors;

    private LogitsPipeline(ILogitsProcessor[] processors) => _processors = processors;

    /// <summary>The active processors, in application order.</summary>
    public IReadOnlyList<ILogitsProcessor> Processors => _processors;

    /// <summary>Builds the pipeline for <paramref name="settings"/> (validated first); steps at their off value are left out.</summary>
    public static LogitsPipeline Create(SamplingSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.Validate();
        var list = new List<ILogitsProcessor>();
        if (settings.RepetitionPenalty != 1) list.Add(new RepetitionPenaltyProcessor(settings.RepetitionPenalty));
        if (settings.FrequencyPenalty != 0 || settings.PresencePenalty != 0)
            list.Add(new FrequencyPresencePenaltyProcessor(settings.FrequencyPenalty, settings.PresencePenalty));
        if (settings.NoRepeatNgramSize > 0) list.Add(new NoRepeatNgramProcessor(settings.NoRepeatNgramSize));
        if (settings.CitationIndex is { } index) list.Add(new CitationBlocker(index, settings.CitationWindow));
        if (!settings.IsGreedy)
        {
            // Greedy takes the argmax, which every truncation filter keeps, so they would change nothing.
            if (settings.Temperature != 1) list.Add(new TemperatureProcessor(settings.Temperature));
            if (settings.TopK > 0) list.Add(new TopKFilter(settings.TopK));
            if (settings.TopP < 1) list.Add(new TopPFilter(settings.TopP));
            if (settings.MinP > 0) list.Add(new MinPFilter(settings.MinP));
            if (settings.TypicalP < 1) list.Add(new TypicalPFilter(settings.TypicalP));
        }
        return new LogitsPipeline([.. list]);
    }

    /// <summary>Runs every processor over <paramref name="logits"/> [V] in order.</summary>
    public void Process(Span<float> logits, DecodingContext context)
    {
        foreach (var p in _processors) p.Process(logits, context);
    }
}
