using System.Globalization;
using Hyper.Kernels.Reference;

namespace Hyper.Runtime.Models;

/// <summary>
/// Which layers of a causal LM (GPT-2 or the Llama family) use HyperAttention instead of exact attention, with what
/// settings, and the random parts that make it reproducible: each such layer's LSH hyperplanes
/// [r, hs] (stored with the model, see <see cref="IO.HyperAttentionFile"/>) and the seed of its
/// sampled keys. A layer's plan for a sequence length T (samples included) is drawn from
/// (seed, layer, T) once and reused, so evaluation and training see a fixed function of the
/// inputs; decoding draws its samples from (seed, layer, position, head).
/// </summary>
public sealed class HyperAttentionSettings
{
    private readonly float[]?[] _hyperplanes;
    private readonly Dictionary<(int Layer, int T), HyperAttentionPlan> _plans = [];

    /// <summary>Settings of every HyperAttention layer (always causal in a GPT).</summary>
    public HyperAttentionConfig Config { get; }

    /// <summary>The layer spec as given: "all" or "last:N".</summary>
    public string Layers { get; }

    /// <summary>Layers from this index on use HyperAttention.</summary>
    public int FirstLayer { get; }

    /// <summary>Seed of the samples (and of the hyperplanes when they were drawn here).</summary>
    public ulong Seed { get; }

    /// <summary>Number of layers of the model these settings are for.</summary>
    public int LayerCount => _hyperplanes.Length;

    /// <summary>Head size hs the hyperplanes are for.</summary>
    public int HeadSize { get; }

    /// <summary>Settings with given hyperplanes per layer (null for the exact layers).</summary>
    public HyperAttentionSettings(HyperAttentionConfig config, string layers, int nLayer, int headSize, ulong seed, float[]?[] hyperplanes)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config with { Causal = true };
        Config.Validate();
        Layers = layers;
        FirstLayer = ParseLayers(layers, nLayer);
        HeadSize = headSize;
        Seed = seed;
        if (hyperplanes.Length != nLayer)
            throw new ArgumentException($"hyper attention: hyperplanes for {hyperplanes.Length} layers, the model has {nLayer}");
        for (int l = 0; l < nLayer; l++)
        {
            var h = hyperplanes[l];
            if (l < FirstLayer) continue;
            if (h is null || h.Length != Config.LshProjections * headSize)
                throw new ArgumentException($"hyper attention: layer {l} needs {Config.LshProjections}×{headSize} hyperplane values, has {h?.Length ?? 0}");
        }
        _hyperplanes = hyperplanes;
    }

    /// <summary>New settings whose hyperplanes are standard normals drawn from (seed, layer).</summary>
    public static HyperAttentionSettings Create(HyperAttentionConfig config, string layers, IModelConfig model, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        int first = ParseLayers(layers, model.Layers), hs = model.HeadSize;
        var planes = new float[]?[model.Layers];
        for (int l = first; l < model.Layers; l++)
        {
            var rng = new SplitMix64(Mix(seed, l, 0x4C5348)); // "LSH"
            var h = new float[config.LshProjections * hs];
            for (int i = 0; i < h.Length; i++) h[i] = (float)rng.NextNormal();
            planes[l] = h;
        }
        return new HyperAttentionSettings(config, layers, model.Layers, hs, seed, planes);
    }

    /// <summary>
    /// The first layer a spec selects: "all" is 0, "last:N" is nLayer − N (1 ≤ N ≤ nLayer).
    /// </summary>
    /// <exception cref="ArgumentException">The spec is malformed or asks for more layers than the model has.</exception>
    public static int ParseLayers(string spec, int nLayer)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec == "all") return 0;
        if (spec.StartsWith("last:", StringComparison.Ordinal)
            && int.TryParse(spec.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= 1)
        {
            if (n > nLayer) throw new SettingException("HyperLayers", $"{spec}: the model has {nLayer} layers");
            return nLayer - n;
        }
        throw new SettingException("HyperLayers", $"'{spec}': expected 'all' or 'last:N' with N ≥ 1");
    }

    /// <summary>Whether layer <paramref name="layer"/> uses HyperAttention.</summary>
    public bool Uses(int layer) => layer >= FirstLayer && layer < _hyperplanes.Length;

    /// <summary>Layer <paramref name="layer"/>'s hyperplanes [r, hs] (null for an exact layer).</summary>
    public float[]? HyperplanesOf(int layer) => _hyperplanes[layer];

    /// <summary>The same layers and hyperplanes with other block/sample/window settings (r must stay).</summary>
    public HyperAttentionSettings With(HyperAttentionConfig config) =>
        config.LshProjections == Config.LshProjections
            ? new HyperAttentionSettings(config, Layers, LayerCount, HeadSize, Seed, _hyperplanes)
            : throw new ArgumentException($"hyper attention: changing the hyperplane count ({Config.LshProjections} → {config.LshProjections}) needs new hyperplanes");

    /// <summary>Layer <paramref name="layer"/>'s plan at sequence length T (built once, then cached).</summary>
    public HyperAttentionPlan Plan(int layer, int T, int NH)
    {
        if (_plans.TryGetValue((layer, T), out var plan)) return plan;
        var rng = new SplitMix64(Mix(Seed, layer, (ulong)T));
        plan = new HyperAttentionPlan(Config, T, NH, HeadSize, _hyperplanes[layer]!, (node, _) =>
        {
            var s = new int[Config.SampleSize];
            for (int i = 0; i < s.Length; i++) s[i] = rng.NextInt(node.KeyCount);
            return s;
        });
        _plans[(layer, T)] = plan;
        return plan;
    }

    /// <summary>A fresh decoding state for layer <paramref name="layer"/>.</summary>
    public HyperAttentionKvState KvState(int layer, int B, int NH, int maxT) =>
        new(Config, _hyperplanes[layer]!, Mix(Seed, layer, 0x4B56), B, NH, maxT); // "KV"

    private static ulong Mix(ulong seed, int layer, ulong salt)
    {
        ulong s = seed;
        s ^= SplitMix64.Step(ref s) + (ulong)layer;
        s ^= SplitMix64.Step(ref s) + salt;
        return s;
    }
}
