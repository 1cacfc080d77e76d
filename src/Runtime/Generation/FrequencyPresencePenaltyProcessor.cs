namespace Hyper.Runtime.Generation;

/// <summary>
/// The OpenAI / llama.cpp frequency and presence penalties: logit[j] −= frequency · c[j] + presence · [c[j] &gt; 0],
/// where c[j] counts token j in the generated text only (the prompt is not counted), as OpenAI defines them.
/// </summary>
public sealed class FrequencyPresencePenaltyProcessor(double frequency, double presence) : ILogitsProcessor
{
    /// <inheritdoc />
    public void Process(Span<float> logits, DecodingContext context)
    {
        foreach (var (id, count) in context.GeneratedCounts)
            logits[id] = (float)(logits[id] - (frequency * count + presence));
    }
}
