using System.Globalization;
using System.Text.Json;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Hypernetworks;

/// <summary>
/// A hypernetwork checkpoint is a folder: hypernet.safetensors (tensors layers.{l}.weight and
/// layers.{l}.bias; with the residual switch the last bias is θ0) and hypernet.json
/// (<see cref="HyperState"/>), and hypernet-optimizer.safetensors for resuming. A save is one
/// <see cref="FolderTransaction"/>, so a kill at any moment leaves the last complete save; the
/// step is also stamped into the tensors files, so files of two steps mixed by hand are refused.
/// </summary>
public static class HyperCheckpoint
{
    /// <summary>File names inside the folder.</summary>
    public const string WeightsFile = "hypernet.safetensors", StateFile = "hypernet.json", OptimizerFile = "hypernet-optimizer.safetensors";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>True when <paramref name="dir"/> holds a hypernetwork checkpoint.</summary>
    public static bool IsHyperCheckpoint(string dir)
    {
        if (!Directory.Exists(dir)) return false;
        FolderTransaction.Recover(dir);
        return File.Exists(Path.Combine(dir, StateFile));
    }

    /// <summary>Saves the hypernetwork and what is needed to rebuild its target.</summary>
    public static void Save(string dir, HyperNetwork hyper, HyperState state)
    {
        var host = hyper.ReadParameters();
        if (FiniteValues.IndexOfNonFinite(host) is var bad and >= 0)
        {
            var t = hyper.Tensors.Last(t => t.Offset <= bad);
            throw new Training.TrainingDivergedException(
                $"training diverged: the hypernetwork's weights of step {state.Step} hold {(float.IsNaN(host[bad]) ? "NaN" : "±Inf")} (tensor {t.Name}, index {bad - t.Offset}); not saved, {dir} keeps its last save");
        }
        var tensors = hyper.Tensors.Select(t =>
        {
            long n = t.Shape.Aggregate(1L, (a, d) => a * d);
            return (t.Name, t.Shape, host.AsSpan((int)t.Offset, (int)n).ToArray());
        });
        string step = state.Step.ToString(CultureInfo.InvariantCulture);
        var meta = new Dictionary<string, string> { ["format"] = "hyper-hypernet", ["step"] = step };
        using var tx = FolderTransaction.Begin(dir);
        SafeTensors.Write(tx.PathOf(WeightsFile), tensors, meta);
        FaultInjection.Pause("hypernet");
        if (state.HasOptimizer)
        {
            var (m, v) = hyper.OptimizerState();
            var hm = new float[m.Length];
            var hv = new float[v.Length];
            hyper.Backend.Download(m, hm);
            hyper.Backend.Download(v, hv);
            SafeTensors.Write(tx.PathOf(OptimizerFile), [("m", [hm.Length], hm), ("v", [hv.Length], hv)], meta);
            FaultInjection.Pause("optimizer");
        }
        else tx.Remove(OptimizerFile);
        AtomicFile.WriteAllText(tx.PathOf(StateFile), JsonSerializer.Serialize(state, Json));
        tx.Commit();
    }

    /// <summary>Reads hypernet.json.</summary>
    public static HyperState ReadState(string dir)
    {
        string path = Path.Combine(dir, StateFile);
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"{dir}: no such hypernetwork folder");
        FolderTransaction.Recover(dir);
        if (!File.Exists(path)) throw new FileNotFoundException($"{dir}: not a hypernetwork folder (no {StateFile})", path);
        HyperState? state;
        try { state = JsonSerializer.Deserialize<HyperState>(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }
        if (state is null) throw new InvalidDataException($"{path}: empty");
        try
        {
            state.Target.Validate();
            state.Options.Validate();
        }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
        return state;
    }

    /// <summary>Loads the hypernetwork and a target GPT-2 for it on a backend; the caller disposes both.</summary>
    public static (HyperNetwork Hyper, Gpt2Target Target, HyperState State) Load(string dir, IBackend backend, bool withOptimizer = false)
    {
        var state = ReadState(dir);
        string path = Path.Combine(dir, WeightsFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file", path);
        var model = Gpt2Target.CreateModel(state.Target, backend);
        var target = new Gpt2Target(model);
        HyperNetwork? hyper = null;
        try
        {
            hyper = new HyperNetwork(target, state.Options);
            using var st = SafeTensors.Open(path);
            if (st.Metadata.TryGetValue("step", out var s) && s != state.Step.ToString(CultureInfo.InvariantCulture))
                throw new InvalidDataException($"{path}: written at step {s}, but {StateFile} says step {state.Step} (a save was interrupted)");
            var host = new float[hyper.Parameters.Length];
            foreach (var (name, shape, offset) in hyper.Tensors)
            {
                if (!st.Contains(name) || !st.Info(name).Shape.SequenceEqual(shape))
                    throw new InvalidDataException($"{path}: tensor '{name}' is missing or not of shape [{string.Join(", ", shape)}] as {StateFile} implies");
                var slot = host.AsSpan((int)offset, (int)st.Info(name).Count);
                st.ReadFloats(name, slot);
                FiniteValues.Check(slot, path, name);
            }
            hyper.LoadParameters(host);
            hyper.Step = state.Step;
            if (withOptimizer) LoadOptimizer(dir, hyper, state);
            return (hyper, target, state);
        }
        catch
        {
            hyper?.Dispose();
            model.Dispose();
            throw;
        }
    }

    private static void LoadOptimizer(string dir, HyperNetwork hyper, HyperState state)
    {
        string path = Path.Combine(dir, OptimizerFile);
        if (!state.HasOptimizer) throw new InvalidDataException($"{Path.Combine(dir, StateFile)}: no optimizer state was saved (nothing to resume)");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: {StateFile} says the optimizer state was saved, but the file is missing", path);
        using var st = SafeTensors.Open(path);
        if (st.Metadata.TryGetValue("step", out var s) && s != state.Step.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{path}: written at step {s}, but {StateFile} says step {state.Step} (a save was interrupted)");
        var (m, v) = hyper.OptimizerState();
        foreach (var (name, view) in new[] { ("m", m), ("v", v) })
        {
            if (!st.Contains(name) || st.Info(name).Count != view.Length)
                throw new InvalidDataException($"{path}: tensor '{name}' is missing or does not have {view.Length} values");
            hyper.Backend.Upload(Checkpoint.ReadFinite(st, name), view);
        }
    }

    /// <summary>
    /// The target GPT-2 with the weights the hypernetwork generates at <paramref name="gamma"/>, and a
    /// <see cref="TrainingState"/> for it (tokenizer, step): an ordinary model from then on.
    /// </summary>
    public static (Gpt2 Model, TrainingState State) LoadAt(string dir, float gamma, IBackend backend)
    {
        if (!(gamma >= 0f && gamma <= 1f)) throw new SettingException("Gamma", $"{gamma} is outside [0, 1]");
        var (hyper, target, state) = Load(dir, backend);
        using (hyper) hyper.Generate([gamma]);
        return (target.Model, new TrainingState
        {
            Tokenizer = state.Tokenizer,
            Step = state.Step,
            Seed = state.Seed,
            Train = new Dictionary<string, string> { ["hypernet"] = Path.GetFullPath(dir), ["gamma"] = gamma.ToString("R", CultureInfo.InvariantCulture) },
        });
    }
}
