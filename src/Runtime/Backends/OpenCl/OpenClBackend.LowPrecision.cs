namespace Hyper.Runtime.Backends.OpenCl;

/// <summary>
/// bf16 and q8 weights with kernels of their own (Kernels/matmul_lowp.cl), on the copies a
/// <see cref="DevicePackedWeights"/> keeps on the device.
/// </summary>
public sealed partial class OpenClBackend
{
    private DevicePackedWeights? _packedWeights;

    /// <inheritdoc />
    DevicePackedWeights IPackedWeightsBackend.PackedWeights => PackedWeights;

    private DevicePackedWeights PackedWeights => _packedWeights ??= new(this);

    private bool ReadsPackedWeights => _packedWeights is { Format: not Hyper.Kernels.WeightFormat.F32 };

    private void MatmulPacked(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
    {
        var (values, scales) = PackedWeights.Of(weight, C, OC);
        var kernel = _device.Kernel(scales is null ? "matmul_bf16" : "matmul_q8").View(output).View(input).View(values.All);
        if (scales is not null) kernel.View(scales.All);
        kernel.View(bias).Int(bias.IsEmpty ? 0 : 1).Int(N).Int(C).Int(OC).Launch(OC, N, 0, 0);
    }
}
