namespace Hyper.Runtime.Hyperfitting;

/// <summary>
/// The per-epoch greedy-TTR probe's size: held-out prompts of <see cref="PromptTokens"/> tokens,
/// each continued greedily for <see cref="NewTokens"/>. The requested size (32 + 96 by default,
/// the paper's measurement) is kept when it fits the model's context; a shorter context gets the
/// same prompt-to-continuation proportion scaled down to fill it, so the probe never ends a run.
/// </summary>
public sealed record TtrProbe(int PromptTokens, int NewTokens, bool Shrunk)
{
    /// <summary>The probe for a context of <paramref name="context"/> tokens; null when it cannot hold one prompt token and one new token.</summary>
    public static TtrProbe? Fit(int promptTokens, int newTokens, int context)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(promptTokens, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(newTokens, 1);
        if (promptTokens + newTokens <= context) return new TtrProbe(promptTokens, newTokens, false);
        if (context < 2) return null;
        int prompt = (int)Math.Clamp((long)context * promptTokens / (promptTokens + newTokens), 1, context - 1);
        return new TtrProbe(prompt, context - prompt, true);
    }

    /// <summary>The line the log gets when the probe was shrunk.</summary>
    public string Note(int promptTokens, int newTokens, int context) =>
        $"greedy-TTR probe: {PromptTokens} prompt + {NewTokens} new tokens, not {promptTokens} + {newTokens}: the model's context is {context} tokens";
}
