using System.Globalization;
using Hyper.Kernels.Reference;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.IO;

/// <summary>
/// hyperattention.safetensors in a checkpoint folder: a model's HyperAttention layers, their
/// settings (metadata: layers, block, samples, lsh_projs, min_seq, order, seed) and each layer's
/// hyperplanes as "h.{l}.attn.hyperplanes" [r, hs]. Kept apart from model.safetensors so that file
/// stays a plain Hugging Face checkpoint of its architecture; a folder without it uses exact attention.
/// </summary>
public static class HyperAttentionFile
{
    /// <summary>File name inside a checkpoint folder.</summary>
    public const string FileName = "hyperattention.safetensors";

    /// <summary>Writes the settings into a save, or removes a stale file when the model is exact.</summary>
    public static void Save(FolderTransaction save, ICausalLm model, int step)
    {
        var h = model.HyperAttention;
        if (h is null)
        {
            save.Remove(FileName);
            return;
        }
        var c = h.Config;
        var meta = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["step"] = step.ToString(CultureInfo.InvariantCulture),
            ["layers"] = h.Layers,
            ["block"] = c.BlockSize.ToString(CultureInfo.InvariantCulture),
            ["samples"] = c.SampleSize.ToString(CultureInfo.InvariantCulture),
            ["lsh_projs"] = c.LshProjections.ToString(CultureInfo.InvariantCulture),
            ["min_seq"] = c.MinSeqLen.ToString(CultureInfo.InvariantCulture),
            ["order"] = c.Order.ToString().ToLowerInvariant(),
            ["seed"] = h.Seed.ToString(CultureInfo.InvariantCulture),
        };
        var tensors = new List<(string, int[], float[])>();
        for (int l = h.FirstLayer; l < h.LayerCount; l++)
            tensors.Add(($"h.{l}.attn.hyperplanes", [c.LshProjections, h.HeadSize], h.HyperplanesOf(l)!));
        SafeTensors.Write(save.PathOf(FileName), tensors, meta);
    }

    /// <summary>Reads the settings of a checkpoint folder, or null when it has none.</summary>
    /// <exception cref="InvalidDataException">The file is malformed or does not fit the model (the message names it).</exception>
    public static HyperAttentionSettings? Load(string dir, IModelConfig config)
    {
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            using var st = SafeTensors.Open(path);
            var m = st.Metadata;
            string Get(string key) => m.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"metadata key '{key}' is missing");
            int Int(string key) => int.TryParse(Get(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new InvalidDataException($"metadata '{key}' is not an integer");
            var order = Get("order") switch
            {
                "gray" => HyperAttentionOrder.Gray,
                "official" => HyperAttentionOrder.Official,
                var o => throw new InvalidDataException($"unknown bucket order '{o}'"),
            };
            var cfg = new HyperAttentionConfig
            {
                BlockSize = Int("block"), SampleSize = Int("samples"), LshProjections = Int("lsh_projs"),
                MinSeqLen = Int("min_seq"), Order = order, Causal = true,
            };
            if (!ulong.TryParse(Get("seed"), NumberStyles.None, CultureInfo.InvariantCulture, out ulong seed))
                throw new InvalidDataException("metadata 'seed' is not an unsigned integer");
            string layers = Get("layers");
            int first = HyperAttentionSettings.ParseLayers(layers, config.Layers);
            int hs = config.HeadSize;
            var planes = new float[]?[config.Layers];
            for (int l = first; l < config.Layers; l++)
            {
                string name = $"h.{l}.attn.hyperplanes";
                if (!st.Contains(name)) throw new InvalidDataException($"tensor '{name}' is missing");
                planes[l] = st.ReadFloats(name);
            }
            return new HyperAttentionSettings(cfg, layers, config.Layers, hs, seed, planes);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }
}
