using System.Globalization;
using Hyper.Runtime.Metrics;

namespace Hyper.Runtime.Generation;

/// <summary>
/// How each next token is chosen from the model's logits: the penalties and bans applied to the logits,
/// then either greedy decoding (<see cref="Temperature"/> = 0) or sampling after temperature and the
/// top-k / top-p / min-p / typical-p filters. The order is fixed and documented in
/// <see cref="LogitsPipeline.Order"/>. A value at its default switches its step off. Run-level settings
/// (new-token budget, stop strings, seed) are in <see cref="GenerationOptions"/>.
/// </summary>
public sealed record SamplingSettings
{
    /// <summary>Greedy decoding with no penalties.</summary>
    public static SamplingSettings Greedy { get; } = new() { Temperature = 0 };

    /// <summary>Divides the logits before sampling; 0 means greedy (argmax, the filters unused). Default 1.</summary>
    public double Temperature { get; init; } = 1;

    /// <summary>Keep only the k most probable tokens (ties broken towards the lower id); 0 = off.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling: keep the smallest set of most probable tokens whose mass reaches p; 1 = off.</summary>
    public double TopP { get; init; } = 1;

    /// <summary>Keep tokens with probability ≥ MinP · (the top token's probability); 0 = off.</summary>
    public double MinP { get; init; }

    /// <summary>Locally typical sampling (Meister et al. 2023): keep tokens in order of |−log p − H| until their mass reaches the value; 1 = off.</summary>
    public double TypicalP { get; init; } = 1;

    /// <summary>
    /// CTRL / Hugging Face repetition penalty: for every token id present in the context (prompt and
    /// generated text), a positive logit is divided by it and a non-positive one multiplied; 1 = off.
    /// </summary>
    public double RepetitionPenalty { get; init; } = 1;

    /// <summary>OpenAI / llama.cpp: subtract this times the token's count in the generated text (prompt not counted); 0 = off.</summary>
    public double FrequencyPenalty { get; init; }

    /// <summary>OpenAI / llama.cpp: subtract this once from every token that occurs in the generated text (prompt not counted); 0 = off.</summary>
    public double PresencePenalty { get; init; }

    /// <summary>Hugging Face no-repeat n-gram: ban any token that would complete an n-gram already present in the context (prompt and generated text); 0 = off.</summary>
    public int NoRepeatNgramSize { get; init; }

    /// <summary>
    /// The hyperfitting paper's citation blocker: when the last <see cref="CitationWindow"/> generated tokens
    /// occur in this corpus, every token that continues one of those occurrences is banned. Null = off.
    /// </summary>
    public TokenIndex? CitationIndex { get; init; }

    /// <summary>How many of the last generated tokens the citation blocker looks up (the paper: 5).</summary>
    public int CitationWindow { get; init; } = 5;

    /// <summary>Whether tokens are chosen by argmax (<see cref="Temperature"/> = 0).</summary>
    public bool IsGreedy => Temperature == 0;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first value outside its range, by its flag name
    /// ("top-p", "min-p", ...) after <paramref name="prefix"/> (e.g. "--" for a command line).
    /// </summary>
    public void Validate(string prefix = "")
    {
        string n(string key) => prefix + key;
        static string v(double x) => x.ToString(CultureInfo.InvariantCulture);
        if (!(Temperature >= 0) || double.IsInfinity(Temperature)) throw new ArgumentException($"{n("temperature")} {v(Temperature)} must be finite and >= 0 (0 = greedy)");
        if (TopK < 0) throw new ArgumentException($"{n("top-k")} {TopK} must be >= 0 (0 = off)");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"{n("top-p")} {v(TopP)} is outside (0, 1]");
        if (!(MinP >= 0 && MinP <= 1)) throw new ArgumentException($"{n("min-p")} {v(MinP)} is outside [0, 1]");
        if (!(TypicalP > 0 && TypicalP <= 1)) throw new ArgumentException($"{n("typical-p")} {v(TypicalP)} is outside (0, 1]");
        if (!(RepetitionPenalty > 0) || double.IsInfinity(RepetitionPenalty)) throw new ArgumentException($"{n("repetition-penalty")} {v(RepetitionPenalty)} must be finite and > 0 (1 = off)");
        if (!double.IsFinite(FrequencyPenalty)) throw new ArgumentException($"{n("frequency-penalty")} {v(FrequencyPenalty)} must be finite");
        if (!double.IsFinite(PresencePenalty)) throw new ArgumentException($"{n("presence-penalty")} {v(PresencePenalty)} must be finite");
        if (NoRepeatNgramSize < 0) throw new ArgumentException($"{n("no-repeat-ngram-size")} {NoRepeatNgramSize} must be >= 0 (0 = off)");
        if (CitationWindow < 1) throw new ArgumentException($"the citation window {CitationWindow} must be >= 1");
    }
}
