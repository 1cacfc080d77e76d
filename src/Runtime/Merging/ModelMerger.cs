using System.Globalization;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Runtime.Merging;

/// <summary>
/// Merges checkpoints of one architecture tensor by tensor: for each Hugging Face tensor it reads
/// that tensor from every input, combines it with the CPU merge kernels and hands it on (to the
/// checkpoint writer, or into an arena for evaluation), so memory holds a few tensors, not models.
/// <para>
/// Soup: out = w₁x₁, then out = fma(wₖ, xₖ, out) for k = 2..K (<see cref="Cpu.WeightedSum"/>).
/// Task vectors: out = base, then for each k: τ = fma(−1, base, xₖ) = xₖ − base (exact to one
/// rounding), masked by <see cref="Cpu.MagnitudeMask"/> for Breadcrumbs, and out = fma(λwₖ, τ, out).
/// The same code builds the evaluated arena and the saved file, so what a greedy soup measured is
/// bit for bit what it writes.
/// </para>
/// </summary>
public sealed class ModelMerger : IDisposable
{
    private readonly List<CheckpointTensors> _inputs = [];
    private readonly CheckpointTensors? _base;
    private float[] _x = [], _baseValues = [];

    /// <summary>The recipe being merged.</summary>
    public MergeRecipe Recipe { get; }

    /// <summary>The architecture every input shares.</summary>
    public Gpt2Config Config { get; }

    /// <summary>The tokenizer every input shares.</summary>
    public string Tokenizer { get; }

