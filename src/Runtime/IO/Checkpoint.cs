using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.IO;

/// <summary>
/// A checkpoint is a folder: config.json (Hugging Face GPT2Config keys), model.safetensors (HF
/// GPT-2 names and layouts), hyper.json (<see cref="TrainingState"/>) and, for resuming,
/// optimizer.safetensors (AdamW's m and v), and hyperattention.safetensors when some layers use
/// HyperAttention (<see cref="HyperAttentionFile"/>). A GPT-2 folder from Hugging Face loads as it is.
/// <para>
/// A save is one <see cref="FolderTransaction"/>: its files are staged, committed with one
/// atomic rename, then moved in, so a process killed at any moment leaves the last complete
/// save (finished by the next reader). The step is also stamped into the safetensors files and
/// hyper.json, so files of two steps mixed by hand are refused rather than loaded.
/// </para>
/// </summary>
public static class Checkpoint
{
    /// <summary>File names inside a checkpoint folder.</summary>
    public const string ConfigFile = "config.json", ModelFile = "model.safetensors", StateFile = "hyper.json", OptimizerFile = "optimizer.safetensors";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>True when <paramref name="dir"/> looks like a checkpoint folder.</summary>
    public static bool IsCheckpoint(string dir)
    {
        if (!Directory.Exists(dir)) return false;
        FolderTransaction.Recover(dir);
        return File.Exists(Path.Combine(dir, ConfigFile));
    }

