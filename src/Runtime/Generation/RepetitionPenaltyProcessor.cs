namespace Hyper.Runtime.Generation;

/// <summary>
/// The repetition penalty of Keskar et al. (CTRL, 2019) as Hugging Face applies it: each distinct token id
/// present in the context (prompt and generated text) has its logit divided by the penalty when positive
/// and multiplied by it otherwise, so a penalty above 1 always makes a repeat less likely.
/// </summary>
public sealed class RepetitionPenaltyProcessor(double penalty) : ILogitsProcessor
{
    private readonly HashSet<int> _seen = [];

    /// <inheritdoc />
    public void Process(Span<float> logits, DecodingContext context)
    {
        _seen.Clear();
        foreach (int id in context.Tokens)
        {
            if (!_seen.Add(id)) continue;
            float l = logits[id];
            logits[id] = l > 0 ? (float)(l / penalty) : (float)(l * penalty);
        }
    }
}
