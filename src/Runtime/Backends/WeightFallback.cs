using Hyper.Kernels;

namespace Hyper.Runtime.Backends;

/// <summary>
/// The bf16 and q8 weight formats on a backend without kernels for them: the first time a weight view
/// is multiplied by, it is rounded through the format on the host (bf16: round to nearest even; q8:
/// blocks of 32 along C with one fp32 scale, as <see cref="Kernels.Reference.MatmulQ8.Pack"/>), widened
/// back to fp32 into a buffer of the backend's own, and from then on the backend's fp32 matmul reads that
/// copy. The products are then the format's weights times the fp32 input: bf16's equal the bf16 kernel's
/// to fp32 rounding; q8's differ from the cpu's q8 kernel's only by that kernel's rounding of the input
/// (7 bits and a sign: 2^-7 of each block's largest value). Speed and memory are fp32's, plus the copies.
/// </summary>
public sealed class WeightFallback(IBackend backend) : WeightCopies<DeviceBuffer>
{
    /// <summary>The view to multiply by in place of <paramref name="weight"/> [OC,C]: itself under fp32, else its rounded copy.</summary>
    public TensorView Of(TensorView weight, int C, int OC)
    {
        if (Format == WeightFormat.F32) return weight;
        if (!Copies.TryGetValue(weight, out var copy))
        {
            var w = new float[weight.Length];
            backend.Download(weight, w);
            float[] rounded = Format == WeightFormat.Bf16 ? Kernels.Reference.MatmulBf16.Rounded(w) : Q8(w, C, OC);
            copy = backend.Allocate(weight.Length);
            backend.Upload(rounded, copy.All);
            Copies[weight] = copy;
        }
        return copy.All;
    }

    private static float[] Q8(float[] w, int C, int OC)
    {
        var (q, d) = Kernels.Reference.MatmulQ8.Pack(w, C, OC);
        return Kernels.Reference.MatmulQ8.Dequantize(q, d, C, OC);
    }

    /// <inheritdoc />
    protected override void Free(DeviceBuffer copy) => copy.Dispose();
}

/// <summary>
/// A backend whose bf16 and q8 weights are a <see cref="WeightFallback"/>: its fp32 kernels on the
/// weights rounded through the format. Its matmul forward multiplies by <c>Fallback.Of(weight)</c>.
/// </summary>
internal interface IWeightFallbackBackend : ILowPrecisionBackend
{
    /// <summary>The rounded copies this backend multiplies by.</summary>
    WeightFallback Fallback { get; }

    IReadOnlyList<WeightFormat> ILowPrecisionBackend.WeightFormats => WeightFallback.Formats;

    bool ILowPrecisionBackend.IsNative(WeightFormat format) => format == WeightFormat.F32;

    WeightFormat ILowPrecisionBackend.Weights
    {
        get => Fallback.Format;
        set => Fallback.Format = value;
    }

    // The copies are fp32: a step reads as many bytes as it would have without them.
    long ILowPrecisionBackend.PackedBytes => sizeof(float) * Fallback.Floats;

    long ILowPrecisionBackend.PackedFloats => Fallback.Floats;
}