    /// <summary>Reads and validates config.json.</summary>
    public static Gpt2Config ReadConfig(string path)
    {
        if (Directory.Exists(path))
        {
            FolderTransaction.Recover(path);
            path = Path.Combine(path, ConfigFile);
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        Gpt2Config? config;
        try { config = JsonSerializer.Deserialize<Gpt2Config>(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
        if (config is null) throw new InvalidDataException($"{path}: empty config");
        try { config.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
        return config;
    }

    /// <summary>Writes a config.json with the keys Hugging Face's GPT2Config expects to <paramref name="path"/>.</summary>
    public static void WriteConfig(string path, Gpt2Config c)
    {
        var node = new JsonObject
        {
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["model_type"] = "gpt2",
            ["activation_function"] = "gelu_new",
            ["n_embd"] = c.NEmbd,
            ["n_layer"] = c.NLayer,
            ["n_head"] = c.NHead,
            ["n_positions"] = c.NPositions,
            ["n_ctx"] = c.NPositions,
            ["vocab_size"] = c.VocabSize,
            ["layer_norm_epsilon"] = c.LayerNormEpsilon,
            ["tie_word_embeddings"] = true,
            ["resid_pdrop"] = 0.0,
            ["embd_pdrop"] = 0.0,
            ["attn_pdrop"] = 0.0,
        };
        AtomicFile.WriteAllText(path, node.ToJsonString(Json));
    }

    /// <summary>Reads hyper.json, or infers it for a folder from elsewhere (GPT-2 vocabulary ⇒ gpt2 tokenizer).</summary>
    public static TrainingState ReadState(string dir, Gpt2Config config)
    {
        string path = Path.Combine(dir, StateFile);
        if (!File.Exists(path))
            return new TrainingState { Tokenizer = config.VocabSize == 256 ? "byte" : "gpt2" };
        try
        {
            return JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
    }

    /// <summary>
    /// Reads model.safetensors into a host arena, accepting HF's variants: a "transformer."
    /// prefix, F16/BF16 tensors, attention-mask buffers (ignored) and an lm_head.weight that
    /// equals wte (our GPT-2 ties them; a different one is refused rather than dropped).
    /// </summary>
    public static float[] ReadWeights(string dir, Gpt2Config config, out Dictionary<string, string> metadata)
    {
        string path = Path.Combine(dir, ModelFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        using var st = SafeTensors.Open(path);
        metadata = new Dictionary<string, string>(st.Metadata);
        string prefix = st.Contains("wte.weight") || !st.Contains("transformer.wte.weight") ? "" : "transformer.";
        var expected = Gpt2HuggingFace.Mappings(config).ToDictionary(m => m.Name);
        foreach (var info in st.Tensors)
        {
            string name = info.Name.StartsWith(prefix, StringComparison.Ordinal) ? info.Name[prefix.Length..] : info.Name;
            if (expected.TryGetValue(name, out var m) && !info.Shape.SequenceEqual(m.Shape))
                throw new InvalidDataException($"{path}: tensor '{info.Name}' has shape [{string.Join(", ", info.Shape)}], config.json implies [{string.Join(", ", m.Shape)}]");
        }
        var arena = Gpt2HuggingFace.ToArena(config, n => st.Contains(prefix + n) ? st.ReadFloats(prefix + n) : null, path);
        if (st.Contains("lm_head.weight"))
        {
            var head = st.ReadFloats("lm_head.weight");
            var wte = arena.AsSpan(0, config.VocabSize * config.NEmbd);
            if (head.Length != wte.Length || !wte.SequenceEqual(head))
                throw new InvalidDataException($"{path}: lm_head.weight differs from wte.weight; Hyper's GPT-2 ties the output projection to the token embedding");
        }
        return arena;
    }

    /// <summary>Loads a checkpoint folder onto a backend (weights, and the optimizer state when asked and present).</summary>
    public static (Gpt2 Model, TrainingState State) Load(string dir, IBackend backend, bool withOptimizer = false)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: no such checkpoint folder");
        var config = ReadConfig(dir); // finishes an interrupted save first
        var state = ReadState(dir, config);
        var arena = ReadWeights(dir, config, out var meta);
        CheckStep(dir, ModelFile, meta, state.Step);
        var model = new Gpt2(config, backend);
        try
        {
            model.LoadParameters(arena);
            model.Step = state.Step;
            model.HyperAttention = HyperAttentionFile.Load(dir, config);
            if (withOptimizer && state.HasOptimizer)
            {
                string path = Path.Combine(dir, OptimizerFile);
                if (!File.Exists(path)) throw new FileNotFoundException($"{path}: hyper.json says the optimizer state was saved, but the file is missing", path);
                using var st = SafeTensors.Open(path);
                CheckStep(dir, OptimizerFile, new Dictionary<string, string>(st.Metadata), state.Step);
                var (m, v) = model.OptimizerState();
                foreach (var (name, view) in new[] { ("m", m), ("v", v) })
                {
                    if (!st.Contains(name) || st.Info(name).Count != view.Length)
                        throw new InvalidDataException($"{path}: tensor '{name}' is missing or does not have {view.Length} values");
                    backend.Upload(st.ReadFloats(name), view);
                }
            }
            return (model, state);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    internal static void CheckStep(string dir, string file, Dictionary<string, string> meta, int step)
    {
        if (meta.TryGetValue("step", out var s) && s != step.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{Path.Combine(dir, file)}: written at step {s}, but hyper.json says step {step} (a save was interrupted; resume from an earlier copy or start again)");
    }

    /// <summary>
    /// Saves a model given tensor by tensor, as one transaction like <see cref="Save"/> (without
    /// optimizer state or HyperAttention settings): <paramref name="fill"/>(name, buffer) writes each
    /// Hugging Face tensor of <paramref name="config"/> (<see cref="Gpt2HuggingFace.Mappings"/>, HF
    /// layout) into a buffer of its size, one at a time, so a model is saved without its arena in memory.
    /// </summary>
    public static void SaveTensors(string dir, Gpt2Config config, TrainingState state, Action<string, Span<float>> fill)
    {
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["step"] = state.Step.ToString(CultureInfo.InvariantCulture) };
        var specs = Gpt2HuggingFace.Mappings(config).Select(m => (m.Name, m.Shape)).ToList();
        using var tx = FolderTransaction.Begin(dir);
        WriteConfig(tx.PathOf(ConfigFile), config);
        SafeTensors.Write(tx.PathOf(ModelFile), specs, fill, meta);
        tx.Remove(OptimizerFile);
        tx.Remove(HyperAttentionFile.FileName);
        AtomicFile.WriteAllText(tx.PathOf(StateFile), JsonSerializer.Serialize(state with { HasOptimizer = false }, Json));
        tx.Commit();
    }

    /// <summary>
    /// Saves the model (and the optimizer state when asked) into <paramref name="dir"/> as one
    /// transaction: after a kill at any moment the folder holds this save or the one before.
    /// </summary>
    public static void Save(string dir, Gpt2 model, TrainingState state, bool withOptimizer)
    {
        string step = state.Step.ToString(CultureInfo.InvariantCulture);
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["step"] = step };
        using var tx = FolderTransaction.Begin(dir);
        WriteConfig(tx.PathOf(ConfigFile), model.Config);
        FaultInjection.Pause("config");
        SafeTensors.Write(tx.PathOf(ModelFile), Gpt2HuggingFace.FromArena(model.Config, model.ReadParameters()), meta);
        FaultInjection.Pause("model");
        if (withOptimizer)
        {
            var (m, v) = model.OptimizerState();
            var hm = new float[m.Length];
            var hv = new float[v.Length];
            model.Backend.Download(m, hm);
            model.Backend.Download(v, hv);
            SafeTensors.Write(tx.PathOf(OptimizerFile), [("m", [hm.Length], hm), ("v", [hv.Length], hv)], meta);
            FaultInjection.Pause("optimizer");
        }
        else tx.Remove(OptimizerFile); // a stale one would not match this save
        HyperAttentionFile.Save(tx, model, state.Step);
        AtomicFile.WriteAllText(tx.PathOf(StateFile), JsonSerializer.Serialize(state with { HasOptimizer = withOptimizer }, Json));
        tx.Commit();
    }
}
