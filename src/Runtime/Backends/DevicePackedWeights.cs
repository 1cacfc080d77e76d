using System.Runtime.InteropServices;
using Hyper.Kernels;

namespace Hyper.Runtime.Backends;

/// <summary>
/// bf16 and q8 copies of the matmul weights kept on a device in their formats, for the device backends with
/// kernels of their own (OpenCL's matmul_lowp.cl, ILGPU's MatmulLowPrecision): each weight view is packed on
/// the host the first time it is multiplied by (the reference's Pack) and uploaded as 32-bit words, 2 or 1.125
/// bytes a weight. bf16: two values a word, element 2k in the low half of word k; q8: four int8 values a word,
/// each row whole blocks of 32, and one fp32 scale a block in a second buffer.
/// </summary>
internal sealed class DevicePackedWeights(IBackend backend) : WeightCopies<(DeviceBuffer Values, DeviceBuffer? Scales)>
{
    /// <summary>Bytes of the copies: whole blocks of int8 and one fp32 scale each for q8, two a weight for bf16.</summary>
    public long Bytes => Copies.Sum(p => p.Value.Scales is { } scales
        ? sizeof(float) * (p.Value.Values.Length + scales.Length)
        : 2 * p.Key.Length); // the buffer may end in one ushort of padding

    /// <summary>The copy of <paramref name="weight"/> [OC, C] in <see cref="WeightCopies{TCopy}.Format"/>: its values and, for q8, its scales.</summary>
    public (DeviceBuffer Values, DeviceBuffer? Scales) Of(TensorView weight, int C, int OC)
    {
        if (Copies.TryGetValue(weight, out var copy)) return copy;
        var w = new float[weight.Length];
        backend.Download(weight, w);
        if (Format == WeightFormat.Bf16)
        {
            // An even count of ushorts, so they fill whole words.
            var h = new ushort[(w.Length + 1) & ~1];
            Kernels.Reference.MatmulBf16.Pack(w).CopyTo(h, 0);
            copy = (Upload(MemoryMarshal.Cast<ushort, float>(h)), null);
        }
        else
        {
            var (q, d) = Kernels.Reference.MatmulQ8.Pack(w, C, OC); // q is whole blocks of 32 bytes: whole words
            copy = (Upload(MemoryMarshal.Cast<sbyte, float>(q)), Upload(d));
        }
        return Copies[weight] = copy;
    }

    private DeviceBuffer Upload(ReadOnlySpan<float> words)
    {
        var buffer = backend.Allocate(Math.Max(1, words.Length));
        if (words.Length > 0) backend.Upload(words, buffer.All.Slice(0, words.Length));
        return buffer;
    }

    /// <inheritdoc />
    protected override void Clear()
    {
        if (Copies.Count > 0) backend.Synchronize(); // queued kernels may still read the copies
        base.Clear();
    }

    /// <inheritdoc />
    protected override void Free((DeviceBuffer Values, DeviceBuffer? Scales) copy)
    {
        copy.Values.Dispose();
        copy.Scales?.Dispose();
    }
}

/// <summary>
/// A backend whose bf16 and q8 weights are a <see cref="DevicePackedWeights"/> read by kernels of its own.
/// Its matmul forward multiplies by <c>PackedWeights.Of(weight)</c> when <see cref="ILowPrecisionBackend.Weights"/> is not fp32.
/// </summary>
internal interface IPackedWeightsBackend : ILowPrecisionBackend
{
    /// <summary>The copies this backend multiplies by.</summary>
    DevicePackedWeights PackedWeights { get; }

    IReadOnlyList<WeightFormat> ILowPrecisionBackend.WeightFormats => DevicePackedWeights.Formats;

    bool ILowPrecisionBackend.IsNative(WeightFormat format) => true;

    WeightFormat ILowPrecisionBackend.Weights
    {
        get => PackedWeights.Format;
        set => PackedWeights.Format = value;
    }

    long ILowPrecisionBackend.PackedBytes => PackedWeights.Bytes;

    long ILowPrecisionBackend.PackedFloats => PackedWeights.Floats;
}
