using System.Text.Json.Serialization;

namespace Hyper.Runtime.Models;

/// <summary>
/// Hyperparameters of the Llama family (Hugging Face <c>model_type</c> llama, mistral, qwen2,
/// qwen3) under their config.json key names, so a folder from the hub reads as it is. The four
/// share one graph: RMSNorm, rotary positions, SwiGLU, grouped-query attention; they differ in
/// which projections carry biases and whether q and k are normalised per head (see
/// <see cref="QkvBias"/>, <see cref="OutputBias"/>, <see cref="QkNorm"/>).
/// </summary>
public sealed record LlamaConfig : IModelConfig
{
    /// <summary>The <c>model_type</c> values this record reads.</summary>
    public static readonly IReadOnlyList<string> ModelTypes = ["llama", "mistral", "qwen2", "qwen3"];

    /// <summary>Hugging Face's <c>model_type</c>.</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "llama";

    /// <summary>Width of the residual stream (C).</summary>
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; }

    /// <summary>Width of the MLP's gated layer (I).</summary>
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; }

    /// <summary>Transformer blocks (L).</summary>
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; init; }

    /// <summary>Query heads (NH).</summary>
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; init; }

    /// <summary>Key/value heads (NKV, dividing NH); absent means NH (plain multi-head attention).</summary>
    [JsonPropertyName("num_key_value_heads")] public int? NumKeyValueHeads { get; init; }

    /// <summary>Channels per head; absent means C / NH (Qwen3 sets it, and NH·head_dim may differ from C).</summary>
    [JsonPropertyName("head_dim")] public int? HeadDimKey { get; init; }

    /// <summary>Longest sequence the rotary tables cover.</summary>
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; init; }

    /// <summary>Vocabulary size (V).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; }

    /// <summary>
    /// The arena pads the vocabulary to a multiple of this (<see cref="VocabularyPadding.DefaultMultiple"/>;
    /// 1: no padding). Not a config.json key: it is how this process lays out memory, and files hold V rows.
    /// </summary>
    [JsonIgnore] public int VocabMultiple { get; init; } = VocabularyPadding.DefaultMultiple;

    /// <inheritdoc />
    [JsonIgnore] public int PaddedVocabSize => VocabularyPadding.Padded(VocabSize, VocabMultiple);

    /// <summary>RMSNorm epsilon.</summary>
    [JsonPropertyName("rms_norm_eps")] public float RmsNormEps { get; init; } = 1e-6f;

    /// <summary>Base of the rotary frequencies.</summary>
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10000;

    /// <summary>Rotary frequency scaling (null: none).</summary>
    [JsonPropertyName("rope_scaling")] public RopeScaling? RopeScaling { get; init; }

    /// <summary>Whether the output head is the token embedding itself.</summary>
    [JsonPropertyName("tie_word_embeddings")] public bool TieWordEmbeddings { get; init; }

    /// <summary>Llama/Qwen3: biases on q, k, v and o (Qwen2 has q/k/v biases whatever this says).</summary>
    [JsonPropertyName("attention_bias")] public bool AttentionBias { get; init; }

    /// <summary>Llama: biases on the MLP's projections (not supported; refused by <see cref="Validate"/>).</summary>
    [JsonPropertyName("mlp_bias")] public bool MlpBias { get; init; }

    /// <summary>The MLP's activation; only silu (SwiGLU) is supported.</summary>
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; init; } = "silu";

    /// <summary>Mistral/Qwen2 sliding-window attention width (null: none).</summary>
    [JsonPropertyName("sliding_window")] public int? SlidingWindow { get; init; }

    /// <summary>Qwen2/Qwen3: whether <see cref="SlidingWindow"/> is in force (Mistral's always is when set).</summary>
    [JsonPropertyName("use_sliding_window")] public bool? UseSlidingWindow { get; init; }

    /// <summary>Beginning-of-sequence token id, as config.json gives it (informational).</summary>
    [JsonPropertyName("bos_token_id")] public int? BosTokenId { get; init; }

    /// <summary>End-of-sequence token id, as config.json gives it (informational).</summary>
    [JsonPropertyName("eos_token_id")] public System.Text.Json.JsonElement? EosTokenId { get; init; }

    /// <summary>The dtype the weights were saved in (informational; every dtype loads as fp32).</summary>
    [JsonPropertyName("torch_dtype")] public string? TorchDtype { get; init; }

    // ---- derived ----

    /// <summary>Key/value heads (NKV).</summary>
    [JsonIgnore] public int KvHeads => NumKeyValueHeads ?? NumAttentionHeads;

    /// <summary>Channels per head (hd).</summary>
    [JsonIgnore] public int HeadDim => HeadDimKey ?? (NumAttentionHeads > 0 ? HiddenSize / NumAttentionHeads : 0);

    /// <summary>Whether q, k and v have biases (Qwen2 always; Llama, Mistral and Qwen3 when attention_bias).</summary>
    [JsonIgnore] public bool QkvBias => ModelType == "qwen2" || AttentionBias;

    /// <summary>Whether o has a bias (attention_bias on Llama and Qwen3; never on Qwen2 or Mistral).</summary>
    [JsonIgnore] public bool OutputBias => AttentionBias && ModelType is "llama" or "qwen3";

    /// <summary>Qwen3's per-head RMSNorm of q and k before the rotation.</summary>
    [JsonIgnore] public bool QkNorm => ModelType == "qwen3";

    /// <summary>The window the attention sees; null when every earlier position is seen.</summary>
    [JsonIgnore] public int? ActiveSlidingWindow =>
        SlidingWindow is int w && (ModelType == "mistral" ? UseSlidingWindow != false : UseSlidingWindow == true) ? w : null;

    // IModelConfig is implemented explicitly, so config.json keeps only the Hugging Face keys above.
    /// <summary>
    /// The longest sequence: max_position_embeddings, or the sliding window when one is in force and
    /// shorter (inside it, sliding-window attention is exactly causal attention, which Hyper runs).
    /// </summary>
    int IModelConfig.Context => ActiveSlidingWindow is int w ? Math.Min(w, MaxPositionEmbeddings) : MaxPositionEmbeddings;
    int IModelConfig.Layers => NumHiddenLayers;
    int IModelConfig.Channels => HiddenSize;
    int IModelConfig.Heads => NumAttentionHeads;
    int IModelConfig.HeadSize => HeadDim;

    /// <summary>
    /// Model FLOPs of one forward + backward over B·T tokens, counted as for GPT-2 (PaLM's appendix
    /// B): 6 per matmul weight per token, plus 12·L·T·(NH·hd) per token for attention scores and
    /// values, forward and backward, not halved for the causal mask.
    /// </summary>
    public double TrainingFlops(int B, int T)
    {
        double C = HiddenSize, L = NumHiddenLayers, V = VocabSize, I = IntermediateSize;
        double q = NumAttentionHeads * (double)HeadDim, kv = KvHeads * (double)HeadDim;
        double pMatmul = L * (C * q * 2 + C * kv * 2 + 3 * C * I) + V * C;
        return (double)B * T * (6 * pMatmul + 12 * L * T * q);
    }

    /// <summary>The inverse rotary frequencies [hd/2] with <see cref="RopeScaling"/> applied.</summary>
    public double[] InverseFrequencies()
    {
        var f = Kernels.Reference.Rope.InverseFrequencies(HeadDim, RopeTheta);
        switch (RopeScaling?.Type)
        {
            case null or "default": break;
            case "linear": Kernels.Reference.Rope.ScaleLinear(f, RopeScaling.Factor); break;
            case "llama3":
                Kernels.Reference.Rope.ScaleLlama3(f, RopeScaling.Factor, RopeScaling.LowFreqFactor ?? 1, RopeScaling.HighFreqFactor ?? 4,
                    RopeScaling.OriginalMaxPositionEmbeddings ?? 8192);
                break;
        }
        return f;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the key when the config does not make a model Hyper runs.</summary>
    public void Validate()
    {
        if (!ModelTypes.Contains(ModelType))
            throw new ArgumentException($"model_type '{ModelType}' is not one of {string.Join(", ", ModelTypes)}");
        if (HiddenSize <= 0 || IntermediateSize <= 0 || NumHiddenLayers <= 0 || NumAttentionHeads <= 0 || MaxPositionEmbeddings <= 0 || VocabSize <= 0)
            throw new ArgumentException("hidden_size, intermediate_size, num_hidden_layers, num_attention_heads, max_position_embeddings and vocab_size must all be positive " +
                $"(got {HiddenSize}, {IntermediateSize}, {NumHiddenLayers}, {NumAttentionHeads}, {MaxPositionEmbeddings}, {VocabSize})");
        if (KvHeads <= 0 || NumAttentionHeads % KvHeads != 0)
            throw new ArgumentException($"num_key_value_heads ({KvHeads}) must divide num_attention_heads ({NumAttentionHeads})");
        if (HeadDimKey is null && HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"hidden_size ({HiddenSize}) is not divisible by num_attention_heads ({NumAttentionHeads}) and no head_dim is given");
        if (HeadDim <= 0 || HeadDim % 2 != 0)
            throw new ArgumentException($"head_dim ({HeadDim}) must be positive and even (rotary embedding pairs its halves)");
        if (!(RmsNormEps > 0) || float.IsInfinity(RmsNormEps))
            throw new ArgumentException($"rms_norm_eps ({RmsNormEps}) must be positive and finite");
        if (!(RopeTheta > 1) || double.IsInfinity(RopeTheta))
            throw new ArgumentException($"rope_theta ({RopeTheta}) must be finite and above 1");
        if (HiddenAct != "silu")
            throw new ArgumentException($"hidden_act '{HiddenAct}' is not supported (the Llama MLP Hyper runs is SwiGLU: silu)");
        if (MlpBias)
            throw new ArgumentException("mlp_bias true is not supported (no Llama-family checkpoint Hyper knows of has MLP biases)");
        if (SlidingWindow is <= 0)
            throw new ArgumentException($"sliding_window ({SlidingWindow}) must be positive");
        RopeScaling?.Validate();
        VocabularyPadding.Validate(VocabSize, VocabMultiple);
        long total;
        try { total = new ParameterLayout(NumHiddenLayers, Llama.LayoutSpecs(this)).Total; }
        catch (OverflowException) { total = long.MaxValue; }
        if (total > Array.MaxLength)
            throw new ArgumentException($"the config needs {(total == long.MaxValue ? "more than 2^63" : total.ToString("N0"))} parameters, more than one array holds ({Array.MaxLength:N0})");
    }

    /// <summary>Test model: byte-level, small enough for finite differences; grouped-query attention, untied head.</summary>
    public static LlamaConfig LlamaTiny => new()
    {
        ModelType = "llama", HiddenSize = 64, IntermediateSize = 176, NumHiddenLayers = 2, NumAttentionHeads = 4, NumKeyValueHeads = 2,
        MaxPositionEmbeddings = 256, VocabSize = 256, RmsNormEps = 1e-5f, RopeTheta = 10000, TieWordEmbeddings = false,
    };

    /// <summary>SmolLM2-135M's shape (random weights: a benchmark and test model).</summary>
    public static LlamaConfig SmolLm135M => new()
    {
        ModelType = "llama", HiddenSize = 576, IntermediateSize = 1536, NumHiddenLayers = 30, NumAttentionHeads = 9, NumKeyValueHeads = 3,
        MaxPositionEmbeddings = 8192, VocabSize = 49152, RmsNormEps = 1e-5f, RopeTheta = 100000, TieWordEmbeddings = true,
    };

    /// <summary>TinyLlama-1.1B's shape (random weights).</summary>
    public static LlamaConfig TinyLlama1B => new()
    {
        ModelType = "llama", HiddenSize = 2048, IntermediateSize = 5632, NumHiddenLayers = 22, NumAttentionHeads = 32, NumKeyValueHeads = 4,
        MaxPositionEmbeddings = 2048, VocabSize = 32000, RmsNormEps = 1e-5f, RopeTheta = 10000, TieWordEmbeddings = false,
    };
}

