using ILGPU;
using ILGPU.Runtime;
using K = Hyper.Kernels.Ilgpu;

namespace Hyper.Runtime.Backends.Ilgpu;

// The launchers of the Llama-family kernels, compiled on first use as the others (grouped-query
// attention also launches the attention kernels of IlgpuKernels.cs).
internal sealed partial class IlgpuKernels
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>? _rmsNormForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? _rmsNormBackwardInput;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _rmsNormBackwardWeight;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>? _ropeForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>? _ropeBackward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _swiGluForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _swiGluBackward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>? _groupedQueryAttentionAppendKv;

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> RmsNormForward =>
        _rmsNormForward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(K.RmsNorm.Forward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> RmsNormBackwardInput =>
        _rmsNormBackwardInput ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(K.RmsNorm.BackwardInput);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> RmsNormBackwardWeight =>
        _rmsNormBackwardWeight ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(K.RmsNorm.BackwardWeight);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int> RopeForward =>
        _ropeForward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(K.Rope.Forward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int> RopeBackward =>
        _ropeBackward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(K.Rope.Backward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>> SwiGluForward =>
        _swiGluForward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>>(K.SwiGlu.Forward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> SwiGluBackward =>
        _swiGluBackward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(K.SwiGlu.Backward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int> GroupedQueryAttentionAppendKv =>
        _groupedQueryAttentionAppendKv ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(K.GroupedQueryAttention.AppendKv);
}
