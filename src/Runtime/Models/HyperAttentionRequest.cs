using Hyper.Kernels.Reference;

namespace Hyper.Runtime.Models;

/// <summary>
/// What the command line asks of a model's attention (--attention, --hyper-layers, --block,
/// --samples, --lsh-projs, --min-seq); null fields keep what the model has. Applied after the
/// model is created or loaded, so a checkpoint's stored hyperplanes are kept unless the request
/// needs different ones.
/// </summary>
public sealed record HyperAttentionRequest
{
    /// <summary>"exact", "hyper", or null (keep the model's).</summary>
    public string? Attention { get; init; }

    /// <summary>"all" or "last:N" (default when switching to hyper: all).</summary>
    public string? Layers { get; init; }

    /// <summary>Block size b.</summary>
    public int? Block { get; init; }

    /// <summary>Sampled keys m.</summary>
    public int? Samples { get; init; }

    /// <summary>LSH hyperplanes r.</summary>
    public int? LshProjections { get; init; }

    /// <summary>min_seq_len: exact below it, and the exact window when decoding.</summary>
    public int? MinSeq { get; init; }

    /// <summary>Seed for new hyperplanes and the samples.</summary>
    public ulong Seed { get; init; } = 1337;

    /// <summary>True when any HyperAttention setting was given.</summary>
    public bool HasSettings => Layers is not null || Block is not null || Samples is not null || LshProjections is not null || MinSeq is not null;

    // The settings given, by name, for messages ("Block 64, Samples 8").
    private string Given => string.Join(", ", new (string Name, object? Value)[]
        { ("HyperLayers", Layers), ("Block", Block), ("Samples", Samples), ("LshProjections", LshProjections), ("MinSeq", MinSeq) }
        .Where(s => s.Value is not null).Select(s => $"{s.Name} {s.Value}"));

    /// <summary>Sets the model's HyperAttention layers (<see cref="ICausalLm.HyperAttention"/>) as asked.</summary>
    /// <exception cref="ArgumentException">Contradictory or out-of-range flags (the message names them).</exception>
    public void Apply(ICausalLm model)
    {
        ArgumentNullException.ThrowIfNull(model);
        switch (Attention)
        {
            case null when !HasSettings:
                return;
            case "exact":
                if (HasSettings) throw new SettingException("Attention", $"exact contradicts the HyperAttention settings given ({Given})");
                model.HyperAttention = null;
                return;
            case null when model.HyperAttention is null:
                throw new SettingException("Attention", $"hyper is needed for the HyperAttention settings given ({Given}): the model uses exact attention");
            case null or "hyper":
                break;
            default:
                throw new SettingException("Attention", $"'{Attention}': expected exact or hyper");
        }
        var current = model.HyperAttention;
        var baseConfig = current?.Config ?? new HyperAttentionConfig();
        HyperAttentionConfig config;
        try
        {
            config = baseConfig with
            {
                BlockSize = Block ?? baseConfig.BlockSize,
                SampleSize = Samples ?? baseConfig.SampleSize,
                LshProjections = LshProjections ?? baseConfig.LshProjections,
                MinSeqLen = MinSeq ?? baseConfig.MinSeqLen,
                Causal = true,
            };
            config.Validate();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new SettingException("Attention", "hyper: " + e.Message.Split(" (Parameter")[0].Replace("hyper attention: ", ""));
        }
        string layers = Layers ?? current?.Layers ?? "all";
        HyperAttentionSettings.ParseLayers(layers, model.Config.Layers);
        // Keep stored hyperplanes when the layers and their count are unchanged.
        model.HyperAttention = current is not null && current.Layers == layers && current.Config.LshProjections == config.LshProjections
            ? current.With(config)
            : HyperAttentionSettings.Create(config, layers, model.Config, Seed);
    }
}
