using System.Runtime.InteropServices;
using Hyper.Kernels;

namespace Hyper.Runtime.Backends.OpenCl;

/// <summary>
/// bf16 and q8 weights with kernels of their own (Kernels/matmul_lowp.cl): each weight view is packed on
/// the host the first time it is multiplied by (the reference's Pack) and kept on the device in its
/// format, 2 or 1.125 bytes a weight.
/// </summary>
public sealed partial class OpenClBackend
{
    // Per weight view: its packed values and, for q8, its scales, in float buffers.
    private readonly Dictionary<TensorView, (DeviceBuffer Values, DeviceBuffer? Scales)> _packed = new();
    private WeightFormat _weights;

    /// <inheritdoc />
    public IReadOnlyList<WeightFormat> WeightFormats { get; } = [WeightFormat.Bf16, WeightFormat.Q8];

    /// <inheritdoc />
    public bool IsNative(WeightFormat format) => true;

    /// <inheritdoc />
    public WeightFormat Weights
    {
        get => _weights;
        set
        {
            if (value != _weights) DropPacked();
            _weights = value;
        }
    }

    /// <inheritdoc />
    public long PackedBytes => _packed.Sum(p => p.Value.Scales is { } scales
        ? sizeof(float) * (p.Value.Values.Length + scales.Length) // q8: whole blocks of int8, one fp32 scale each
        : 2 * p.Key.Length); // bf16 (the buffer may end in one ushort of padding)

    /// <inheritdoc />
    public long PackedFloats => _packed.Keys.Sum(k => k.Length);

    private void DropPacked()
    {
        foreach (var (values, scales) in _packed.Values)
        {
            values.Dispose();
            scales?.Dispose();
        }
        _packed.Clear();
    }

    private void MatmulPacked(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
    {
        if (!_packed.TryGetValue(weight, out var packed)) _packed[weight] = packed = Pack(weight, C, OC);
        var kernel = _device.Kernel(_weights == WeightFormat.Bf16 ? "matmul_bf16" : "matmul_q8").View(output).View(input).View(packed.Values.All);
        if (packed.Scales is not null) kernel.View(packed.Scales.All);
        kernel.View(bias).Int(bias.IsEmpty ? 0 : 1).Int(N).Int(C).Int(OC).Launch(OC, N, 0, 0);
    }

    private (DeviceBuffer Values, DeviceBuffer? Scales) Pack(TensorView weight, int C, int OC)
    {
        var w = new float[weight.Length];
        Download(weight, w);
        if (_weights == WeightFormat.Bf16)
        {
            // An even count of ushorts, so they fill whole floats.
            var h = new ushort[(w.Length + 1) & ~1];
            Kernels.Reference.MatmulBf16.Pack(w).CopyTo(h, 0);
            return (Upload(MemoryMarshal.Cast<ushort, float>(h)), null);
        }
        var (q, d) = Kernels.Reference.MatmulQ8.Pack(w, C, OC); // q is whole blocks of 32 bytes: whole floats
        return (Upload(MemoryMarshal.Cast<sbyte, float>(q)), Upload(d));
    }

    private DeviceBuffer Upload(ReadOnlySpan<float> data)
    {
        var buffer = Allocate(Math.Max(1, data.Length));
        if (data.Length > 0) Upload(data, buffer.All);
        return buffer;
    }
}
