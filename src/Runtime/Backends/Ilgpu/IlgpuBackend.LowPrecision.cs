using Hyper.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using K = Hyper.Kernels.Ilgpu;

namespace Hyper.Runtime.Backends.Ilgpu;

/// <summary>
/// bf16 and q8 weights with kernels of their own (<see cref="K.MatmulLowPrecision"/>), on the copies a
/// <see cref="DevicePackedWeights"/> keeps on the device, as the OpenCL backend does.
/// </summary>
public sealed partial class IlgpuBackend
{
    private DevicePackedWeights? _packedWeights;

    /// <summary>
    /// The kernel of <see cref="K.MatmulLowPrecision"/> that multiplies: null picks by device and N (the CPU accelerator
    /// <c>naive</c>, where a barrier costs about 0.1 ms per thread of the group; a GPU <c>rows</c> up to 8 input rows,
    /// <c>tiled</c> beyond); tests set <c>rows</c> or <c>tiled</c> to check those kernels on the CPU accelerator too.
    /// </summary>
    internal string? LowPrecisionKernel { get; set; }

    /// <inheritdoc />
    DevicePackedWeights IPackedWeightsBackend.PackedWeights => PackedWeights;

    private DevicePackedWeights PackedWeights => _packedWeights ??= new(this);

    private bool ReadsPackedWeights => _packedWeights is { Format: not Hyper.Kernels.WeightFormat.F32 };

    private void MatmulPacked(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
    {
        if (N == 0 || OC == 0) return;
        var (packedValues, packedScales) = PackedWeights.Of(weight, C, OC);
        var s = new LowPrecisionShape(PackedWeights.Format, N, C, OC, !bias.IsEmpty);
        ArrayView<uint> values = V(packedValues.All).Cast<uint>();
        ArrayView<float> scales = packedScales is null ? _dummy.View : V(packedScales.All);
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
}
