using Hyper.Kernels;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Backends;

/// <summary>Names, sizes and selection of the weight formats (<see cref="WeightFormat"/>).</summary>
public static class LowPrecision
{
    /// <summary>The names a user gives: f32, bf16, q8.</summary>
    public static IReadOnlyList<string> Names { get; } = ["f32", "bf16", "q8"];

    /// <summary>The format named <paramref name="name"/>; unknown names are refused under the Weights setting.</summary>
    public static WeightFormat Parse(string name) => name.ToLowerInvariant() switch
    {
        "f32" or "fp32" => WeightFormat.F32,
        "bf16" => WeightFormat.Bf16,
        "q8" => WeightFormat.Q8,
        _ => throw new SettingException("Weights", $"'{name}' is not a weight format (known: {string.Join(", ", Names)})"),
    };

    /// <summary>The lower-case name of a format.</summary>
    public static string Name(WeightFormat format) => Names[(int)format];

    /// <summary>Bytes of an [OC,C] weight matrix in a format (q8: int8 values padded to whole blocks plus one fp32 scale per block).</summary>
    public static long Bytes(WeightFormat format, long OC, long C) => format switch
    {
        WeightFormat.F32 => 4 * OC * C,
        WeightFormat.Bf16 => 2 * OC * C,
        _ => OC * Kernels.Reference.MatmulQ8.Blocks((int)C) * (Kernels.Reference.MatmulQ8.Block + 4L),
    };

    /// <summary>What a backend offers: "f32 only", or each format it reads with how ("bf16 (native)", "q8 (fallback: ...)").</summary>
    public static string Offered(IBackend backend) => backend is ILowPrecisionBackend lp && lp.WeightFormats.Count > 0
        ? "f32, " + string.Join(", ", lp.WeightFormats.Select(f => $"{Name(f)} ({(lp.IsNative(f) ? "native" : "fallback: fp32 kernels on dequantized weights")})"))
        : "f32 only";

    /// <summary>
    /// Refuses to <paramref name="what"/> (save it, train it) a model whose matmul weights were loaded
    /// from its checkpoint straight into the cpu backend's bf16 or q8 copies
    /// (<see cref="CpuBackend.KeepBf16"/>, <see cref="CpuBackend.KeepQ8"/>): its fp32 parameters hold zeros there, not the weights.
    /// </summary>
    public static void RequireFp32Weights(ICausalLm model, string what)
    {
        if (CpuBackend.Of(model.Backend) is { } cpu && cpu.HoldsPackedOnly(model.Parameters.Buffer))
            throw new InvalidOperationException($"cannot {what}: its matmul weights were loaded from the checkpoint straight into {Name(cpu.Weights)} copies only, " +
                "and its fp32 parameters do not hold them (load it with f32 weights to do this)");
    }

    /// <summary>
    /// Makes <paramref name="backend"/> read matmul weights in <paramref name="format"/>. fp32 works everywhere; a
    /// backend that reads the format neither natively nor through a <see cref="WeightFallback"/> is refused
    /// (no silent fp32: the numbers would not be the format's).
    /// </summary>
    public static void Use(IBackend backend, WeightFormat format)
    {
        if (backend is ILowPrecisionBackend lp && (format == WeightFormat.F32 || lp.WeightFormats.Contains(format)))
        {
            lp.Weights = format;
            return;
        }
        if (format == WeightFormat.F32) return;
        throw new SettingException("Weights", $"{Name(format)} is not available on the {backend.Name} backend (it has {Offered(backend)}; the cpu backend has {string.Join(", ", Names)} natively)");
    }
}
