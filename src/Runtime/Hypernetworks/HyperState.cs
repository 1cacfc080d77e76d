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
    /// <summary>The training settings (a resumed run must match them).</summary>
    [JsonPropertyName("train")] public Dictionary<string, string>? Train { get; init; }
    /// <summary>Whether hypernet-optimizer.safetensors (AdamW's m and v) was saved beside the weights.</summary>
    [JsonPropertyName("has_optimizer")] public bool HasOptimizer { get; init; }
    /// <summary>Windows drawn so far from corpus A's and corpus B's samplers (to resume the data order).</summary>
    [JsonPropertyName("sampler_positions")] public long[]? SamplerPositions { get; init; }
    /// <summary>State of the γ generator after the last step (to resume the γ draws).</summary>
    [JsonPropertyName("gamma_rng")] public ulong GammaRng { get; init; }
}
