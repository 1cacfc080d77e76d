using System.Text.Json;
using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;

namespace Hyper.Runtime.Models;

/// <summary>
/// One architecture as the checkpoint code needs it: how its config.json reads and writes, its
/// presets, how a model is made on a backend (layout and initialisation live in the model), and
/// how its Hugging Face tensors map to and from the parameter arena.
/// </summary>
public sealed class Architecture
{
    /// <summary>Hugging Face's <c>model_type</c>.</summary>
    public required string ModelType { get; init; }

    /// <summary>The <c>architectures</c> entry written to config.json (e.g. GPT2LMHeadModel).</summary>
    public required string HuggingFaceClass { get; init; }

    /// <summary>Preset names (random-init models for tests and benchmarks) and their configs.</summary>
    public required IReadOnlyDictionary<string, Func<IModelConfig>> Presets { get; init; }

    /// <summary>Reads a config.json's text; throws <see cref="JsonException"/> or <see cref="ArgumentException"/> on a bad one (validated).</summary>
    public required Func<string, IModelConfig> ParseConfig { get; init; }

    /// <summary>The config as Hugging Face's config class writes it.</summary>
    public required Func<IModelConfig, JsonObject> ConfigJson { get; init; }

    /// <summary>A model with zero parameters on a backend.</summary>
    public required Func<IModelConfig, IBackend, ICausalLm> Create { get; init; }

    /// <summary>Where each tensor of a model of this config sits in its arena.</summary>
    public required Func<IModelConfig, ParameterLayout> Layout { get; init; }

    /// <summary>Parameters in a model of this config, as its files hold them (the arena adds the vocabulary's pad rows: <see cref="ParameterLayout.Total"/>).</summary>
    public long ParameterCount(IModelConfig config) => Layout(config).Parameters;

    /// <summary>
    /// Reads a checkpoint's open weight files (its Hugging Face names and layouts) into the arena,
    /// handing each converted piece to the sink at its arena offset, so a caller can fill a model's
    /// parameters without holding a second copy of them; errors name the file. With a
    /// <see cref="Bf16WeightSink"/>, an architecture that can (the Llama family) hands it each
    /// matmul weight stored as BF16, as bits, instead of widening it into the sink; with a
    /// <see cref="Q8WeightSink"/>, each matmul weight's floats, to be quantised, instead of the sink.
    /// </summary>
    public required Action<IModelConfig, WeightFiles, WeightSink, Bf16WeightSink?, Q8WeightSink?> ReadWeights { get; init; }

    /// <summary>Every Hugging Face tensor a checkpoint of this config holds, with its place in the arena, in a stable order.</summary>
    public required Func<IModelConfig, IReadOnlyList<WeightTensor>> WeightTensors { get; init; }
}

/// <summary>
/// One Hugging Face tensor of a checkpoint: its name and shape as save_pretrained writes them, and
/// the arena floats it holds, from <paramref name="Offset"/> on, in the arena's order, or (when
/// <paramref name="Transposed"/>) as the transpose of an arena [Shape[1], Shape[0]] matrix.
/// </summary>
public readonly record struct WeightTensor(string Name, int[] Shape, long Offset, bool Transposed = false)
{
    /// <summary>Elements.</summary>
    public long Count => Shape.Aggregate(1L, (a, d) => a * d);
}

/// <summary>Writes a tensor's floats into <paramref name="destination"/>, which holds exactly its element count.</summary>
public delegate void WeightFill(Span<float> destination);

/// <summary>
/// Takes the arena's floats from <paramref name="offset"/> on, <paramref name="count"/> of them, by
/// calling <paramref name="fill"/> on where they go: on a host backend the parameters themselves, so a
/// tensor is read and converted straight into the model with no temporary of its size (a 250 MiB
/// embedding would otherwise be garbage on top of the arena); elsewhere a scratch that is then uploaded.
/// </summary>
public delegate void WeightSink(long offset, long count, WeightFill fill);

/// <summary>
/// Where a matmul weight's bf16 bits go, for the arena view the model multiplies by, from
/// <paramref name="offset"/> on, <paramref name="count"/> floats long: a span of count values whose
/// first <paramref name="stored"/> the reader fills and the rest are zero (pad rows); the arena itself is not written.
/// </summary>
public delegate Span<ushort> Bf16WeightSink(long offset, long count, long stored);

/// <summary>
/// Where a matmul weight goes as q8, for the arena view the model multiplies by (<paramref name="offset"/>,
/// <paramref name="count"/> floats, rows of <paramref name="C"/>): <paramref name="fill"/> writes the tensor's
/// <paramref name="stored"/> floats (fewer than count for an untied head's pad rows, which are zeros) into a
/// scratch that is quantised into the q8 copy; the arena itself is not written.
/// </summary>
public delegate void Q8WeightSink(long offset, long count, long stored, int C, WeightFill fill);

