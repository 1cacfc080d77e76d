using System.CommandLine;
using Hyper.Kernels;
using Hyper.Runtime.Backends;

namespace Hyper.Cli;

/// <summary>--weights f32|bf16|q8, shared by eval, generate, eval-gen and bench generate: the format the matmul weights are read in.</summary>
public sealed class WeightsOption
{
    private readonly Option<string> _weights = new("--weights")
    {
        Description = "Matmul weight format for inference: f32, bf16 (2 bytes a weight) or q8 (int8, one fp32 scale per 32; 1.125 bytes). " +
            "Activations, norms and the KV cache stay fp32. With bf16 on the cpu backend, a Llama-family checkpoint's BF16 matmul " +
            "tensors are kept as they are, with no fp32 copy (such a model cannot then be saved or trained). See docs/low-precision.md.",
        DefaultValueFactory = _ => "f32",
    };

    /// <summary>Adds the flag to a command.</summary>
    public void AddTo(Command command) => command.Options.Add(_weights);

    /// <summary>The format the flag names (an unknown one is refused before anything loads).</summary>
    public WeightFormat Read(ParseResult r) => LowPrecision.Parse(r.GetValue(_weights)!);

    /// <summary>The formats of a comma list (f32,bf16,q8), for a command that runs each in turn.</summary>
    public IReadOnlyList<WeightFormat> ReadList(ParseResult r) => r.GetValue(_weights)!.Split(',').Select(f => LowPrecision.Parse(f.Trim())).ToList();

}
