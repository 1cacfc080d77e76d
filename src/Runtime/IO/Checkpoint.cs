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
            return new TrainingState { Tokenizer = ModelTokenizer.HasTokenizerJson(dir) ? ModelTokenizer.FolderTokenizer : config.VocabSize == 256 ? "byte" : "gpt2" };
        TrainingState state;
        try
        {
            state = JsonSerializer.Deserialize<TrainingState>(File.ReadAllText(path)) ?? throw new InvalidDataException($"{path}: empty");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
        // Checked here, where the file can be named: a command would otherwise fail later on a
        // null or unknown tokenizer with a message that does not say where it came from.
        if (state.Tokenizer == ModelTokenizer.FolderTokenizer)
        {
            if (!ModelTokenizer.HasTokenizerJson(dir))
                throw new InvalidDataException($"{path}: tokenizer '{ModelTokenizer.FolderTokenizer}', but {Path.Combine(dir, ModelTokenizer.FolderTokenizer)} is missing");
        }
        else if (state.Tokenizer is null || !Tokenizers.Names.Contains(state.Tokenizer, StringComparer.OrdinalIgnoreCase))
            throw new InvalidDataException($"{path}: tokenizer {(state.Tokenizer is null ? "null" : $"'{state.Tokenizer}'")} is not one of {string.Join(", ", Tokenizers.Names)}, {ModelTokenizer.FolderTokenizer}");
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
        using var st = OpenWeights(dir, config);
        metadata = new Dictionary<string, string>(st.Metadata);
        var architecture = Architectures.Of(config);
        var arena = new float[architecture.Layout(config).Total];
        architecture.ReadWeights(config, st, (offset, count, fill) => fill(arena.AsSpan(checked((int)offset), checked((int)count))), null, null);
        return arena;
    }

    /// <summary>
    /// The folder's weight files, refused before anything is sized from config.json when their
    /// tensors cannot hold the parameters it implies (a lying n_layer would otherwise allocate
    /// first). Two bytes per parameter is the narrowest dtype read (F16, BF16).
    /// </summary>
    private static WeightFiles OpenWeights(string dir, IModelConfig config)
    {
        if (!WeightFiles.Exist(dir))
        {
            string path = Path.Combine(dir, ModelFile);
            throw new FileNotFoundException($"{path}: no such file (nor a sharded {WeightFiles.IndexFile})", path);
        }
        var weights = WeightFiles.Open(dir);
        long parameters = Architectures.Of(config).ParameterCount(config), bytes = weights.Tensors.Sum(t => t.End - t.Begin);
        if (2 * parameters > bytes)
        {
            weights.Dispose();
            throw new InvalidDataException($"{weights.Path}: config.json implies {parameters:N0} parameters, but the tensors hold only {bytes:N0} bytes");
        }
        return weights;
    }

    /// <summary>Loads a checkpoint folder onto a backend (weights, and the optimizer state when asked and present).</summary>
    public static (ICausalLm Model, TrainingState State) Load(string dir, IBackend backend, bool withOptimizer = false)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: no such checkpoint folder");
        var config = ReadConfig(dir); // finishes an interrupted save first
        var state = ReadState(dir, config);
        using var weights = OpenWeights(dir, config);
        CheckStep(dir, ModelFile, new Dictionary<string, string>(weights.Metadata), state.Step);
        var model = Architectures.Create(config, backend);
        try
        {
            // Straight into the model's parameters, tensor by tensor: on a host backend each tensor is read
            // and converted into the arena itself (no temporary of its size), elsewhere through one scratch.
            // A cpu backend reading bf16 takes BF16 matmul weights as its bf16 copies instead, one reading q8
            // quantises every matmul weight from a scratch of its size into its q8 copy, and their arena pages
            // are never written (so never resident).
            var arena = model.Parameters;
            var cpu = CpuBackend.Of(backend);
            Bf16WeightSink? bf16 = cpu is { Weights: Kernels.WeightFormat.Bf16 }
                ? (offset, count, stored) => cpu.KeepBf16(arena.Slice(offset, count), stored)
                : null;
            // q8's scratch: native, grown to the largest matmul tensor and freed after the load (a pooled array
            // of the head's size would stay resident for the rest of the process).
            HostBuffer? scratch = null;
            Q8WeightSink? q8 = cpu is { Weights: Kernels.WeightFormat.Q8 }
                ? (offset, count, stored, C, fill) =>
                {
                    if (scratch is null || scratch.Length < count)
                    {
                        scratch?.Dispose();
                        scratch = new HostBuffer(count);
                    }
                    var floats = scratch.Span(0, count);
                    floats[(int)stored..].Clear(); // an untied head's pad rows
                    fill(floats[..(int)stored]);
                    cpu.KeepQ8(arena.Slice(offset, count), floats, C);
                }
                : null;
            try
            {
                Architectures.Of(config).ReadWeights(config, weights, (offset, count, fill) =>
                {
                    var view = arena.Slice(offset, count);
                    if (view.Buffer is HostBuffer host)
                    {
                        fill(host.Span(view.Offset, view.Length));
                        return;
                    }
                    var values = new float[checked((int)count)];
                    fill(values);
                    backend.Upload(values, view);
                }, bf16, q8);
            }
            finally
            {
                scratch?.Dispose();
            }
            model.Step = state.Step;
            model.HyperAttention = HyperAttentionFile.Load(dir, config);
            if (withOptimizer && state.HasOptimizer)
            {
                string path = Path.Combine(dir, OptimizerFile);
                if (!File.Exists(path)) throw new FileNotFoundException($"{path}: hyper.json says the optimizer state was saved, but the file is missing", path);
                using var st = SafeTensors.Open(path);
                CheckStep(dir, OptimizerFile, new Dictionary<string, string>(st.Metadata), state.Step);
                ReadMoments(path, st, model);
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
    /// <summary>
    /// Refuses <paramref name="weights"/> (arena floats from <paramref name="offset"/> on) when one is
    /// NaN or ±Inf, naming the arena tensor and index: a diverged run must not overwrite a good save.
    /// </summary>
    internal static void RefuseNonFinite(string dir, ParameterLayout layout, ReadOnlySpan<float> weights, int step, long offset = 0)
    {
        int i = FiniteValues.IndexOfNonFinite(weights);
        if (i < 0) return;
        long at = offset + i;
        var e = layout.Entries.Last(e => e.Offset <= at);
        throw new Training.TrainingDivergedException(
            $"training diverged: the weights of step {step} hold {(float.IsNaN(weights[i]) ? "NaN" : "±Inf")} (tensor {e.Name}, index {at - e.Offset}); not saved, {dir} keeps its last save");
    }

    /// <summary>
    /// model.safetensors straight from the model's parameters, one Hugging Face tensor at a time
    /// (no host copy of the whole arena), each checked for NaN and ±Inf before it is written.
    /// </summary>
    private static void WriteWeights(string path, string dir, ICausalLm model, int step, Dictionary<string, string> meta)
    {
        var tensors = Architectures.Of(model.Config).WeightTensors(model.Config).ToDictionary(t => t.Name, StringComparer.Ordinal);
        var parameters = model.Parameters;
        float[] scratch = [];
        SafeTensors.Write(path, tensors.Values.Select(t => (t.Name, t.Shape)).ToList(), (name, buffer) =>
        {
            var t = tensors[name];
            var view = parameters.Slice(t.Offset, buffer.Length);
            if (!t.Transposed)
            {
                model.Backend.Download(view, buffer);
                RefuseNonFinite(dir, model.Layout, buffer, step, t.Offset);
                return;
            }
            if (scratch.Length < buffer.Length) scratch = new float[buffer.Length];
            var arena = scratch.AsSpan(0, buffer.Length);
            model.Backend.Download(view, arena);
            RefuseNonFinite(dir, model.Layout, arena, step, t.Offset);
            Gpt2HuggingFace.Transpose(arena, buffer, t.Shape[1], t.Shape[0]);
        }, meta);
    }

    internal static void CheckStep(string dir, string file, Dictionary<string, string> meta, int step)
    {
        if (meta.TryGetValue("step", out var s) && s != step.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{Path.Combine(dir, file)}: written at step {s}, but hyper.json says step {step} (a save was interrupted; resume from an earlier copy or start again)");
    }

    /// <summary>
    /// optimizer.safetensors: Adam's moments as tensors m.&lt;name&gt; and v.&lt;name&gt; per layout
    /// tensor, holding only the part that trains (all of it, or with <c>train_last_blocks</c> in the
    /// metadata the last N blocks' slices, the final norm and an untied head). A frozen part's
    /// moments are zero and stay so; they are not written, and saving never holds more than one
    /// tensor's moments in host memory. Files of an earlier layout (one "m" and one "v" over the
    /// whole arena) still load. A tensor's pad rows (<see cref="ParameterLayout.Entry.PadRows"/>) never
    /// train, so their moments are neither written nor read.
    /// </summary>
    private static void WriteMoments(string path, ICausalLm model, Dictionary<string, string> meta)
    {
        var layout = model.Layout;
        int? last = model.TrainLastBlocks;
        var (m, v) = model.OptimizerState();
        var slices = new Dictionary<string, TensorView>(StringComparer.Ordinal);
        var specs = new List<(string Name, int[] Shape)>();
        foreach (var e in layout.Entries)
        {
            var (offset, count) = layout.Trainable(e, last);
            if (count == 0) continue;
            foreach (var (prefix, arena) in new[] { ("m.", m), ("v.", v) })
            {
                slices[prefix + e.Name] = arena.Slice(offset, count);
                specs.Add((prefix + e.Name, [checked((int)count)]));
            }
        }
        var withLast = new Dictionary<string, string>(meta);
        if (last is int n) withLast[TrainLastKey] = n.ToString(CultureInfo.InvariantCulture);
        SafeTensors.Write(path, specs, (name, buffer) => model.Backend.Download(slices[name], buffer), withLast);
    }

    private const string TrainLastKey = "train_last_blocks";

    private static void ReadMoments(string path, SafeTensors st, ICausalLm model)
    {
        var (m, v) = model.OptimizerState();
        var backend = model.Backend;
        var layout = model.Layout;
        if (st.Contains("m"))
        {
            // The whole arena without its pad rows, tensor after tensor in layout order.
            foreach (var (name, view) in new[] { ("m", m), ("v", v) })
            {
                if (!st.Contains(name) || st.Info(name).Count != layout.Parameters)
                    throw new InvalidDataException($"{path}: tensor '{name}' is missing or does not have {layout.Parameters} values");
                var data = ReadFinite(st, name);
                long at = 0;
                foreach (var e in layout.Entries)
                {
                    backend.Upload(data.AsSpan(checked((int)at), checked((int)e.Stored)), view.Slice(e.Offset, e.Stored));
                    at += e.Stored;
                }
            }
            return;
        }
        int? last = null;
        if (st.Metadata.TryGetValue(TrainLastKey, out var text))
        {
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1 || n > model.Layout.Layers)
                throw new InvalidDataException($"{path}: {TrainLastKey} '{text}' is not a block count in 1..{model.Layout.Layers}");
            last = n;
        }
        foreach (var e in model.Layout.Entries)
        {
            var (offset, count) = model.Layout.Trainable(e, last);
            if (count == 0) continue;
            foreach (var (prefix, arena) in new[] { ("m.", m), ("v.", v) })
            {
                string name = prefix + e.Name;
                if (!st.Contains(name) || st.Info(name).Count != count)
                    throw new InvalidDataException($"{path}: tensor '{name}' is missing or does not have {count} values");
                backend.Upload(ReadFinite(st, name), arena.Slice(offset, count));
            }
        }
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
    /// transaction: after a kill at any moment the folder holds this save or the one before. With
    /// a <paramref name="tokenizer"/>, its files go along (a Hugging Face tokenizer's tokenizer.json
    /// and tokenizer_config.json) and hyper.json names it; without, the folder's stay as they are.
    /// </summary>
    public static void Save(string dir, ICausalLm model, TrainingState state, bool withOptimizer, ITokenizer? tokenizer = null)
    {
        LowPrecision.RequireFp32Weights(model, "save it");
        if (tokenizer is not null) state = state with { Tokenizer = ModelTokenizer.StateName(tokenizer) };
        string step = state.Step.ToString(CultureInfo.InvariantCulture);
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["step"] = step };
        using var tx = FolderTransaction.Begin(dir);
        WriteConfig(tx.PathOf(ConfigFile), model.Config);
        FaultInjection.Pause("config");
        WriteWeights(tx.PathOf(ModelFile), dir, model, state.Step, meta);
        FaultInjection.Pause("model");
        if (withOptimizer)
        {
            WriteMoments(tx.PathOf(OptimizerFile), model, meta);
            FaultInjection.Pause("optimizer");
        }
        else tx.Remove(OptimizerFile); // a stale one would not match this save
        HyperAttentionFile.Save(tx, model, state.Step);
        ModelTokenizer.Save(tx, tokenizer);
        AtomicFile.WriteAllText(tx.PathOf(StateFile), JsonSerializer.Serialize(state with { HasOptimizer = withOptimizer }, Json));
        tx.Commit();
    }
}
