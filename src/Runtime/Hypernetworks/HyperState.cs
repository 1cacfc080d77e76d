using System.Text.Json.Serialization;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Hypernetworks;

/// <summary>hypernet.json: the hypernetwork's switches, the target it generates, and where training stood.</summary>
public sealed record HyperState
{
    /// <summary>The MIP switches and the network's shape.</summary>
    [JsonPropertyName("hypernet")] public required HyperNetworkOptions Options { get; init; }
    /// <summary>The generated GPT-2's config (Hugging Face key names, as in config.json).</summary>
    [JsonPropertyName("target")] public required Gpt2Config Target { get; init; }
    /// <summary>Tokenizer of the target: byte or gpt2.</summary>
    [JsonPropertyName("tokenizer")] public string Tokenizer { get; init; } = "byte";
    /// <summary>Optimizer steps taken.</summary>
    [JsonPropertyName("step")] public int Step { get; init; }
    /// <summary>Seed of the run.</summary>
    [JsonPropertyName("seed")] public ulong Seed { get; init; }
    /// <summary>The training settings (free-form, for the record).</summary>
    [JsonPropertyName("train")] public Dictionary<string, string>? Train { get; init; }
}
