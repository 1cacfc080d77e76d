using System.Text.Json.Serialization;

namespace Hyper.Runtime.Models;

/// <summary>
/// GPT-2 hyperparameters under Hugging Face's GPT2Config key names, so a config.json from the
/// ecosystem reads as it is.
/// </summary>
public sealed record Gpt2Config : IModelConfig
{
    // IModelConfig is implemented explicitly, so config.json and hypernet.json keep only the
    // Hugging Face keys below.
    string IModelConfig.ModelType => "gpt2";
    int IModelConfig.Context => NPositions;
    int IModelConfig.Layers => NLayer;
    int IModelConfig.Channels => NEmbd;
    int IModelConfig.Heads => NHead;
    int IModelConfig.HeadSize => NEmbd / NHead;

    /// <summary>
    /// Model FLOPs of one forward + backward over B·T tokens, counted the way PaLM's appendix B
    /// does, so our numbers and the PyTorch script's are the same formula: per token 6·P_mm for
    /// the matmuls (2 forward, 4 backward per weight) plus 12·L·T·C for attention scores and
    /// values, forward and backward, not halved for the causal mask. P_mm is every matmul weight:
    /// L·12·C² plus the tied V·C output projection. Layernorms, GELU, softmax and the optimizer
    /// are not counted.
    /// </summary>
    public double TrainingFlops(int B, int T)
    {
        double C = NEmbd, L = NLayer, V = VocabSize;
        double pMatmul = L * 12 * C * C + V * C;
        return (double)B * T * (6 * pMatmul + 12 * L * T * C);
    }

    /// <summary>Channels (C).</summary>
    [JsonPropertyName("n_embd")] public int NEmbd { get; init; }

    /// <summary>Transformer blocks (L).</summary>
    [JsonPropertyName("n_layer")] public int NLayer { get; init; }

    /// <summary>Attention heads (NH); head size is C / NH.</summary>
    [JsonPropertyName("n_head")] public int NHead { get; init; }

    /// <summary>Longest sequence, the rows of the position embedding (maxT).</summary>
    [JsonPropertyName("n_positions")] public int NPositions { get; init; }

    /// <summary>Vocabulary size (V).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }

    /// <summary>
    /// The arena pads the vocabulary to a multiple of this (<see cref="VocabularyPadding.DefaultMultiple"/>;
    /// 1: no padding). Not a config.json key: it is how this process lays out memory, and files hold V rows.
    /// </summary>
    [JsonIgnore] public int VocabMultiple { get; init; } = VocabularyPadding.DefaultMultiple;

    /// <inheritdoc />
    [JsonIgnore] public int PaddedVocabSize => VocabularyPadding.Padded(VocabSize, VocabMultiple);

    /// <summary>LayerNorm epsilon.</summary>
    [JsonPropertyName("layer_norm_epsilon")] public float LayerNormEpsilon { get; init; } = 1e-5f;

    /// <summary>Test model: byte-level, small enough for finite differences and fixtures.</summary>
    public static Gpt2Config Tiny => new() { NLayer = 2, NHead = 2, NEmbd = 64, NPositions = 64, VocabSize = 256 };

    /// <summary>The benchmark model: byte-level, 10.7 M parameters.</summary>
    public static Gpt2Config Small => new() { NLayer = 6, NHead = 6, NEmbd = 384, NPositions = 256, VocabSize = 256 };

    /// <summary>GPT-2 124M.</summary>
    public static Gpt2Config Gpt2 => new() { NLayer = 12, NHead = 12, NEmbd = 768, NPositions = 1024, VocabSize = 50257 };

    /// <summary>The preset names accepted on the command line.</summary>
    public static IReadOnlyList<string> PresetNames { get; } = ["tiny", "small", "gpt2"];

    /// <summary>A preset by name, or null.</summary>
    public static Gpt2Config? Preset(string name) => name.ToLowerInvariant() switch
    {
        "tiny" => Tiny,
        "small" => Small,
        "gpt2" => Gpt2,
        _ => null,
    };

    /// <summary>Throws with a clear message when the dimensions do not make a model.</summary>
    public void Validate()
    {
        if (NLayer <= 0 || NHead <= 0 || NEmbd <= 0 || NPositions <= 0 || VocabSize <= 0)
            throw new ArgumentException($"GPT-2 config needs positive n_layer, n_head, n_embd, n_positions, vocab_size (got {this})");
        if (NEmbd % NHead != 0)
            throw new ArgumentException($"n_embd ({NEmbd}) must be divisible by n_head ({NHead})");
        if (!(LayerNormEpsilon > 0) || float.IsInfinity(LayerNormEpsilon))
            throw new ArgumentException($"layer_norm_epsilon ({LayerNormEpsilon}) must be positive and finite");
        VocabularyPadding.Validate(VocabSize, VocabMultiple);
        // Host arenas are one float[], so a model has at most Array.MaxLength parameters; a
        // larger (or overflowing) count is a corrupt config, refused before anything is allocated.
        long total;
        try { total = new ParameterLayout(this).Total; }
        catch (OverflowException) { total = long.MaxValue; }
        if (total > Array.MaxLength)
            throw new ArgumentException($"GPT-2 config n_layer {NLayer}, n_embd {NEmbd}, n_positions {NPositions}, vocab_size {VocabSize} needs {(total == long.MaxValue ? "more than 2^63" : total.ToString("N0"))} parameters, more than one array holds ({Array.MaxLength:N0})");
    }
}