    /// <summary>Opens every input and checks that they can be merged.</summary>
    /// <exception cref="ArgumentException">The recipe is inconsistent (weights, method and base).</exception>
    /// <exception cref="InvalidDataException">An input is unreadable, or differs from the first in a tensor's shape, the architecture or the tokenizer (the message names the file and the tensor or key).</exception>
    public ModelMerger(MergeRecipe recipe)
    {
        Recipe = recipe;
        Validate(recipe);
        try
        {
            foreach (string dir in recipe.Models) _inputs.Add(CheckpointTensors.Open(dir));
            if (recipe.Method != MergeMethod.Soup) _base = CheckpointTensors.Open(recipe.Base!);
            var first = _inputs[0];
            foreach (var other in _inputs.Skip(1).Concat(_base is null ? [] : [_base])) CheckCompatible(first, other);
            Config = first.Config;
            Tokenizer = first.State.Tokenizer;
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Values per model.</summary>
    public long Parameters => new ParameterLayout(Config).Parameters;

    private static void Validate(MergeRecipe r)
    {
        if (r.Models.Count == 0) throw new ArgumentException("no models to merge");
        if (r.Weights.Count != r.Models.Count)
            throw new ArgumentException($"{r.Weights.Count} weights for {r.Models.Count} models; give one weight per model");
        if (r.Weights.Any(w => !float.IsFinite(w))) throw new ArgumentException("every weight must be a finite number");
        if ((r.Method == MergeMethod.Soup) != (r.Base is null))
            throw new ArgumentException(r.Base is null ? $"{Name(r.Method)} needs a base model" : "a base model is only used by task-arithmetic and breadcrumbs");
        if (!float.IsFinite(r.Lambda)) throw new ArgumentException("lambda must be a finite number");
        if (r.Method == MergeMethod.Breadcrumbs)
        {
            if (!(r.TopBeta >= 0 && r.TopBeta < 1)) throw new ArgumentException($"top-beta {r.TopBeta} is outside [0, 1)");
            if (!(r.BottomGamma >= 0 && r.BottomGamma < 1)) throw new ArgumentException($"bottom-gamma {r.BottomGamma} is outside [0, 1)");
            if (r.TopBeta + r.BottomGamma >= 1) throw new ArgumentException($"top-beta {r.TopBeta} + bottom-gamma {r.BottomGamma} drop every value; their sum must be below 1");
        }
    }

    /// <summary>The command-line name of a method.</summary>
    public static string Name(MergeMethod m) => m switch
    {
        MergeMethod.Soup => "soup",
        MergeMethod.TaskArithmetic => "task-arithmetic",
        MergeMethod.Breadcrumbs => "breadcrumbs",
        _ => throw new ArgumentOutOfRangeException(nameof(m)),
    };

    /// <summary>Refuses a pair that cannot be merged, naming the first tensor (or config key) that differs.</summary>
    private static void CheckCompatible(CheckpointTensors a, CheckpointTensors b)
    {
        var shapes = a.Mappings.ToDictionary(m => m.Name, m => m.Shape);
        foreach (var m in b.Mappings)
        {
            if (!shapes.TryGetValue(m.Name, out var shape))
                throw new InvalidDataException($"{b.ModelPath}: tensor '{m.Name}' has no counterpart in {a.ModelPath} (n_layer {b.Config.NLayer} against {a.Config.NLayer}); merged models must have the same architecture");
            if (!shape.SequenceEqual(m.Shape))
                throw new InvalidDataException($"{b.ModelPath}: tensor '{m.Name}' has shape [{string.Join(", ", m.Shape)}], {a.ModelPath} has [{string.Join(", ", shape)}]; merged models must have the same shapes");
        }
        if (a.Mappings.Count != b.Mappings.Count)
        {
            var missing = a.Mappings.First(m => !b.Mappings.Any(n => n.Name == m.Name));
            throw new InvalidDataException($"{b.ModelPath}: tensor '{missing.Name}' is missing (n_layer {b.Config.NLayer}, {a.ModelPath} has {a.Config.NLayer}); merged models must have the same architecture");
        }
        string config = Path.Combine(b.Dir, Checkpoint.ConfigFile);
        if (a.Config.NHead != b.Config.NHead)
            throw new InvalidDataException($"{config}: n_head {b.Config.NHead}, {a.Dir} has {a.Config.NHead}; merged models must have the same architecture");
        if (a.Config.LayerNormEpsilon != b.Config.LayerNormEpsilon)
            throw new InvalidDataException($"{config}: layer_norm_epsilon {b.Config.LayerNormEpsilon.ToString(CultureInfo.InvariantCulture)}, {a.Dir} has {a.Config.LayerNormEpsilon.ToString(CultureInfo.InvariantCulture)}; merged models must have the same architecture");
        if (a.Config != b.Config)
            throw new InvalidDataException($"{config}: differs from {Path.Combine(a.Dir, Checkpoint.ConfigFile)}; merged models must have the same architecture");
        if (a.State.Tokenizer != b.State.Tokenizer)
            throw new InvalidDataException($"{Path.Combine(b.Dir, Checkpoint.StateFile)}: tokenizer '{b.State.Tokenizer}', {a.Dir} has '{a.State.Tokenizer}'; merged models must share a tokenizer");
    }

    /// <summary>Writes the merge into <paramref name="dir"/> as a checkpoint (one transaction, one tensor in memory at a time).</summary>
    public MergeSummary Save(string dir)
    {
        long kept = 0, masked = 0;
        var state = new TrainingState { Tokenizer = Tokenizer, Train = Provenance() };
        Checkpoint.SaveTensors(dir, Config, state, (name, output) =>
        {
            var (k, m) = MergeTensor(name, output);
            kept += k;
            masked += m;
        });
        return new MergeSummary(_inputs[0].Mappings.Count, Parameters, kept, masked);
    }

    /// <summary>The merge as a parameter arena (for evaluating it without writing it).</summary>
    public float[] ToArena() =>
        Gpt2HuggingFace.ToArena(Config, name =>
        {
            var m = _inputs[0].Mappings.First(t => t.Name == name);
            var data = new float[m.Shape.Aggregate(1, (a, d) => a * d)];
            MergeTensor(name, data);
            return data;
        }, "merge");

    /// <summary>Merges one HF tensor into <paramref name="output"/>; returns the task vector values kept and looked at.</summary>
    public (long Kept, long Masked) MergeTensor(string name, Span<float> output)
    {
        int n = output.Length;
        if (_x.Length < n) _x = new float[n];
        var x = _x.AsSpan(0, n);
        var w = Recipe.Weights;
        if (_base is null)
        {
            for (int k = 0; k < _inputs.Count; k++)
            {
                _inputs[k].Read(name, x);
                if (k == 0) Cpu.WeightedSum.Scale(output, x, w[k], n);
                else Cpu.WeightedSum.Accumulate(output, x, w[k], n);
            }
            return (0, 0);
        }

        if (_baseValues.Length < n) _baseValues = new float[n];
        var baseValues = _baseValues.AsSpan(0, n);
        _base.Read(name, baseValues);
        baseValues.CopyTo(output);
        var (dropTop, dropBottom) = Recipe.Method == MergeMethod.Breadcrumbs ? Ref.MagnitudeMask.Counts(n, Recipe.TopBeta, Recipe.BottomGamma) : (0, 0);
        long kept = 0;
        for (int k = 0; k < _inputs.Count; k++)
        {
            _inputs[k].Read(name, x);
            Cpu.WeightedSum.Accumulate(x, baseValues, -1f, n); // τ = xₖ − base
            kept += Recipe.Method == MergeMethod.Breadcrumbs ? Cpu.MagnitudeMask.Forward(x, x, dropTop, dropBottom, n) : n;
            Cpu.WeightedSum.Accumulate(output, x, Recipe.Lambda * w[k], n);
        }
        return (kept, (long)n * _inputs.Count);
    }

    /// <summary>The recipe, for hyper.json's record of how the folder was made.</summary>
    private Dictionary<string, string> Provenance()
    {
        var r = Recipe;
        var d = new Dictionary<string, string>
        {
            ["merge_method"] = Name(r.Method),
            ["merge_models"] = string.Join(",", r.Models),
            ["merge_weights"] = string.Join(",", r.Weights.Select(x => x.ToString("R", CultureInfo.InvariantCulture))),
        };
        if (r.Base is not null)
        {
            d["merge_base"] = r.Base;
            d["merge_lambda"] = r.Lambda.ToString("R", CultureInfo.InvariantCulture);
        }
        if (r.Method == MergeMethod.Breadcrumbs)
        {
            d["merge_top_beta"] = r.TopBeta.ToString("R", CultureInfo.InvariantCulture);
            d["merge_bottom_gamma"] = r.BottomGamma.ToString("R", CultureInfo.InvariantCulture);
        }
        return d;
    }

    /// <summary>Closes the inputs.</summary>
    public void Dispose()
    {
        foreach (var t in _inputs) t.Dispose();
        _base?.Dispose();
    }
}
