using Hyper.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using K = Hyper.Kernels.Ilgpu;

namespace Hyper.Runtime.Backends.Ilgpu;

/// <summary>
/// The launchers of every ILGPU kernel on one accelerator, each compiled on first use and kept
/// (a backend that only decodes never pays for the backward kernels). Each takes a
/// <see cref="KernelConfig"/> (grid, group, dynamic shared memory) and launches on the
/// accelerator's default stream.
/// </summary>
internal sealed partial class IlgpuKernels(Accelerator a)
{
    private Action<KernelConfig, ArrayView<double>, ArrayView<float>>? _sumOfSquares;
    private Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int>? _encoderForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, int>? _encoderBackwardWte;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int>? _encoderBackwardWpe;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>? _layerNormForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? _layerNormBackwardInput;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _layerNormBackwardParameters;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>? _matmulNaive;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>? _matmulTiled;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>? _matmulBlocked;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int>? _matmulBackwardBias;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, LowPrecisionShape>? _matmulLowPrecisionNaive;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, LowPrecisionShape>? _matmulLowPrecisionRows;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, LowPrecisionShape>? _matmulLowPrecisionTiled;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>? _attentionForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>? _attentionAppendKv;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>? _attentionBackwardDelta;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>? _attentionBackwardKeys;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>? _attentionBackwardQueries;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>>? _geluForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _geluBackward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _residualForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _residualBackward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>? _softmaxCrossEntropyForward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, float, int, int>? _softmaxCrossEntropyBackward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWStep>? _adamW;

    public Action<KernelConfig, ArrayView<double>, ArrayView<float>> SumOfSquares =>
        _sumOfSquares ??= a.LoadStreamKernel<ArrayView<double>, ArrayView<float>>(K.Reduce.SumOfSquares);

    public Action<KernelConfig, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int> EncoderForward =>
        _encoderForward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int, int>(K.Encoder.Forward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, int> EncoderBackwardWte =>
        _encoderBackwardWte ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, int>(K.Encoder.BackwardWte);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int> EncoderBackwardWpe =>
        _encoderBackwardWpe ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(K.Encoder.BackwardWpe);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> LayerNormForward =>
        _layerNormForward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(K.LayerNorm.Forward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> LayerNormBackwardInput =>
        _layerNormBackwardInput ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(K.LayerNorm.BackwardInput);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> LayerNormBackwardParameters =>
        _layerNormBackwardParameters ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(K.LayerNorm.BackwardParameters);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> MatmulNaive =>
        _matmulNaive ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(K.Matmul.Naive);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> MatmulTiled =>
        _matmulTiled ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(K.Matmul.Tiled);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> MatmulBlocked =>
        _matmulBlocked ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(K.Matmul.Blocked);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> MatmulBackwardBias =>
        _matmulBackwardBias ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(K.Matmul.BackwardBias);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, LowPrecisionShape> MatmulLowPrecisionNaive =>
        _matmulLowPrecisionNaive ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, LowPrecisionShape>(K.MatmulLowPrecision.Naive);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, LowPrecisionShape> MatmulLowPrecisionRows =>
        _matmulLowPrecisionRows ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, LowPrecisionShape>(K.MatmulLowPrecision.Rows);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, LowPrecisionShape> MatmulLowPrecisionTiled =>
        _matmulLowPrecisionTiled ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<uint>, ArrayView<float>, ArrayView<float>, LowPrecisionShape>(K.MatmulLowPrecision.Tiled);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape> AttentionForward =>
        _attentionForward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>(K.Attention.Forward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int> AttentionAppendKv =>
        _attentionAppendKv ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(K.Attention.AppendKv);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape> AttentionBackwardDelta =>
        _attentionBackwardDelta ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>(K.Attention.BackwardDelta);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape> AttentionBackwardKeys =>
        _attentionBackwardKeys ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>(K.Attention.BackwardKeys);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape> AttentionBackwardQueries =>
        _attentionBackwardQueries ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AttentionShape>(K.Attention.BackwardQueries);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>> GeluForward =>
        _geluForward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>>(K.Gelu.Forward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>> GeluBackward =>
        _geluBackward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>>(K.Gelu.Backward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>> ResidualForward =>
        _residualForward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>>(K.Residual.Forward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>> ResidualBackward =>
        _residualBackward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>>(K.Residual.Backward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int> SoftmaxCrossEntropyForward =>
        _softmaxCrossEntropyForward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int>(K.SoftmaxCrossEntropy.Forward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<int>, float, int, int> SoftmaxCrossEntropyBackward =>
        _softmaxCrossEntropyBackward ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<int>, float, int, int>(K.SoftmaxCrossEntropy.Backward);

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWStep> AdamW =>
        _adamW ??= a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, AdamWStep>(K.AdamW.Update);
}
