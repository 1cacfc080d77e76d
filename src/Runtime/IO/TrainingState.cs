using System.Text.Json.Serialization;

namespace Hyper.Runtime.IO;

/// <summary>
/// hyper.json: what a checkpoint needs beyond Hugging Face's files — the tokenizer, and where
/// training stood (optimizer step, batches consumed, seed) so a resumed run continues exactly.
/// </summary>
public sealed record TrainingState
{
    /// <summary>Tokenizer name: byte, gpt2, or tokenizer.json (the Hugging Face tokenizer.json saved in the folder).</summary>
    [JsonPropertyName("tokenizer")] public string Tokenizer { get; init; } = "byte";
    /// <summary>Optimizer steps taken.</summary>
    [JsonPropertyName("step")] public int Step { get; init; }
    /// <summary>Training windows consumed (the batch sampler's position).</summary>
    [JsonPropertyName("data_position")] public long DataPosition { get; init; }
    /// <summary>Seed of weights and data order.</summary>
    [JsonPropertyName("seed")] public ulong Seed { get; init; }
    /// <summary>Whether optimizer.safetensors holds AdamW's moments for this step.</summary>
    [JsonPropertyName("has_optimizer")] public bool HasOptimizer { get; init; }
    /// <summary>The training settings of the run that wrote the checkpoint (free-form, for resuming and for the record).</summary>
    [JsonPropertyName("train")] public Dictionary<string, string>? Train { get; init; }
}
