using System.Runtime.InteropServices;
using Hyper.Kernels;
using Hyper.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using K = Hyper.Kernels.Ilgpu;

namespace Hyper.Runtime.Backends.Ilgpu;

/// <summary>
/// bf16 and q8 weights with kernels of their own (<see cref="K.MatmulLowPrecision"/>): each weight view is
/// packed on the host the first time it is multiplied by (the reference's Pack) and kept on the device in
/// its format, 2 or 1.125 bytes a weight, as the OpenCL backend does.
/// </summary>
public sealed partial class IlgpuBackend
{
    // Per weight view: its packed values and, for q8, its scales, in float buffers.
    private readonly Dictionary<TensorView, (IlgpuBuffer Values, IlgpuBuffer? Scales)> _packed = new();
    private WeightFormat _weights;

    /// <summary>
    /// The kernel of <see cref="K.MatmulLowPrecision"/> that multiplies: null picks by device and N (the CPU accelerator
    /// <c>naive</c>, where a barrier costs about 0.1 ms per thread of the group; a GPU <c>rows</c> up to 8 input rows,
    /// <c>tiled</c> beyond); tests set <c>rows</c> or <c>tiled</c> to check those kernels on the CPU accelerator too.
    /// </summary>
    internal string? LowPrecisionKernel { get; set; }

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
        // Queued kernels may still read the copies.
        _stream.Synchronize();
        foreach (var (values, scales) in _packed.Values)
        {
            values.Dispose();
            scales?.Dispose();
        }
        _packed.Clear();
    }

    private void MatmulPacked(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
    {
        if (N == 0 || OC == 0) return;
        if (!_packed.TryGetValue(weight, out var packed)) _packed[weight] = packed = Pack(weight, C, OC);
        var s = new LowPrecisionShape(_weights, N, C, OC, !bias.IsEmpty);
        ArrayView<uint> values = ((ArrayView<float>)packed.Values.View(0, packed.Values.Length)).Cast<uint>();
        ArrayView<float> scales = packed.Scales is { } d ? d.View(0, d.Length) : _dummy.View;
        string kernel = LowPrecisionKernel ?? (!_cuda ? "naive" : N <= 8 ? "rows" : "tiled");
        if (kernel == "naive")
            _kernels.MatmulLowPrecisionNaive(Spread(N * OC), V(output), V(input), values, scales, V(bias), s);
        else if (kernel == "rows")
            _kernels.MatmulLowPrecisionRows(new KernelConfig(new Index2D(OC, Groups(N, K.MatmulLowPrecision.RowsPerGroup)), new Index2D(_rowGroup, 1)),
                V(output), V(input), values, scales, V(bias), s);
        else
            _kernels.MatmulLowPrecisionTiled(new KernelConfig(new Index2D(Groups(OC, K.MatmulLowPrecision.Tile), Groups(N, K.MatmulLowPrecision.Tile)),
                new Index2D(K.MatmulLowPrecision.Tile, K.MatmulLowPrecision.Tile)), V(output), V(input), values, scales, V(bias), s);
    }

    private (IlgpuBuffer Values, IlgpuBuffer? Scales) Pack(TensorView weight, int C, int OC)
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

    private IlgpuBuffer Upload(ReadOnlySpan<float> data)
    {
        var buffer = new IlgpuBuffer(_accelerator, data.Length);
        if (data.Length > 0) Upload(data, buffer.All);
        return buffer;
    }
}