/// <summary>config.json's <c>rope_scaling</c>: linear (positions divided by factor) or llama3 (Llama 3.1's banded scaling).</summary>
public sealed record RopeScaling
{
    /// <summary>The scaling kind (<c>rope_type</c>; older files call it <c>type</c>).</summary>
    [JsonPropertyName("rope_type")] public string? RopeType { get; init; }

    /// <summary>The older key for <see cref="RopeType"/>.</summary>
    [JsonPropertyName("type")] public string? LegacyType { get; init; }

    /// <summary>Scale factor.</summary>
    [JsonPropertyName("factor")] public double Factor { get; init; } = 1;

    /// <summary>llama3: wavelengths above original/low_freq_factor are divided by factor.</summary>
    [JsonPropertyName("low_freq_factor")] public double? LowFreqFactor { get; init; }

    /// <summary>llama3: wavelengths below original/high_freq_factor are kept.</summary>
    [JsonPropertyName("high_freq_factor")] public double? HighFreqFactor { get; init; }

    /// <summary>llama3: the context the model was pretrained at.</summary>
    [JsonPropertyName("original_max_position_embeddings")] public int? OriginalMaxPositionEmbeddings { get; init; }

    /// <summary>The kind, whichever key gave it.</summary>
    [JsonIgnore] public string? Type => RopeType ?? LegacyType;

    /// <summary>Throws <see cref="ArgumentException"/> for a kind Hyper does not run or a bad factor.</summary>
    public void Validate()
    {
        if (Type is not (null or "default" or "linear" or "llama3"))
            throw new ArgumentException($"rope_scaling type '{Type}' is not supported (Hyper runs linear and llama3)");
        if (!(Factor > 0) || double.IsInfinity(Factor))
            throw new ArgumentException($"rope_scaling factor ({Factor}) must be positive and finite");
        if (Type == "llama3" && (LowFreqFactor is null || HighFreqFactor is null || OriginalMaxPositionEmbeddings is null
            || !(HighFreqFactor > LowFreqFactor) || OriginalMaxPositionEmbeddings <= 0))
            throw new ArgumentException("rope_scaling llama3 needs low_freq_factor < high_freq_factor and a positive original_max_position_embeddings");
    }
}
