using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;
using Hyper.Runtime.Text;

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

    /// <summary>Reads and validates config.json (its <c>model_type</c> picks the architecture; see <see cref="Architectures"/>).</summary>
    public static IModelConfig ReadConfig(string path)
    {
        if (Directory.Exists(path))
        {
            FolderTransaction.Recover(path);
            path = Path.Combine(path, ConfigFile);
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        return Architectures.ParseConfig(File.ReadAllText(path), path);
    }

    /// <summary>Writes a config.json with the keys Hugging Face's config class of the architecture expects.</summary>
    public static void WriteConfig(string path, IModelConfig c)
    {
        var arch = Architectures.Of(c);
        var node = arch.ConfigJson(c);
        node["architectures"] = new JsonArray(arch.HuggingFaceClass);
        node["model_type"] = arch.ModelType;
        AtomicFile.WriteAllText(path, node.ToJsonString(Json));
    }

    /// <summary>Reads hyper.json, or infers it for a folder from elsewhere (GPT-2 vocabulary ⇒ gpt2 tokenizer).</summary>
    public static TrainingState ReadState(string dir, IModelConfig config)
    {
        string path = Path.Combine(dir, StateFile);
        if (!File.Exists(path))
            return new TrainingState { Tokenizer = config.VocabSize == 256 ? "byte" : "gpt2" };
        TrainingState state;
        try
        {
            state = JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
        // Checked here, where the file can be named: a command would otherwise fail later on a
        // null or unknown tokenizer with a message that does not say where it came from.
        if (state.Tokenizer is null || !Tokenizers.Names.Contains(state.Tokenizer, StringComparer.OrdinalIgnoreCase))
            throw new InvalidDataException($"{path}: tokenizer {(state.Tokenizer is null ? "null" : $"'{state.Tokenizer}'")} is not one of {string.Join(", ", Tokenizers.Names)}");
        if (state.Step < 0 || state.DataPosition < 0)
            throw new InvalidDataException($"{path}: step {state.Step} and data_position {state.DataPosition} must not be negative");
        if (state.Train is { } train && train.Any(kv => kv.Value is null))
            throw new InvalidDataException($"{path}: 'train' setting '{train.First(kv => kv.Value is null).Key}' is null; settings are strings");
        return state;
    }

    /// <summary>
    /// Reads model.safetensors into a host arena through the architecture's Hugging Face mapping
    /// (see <see cref="Architecture.ReadWeights"/>); every tensor read is checked for NaN and ±Inf.
    /// </summary>
    public static float[] ReadWeights(string dir, IModelConfig config, out Dictionary<string, string> metadata)
    {
        if (!WeightFiles.Exist(dir))
        {
            string path = Path.Combine(dir, ModelFile);
            throw new FileNotFoundException($"{path}: no such file (nor a sharded {WeightFiles.IndexFile})", path);
        }
        using var st = WeightFiles.Open(dir);
        metadata = new Dictionary<string, string>(st.Metadata);
        return Architectures.Of(config).ReadWeights(config, st);
    }

    /// <summary>Loads a checkpoint folder onto a backend (weights, and the optimizer state when asked and present).</summary>
    public static (ICausalLm Model, TrainingState State) Load(string dir, IBackend backend, bool withOptimizer = false)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: no such checkpoint folder");
        var config = ReadConfig(dir); // finishes an interrupted save first
        var state = ReadState(dir, config);
        var arena = ReadWeights(dir, config, out var meta);
        CheckStep(dir, ModelFile, meta, state.Step);
        var model = Architectures.Create(config, backend);
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
                    backend.Upload(ReadFinite(st, name), view);
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

    /// <summary>Reads a tensor as floats, refusing NaN and ±Inf with the file, tensor and index.</summary>
    internal static float[] ReadFinite(SafeTensors st, string name)
    {
        var data = st.ReadFloats(name);
        FiniteValues.Check(data, st.Path, name);
        return data;
    }

    /// <summary>
    /// A save never writes NaN or ±Inf weights (a run that diverged between two checks would
    /// otherwise replace the last good save with a folder no reader accepts).
    /// </summary>
    internal static void RefuseNonFinite(string dir, ParameterLayout layout, ReadOnlySpan<float> weights, int step)
    {
        int i = FiniteValues.IndexOfNonFinite(weights);
        if (i < 0) return;
        var e = layout.Entries.Last(e => e.Offset <= i);
        throw new Training.TrainingDivergedException(
            $"training diverged: the weights of step {step} hold {(float.IsNaN(weights[i]) ? "NaN" : "±Inf")} (tensor {e.Name}, index {i - e.Offset}); not saved, {dir} keeps its last save");
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
    public static void Save(string dir, ICausalLm model, TrainingState state, bool withOptimizer)
    {
        string step = state.Step.ToString(CultureInfo.InvariantCulture);
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["step"] = step };
        var weights = model.ReadParameters();
        RefuseNonFinite(dir, model.Layout, weights, state.Step);
        using var tx = FolderTransaction.Begin(dir);
        WriteConfig(tx.PathOf(ConfigFile), model.Config);
        FaultInjection.Pause("config");
        SafeTensors.Write(tx.PathOf(ModelFile), Architectures.Of(model.Config).WriteWeights(model.Config, weights), meta);
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