/// <summary>The architectures Hyper runs, keyed by Hugging Face <c>model_type</c>.</summary>
public static class Architectures
{
    /// <summary>GPT-2 (<c>model_type</c> gpt2).</summary>
    public static readonly Architecture Gpt2 = new()
    {
        ModelType = "gpt2",
        HuggingFaceClass = "GPT2LMHeadModel",
        Presets = new Dictionary<string, Func<IModelConfig>>
        {
            ["tiny"] = () => Gpt2Config.Tiny,
            ["small"] = () => Gpt2Config.Small,
            ["gpt2"] = () => Gpt2Config.Gpt2,
        },
        ParseConfig = text =>
        {
            var c = JsonSerializer.Deserialize<Gpt2Config>(text) ?? throw new ArgumentException("empty config");
            c.Validate();
            return c;
        },
        ConfigJson = c => Gpt2HuggingFace.ConfigJson((Gpt2Config)c),
        Create = (c, backend) => new Gpt2((Gpt2Config)c, backend),
        Layout = c => new ParameterLayout((Gpt2Config)c),
        // GPT-2's Hugging Face weights are Conv1D, [in, out]: transposed into the arena, never straight.
        ReadWeights = (c, st, sink, _, _) =>
        {
            var arena = Gpt2HuggingFace.ReadWeights(st, (Gpt2Config)c);
            sink(0, arena.Length, arena.CopyTo);
        },
        WeightTensors = c => Gpt2HuggingFace.WeightTensors((Gpt2Config)c),
    };

    /// <summary>
    /// One Llama-family architecture (llama, mistral, qwen2, qwen3: one graph, see <see cref="LlamaConfig"/>).
    /// The random-init presets hang off llama.
    /// </summary>
    private static Architecture LlamaFamily(string modelType, string hfClass, IReadOnlyDictionary<string, Func<IModelConfig>> presets) => new()
    {
        ModelType = modelType,
        HuggingFaceClass = hfClass,
        Presets = presets,
        ParseConfig = text =>
        {
            var c = JsonSerializer.Deserialize<LlamaConfig>(text) ?? throw new ArgumentException("empty config");
            c.Validate();
            return c;
        },
        ConfigJson = c => LlamaHuggingFace.ConfigJson((LlamaConfig)c),
        Create = (c, backend) => new Llama((LlamaConfig)c, backend),
        Layout = c => new ParameterLayout(((LlamaConfig)c).NumHiddenLayers, Llama.LayoutSpecs((LlamaConfig)c)),
        ReadWeights = (c, st, sink, bf16, q8) => LlamaHuggingFace.ReadWeights(st, (LlamaConfig)c, sink, bf16, q8),
        WeightTensors = c => LlamaHuggingFace.WeightTensors((LlamaConfig)c),
    };

    /// <summary>Every architecture by <c>model_type</c>.</summary>
    public static IReadOnlyDictionary<string, Architecture> ByModelType { get; } = new Dictionary<string, Architecture>
    {
        [Gpt2.ModelType] = Gpt2,
        ["llama"] = LlamaFamily("llama", "LlamaForCausalLM", new Dictionary<string, Func<IModelConfig>>
        {
            ["llama-tiny"] = () => LlamaConfig.LlamaTiny,
            ["smollm-135m"] = () => LlamaConfig.SmolLm135M,
            ["tinyllama-1.1b"] = () => LlamaConfig.TinyLlama1B,
        }),
        ["mistral"] = LlamaFamily("mistral", "MistralForCausalLM", new Dictionary<string, Func<IModelConfig>>()),
        ["qwen2"] = LlamaFamily("qwen2", "Qwen2ForCausalLM", new Dictionary<string, Func<IModelConfig>>()),
        ["qwen3"] = LlamaFamily("qwen3", "Qwen3ForCausalLM", new Dictionary<string, Func<IModelConfig>>()),
    };

    /// <summary>The architecture of a config.</summary>
    public static Architecture Of(IModelConfig config) =>
        ByModelType.TryGetValue(config.ModelType, out var a) ? a : throw new NotSupportedException($"model_type '{config.ModelType}' is not one Hyper runs");

    /// <summary>Every preset name, over all architectures.</summary>
    public static IReadOnlyList<string> PresetNames => ByModelType.Values.SelectMany(a => a.Presets.Keys).ToArray();

    /// <summary>The preset's config, or null when no architecture has one of that name.</summary>
    public static IModelConfig? Preset(string name)
    {
        foreach (var a in ByModelType.Values)
            if (a.Presets.TryGetValue(name.ToLowerInvariant(), out var make)) return make();
        return null;
    }

    /// <summary>
    /// Parses a config.json: its <c>model_type</c> picks the architecture (a config without one is
    /// GPT-2, as the first configs written by hand were). Errors name <paramref name="path"/>.
    /// </summary>
    public static IModelConfig ParseConfig(string text, string path)
    {
        string type = "gpt2";
        try
        {
            // JsonDocument, not JsonNode: a file with a duplicate key must fail as a bad config, not as a dictionary error.
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: not a JSON object");
            if (doc.RootElement.TryGetProperty("model_type", out var t))
                type = t.ValueKind == JsonValueKind.String ? t.GetString()! : throw new InvalidDataException($"{path}: model_type is not a string");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
        if (!ByModelType.TryGetValue(type, out var arch))
            throw new InvalidDataException($"{path}: model_type '{type}' is not supported (Hyper runs: {string.Join(", ", ByModelType.Keys)})");
        try { return arch.ParseConfig(text); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON for a {type} config ({e.Message})"); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
    }

    /// <summary>A model of the config's architecture, zero-initialised, on <paramref name="backend"/>.</summary>
    public static ICausalLm Create(IModelConfig config, IBackend backend) => Of(config).Create(config, backend);
}
