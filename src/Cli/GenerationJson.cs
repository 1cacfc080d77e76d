using System.Text.Json;
using System.Text.Json.Serialization;
using Hyper.Runtime.Generation;

namespace Hyper.Cli;

/// <summary>How generate and eval-gen write generations and numbers as JSON (NaN and ±Inf as named literals).</summary>
internal static class GenerationJson
{
    /// <summary>JSON of the per-prompt lines: NaN written as a name rather than throwing (it should never occur).</summary>
    internal static readonly JsonSerializerOptions Options = new() { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>The JSON fields of one generation, in a fixed order.</summary>
    internal static Dictionary<string, object?> Fields(GenerationResult g) => new()
    {
        ["prompt_index"] = g.PromptIndex,
        ["prompt"] = g.Prompt,
        ["text"] = g.Text,
        ["finish_reason"] = FinishName(g.FinishReason),
        ["prompt_tokens"] = g.PromptTokens,
        ["tokens"] = g.TokenIds,
        ["logprobs"] = g.Tokens.Select(t => t.LogProb).ToArray(),
        ["entropies"] = g.Tokens.Select(t => t.Entropy).ToArray(),
        ["top1"] = g.Tokens.Select(t => t.Top1).ToArray(),
    };

    private static string FinishName(FinishReason reason) => reason switch
    {
        FinishReason.Length => "length",
        FinishReason.Stop => "stop",
        FinishReason.EndOfText => "end_of_text",
        _ => "blocked",
    };
}
