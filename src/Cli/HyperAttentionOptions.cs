using System.CommandLine;
using Hyper.Runtime.Models;

namespace Hyper.Cli;

/// <summary>
/// The attention flags shared by train, eval and generate: --attention exact|hyper and
/// HyperAttention's settings. Unset flags keep what the model folder has (hyperattention.safetensors).
/// </summary>
public sealed class HyperAttentionOptions
{
    private readonly Option<string?> _attention = new("--attention")
    {
        Description = "exact or hyper (HyperAttention: LSH-sorted blocks plus sampled keys, near-linear in the context). Default: what the model has.",
    };
    private readonly Option<string?> _layers = new("--hyper-layers") { Description = "Layers that use HyperAttention: all or last:N (default all)." };
    private readonly Option<int?> _block = new("--block") { Description = "HyperAttention block size: keys attended exactly per LSH bucket block (default 256)." };
    private readonly Option<int?> _samples = new("--samples") { Description = "HyperAttention sampled keys per row block and head, each weighted n/m (default 256)." };
    private readonly Option<int?> _lshProjs = new("--lsh-projs") { Description = "HyperAttention LSH hyperplanes r: 2^r buckets (default 7)." };
    private readonly Option<int?> _minSeq = new("--min-seq") { Description = "HyperAttention is exact below this many tokens (and decoding keeps this many recent keys exact; default 4096)." };

    /// <summary>Adds the flags to a command.</summary>
    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _attention, _layers, _block, _samples, _lshProjs, _minSeq }) command.Options.Add(o);
    }

    /// <summary>The request the flags make (null when none was given).</summary>
    public HyperAttentionRequest? Read(ParseResult r, ulong seed = 1337)
    {
        var req = new HyperAttentionRequest
        {
            Attention = r.GetValue(_attention), Layers = r.GetValue(_layers), Block = r.GetValue(_block), Samples = r.GetValue(_samples),
            LshProjections = r.GetValue(_lshProjs), MinSeq = r.GetValue(_minSeq), Seed = seed,
        };
        return req.Attention is null && !req.HasSettings ? null : req;
    }
}
