using Hyper.Runtime.Backends;

namespace Hyper.Tests.Backends;

/// <summary>
/// Stands in for an asynchronous device: runs every op on the reference backend and writes its
/// name, and each <see cref="Synchronize"/>, into <see cref="Journal"/> in call order, so a test can
/// see whether a clock was read around ops without the device being waited for first.
/// </summary>
internal sealed class JournalingBackend : IBackend
{
    private readonly ReferenceBackend inner = new();

    /// <summary>Op names and "Synchronize", in call order.</summary>
    public List<string> Journal { get; } = [];

    /// <summary>Every matmul's dimensions and its [N,OC] operand (the forward's output, the backward's dout), in call order.</summary>
    public List<(bool Backward, int N, int C, int OC, TensorView Rows)> Matmuls { get; } = [];

    public string Name => "journaling";
    public string Description => "the reference backend, journaling its calls";
    public void Synchronize() => Journal.Add("Synchronize");
    public bool Supports(Op op) { Journal.Add("Supports"); return inner.Supports(op); }
    public DeviceBuffer Allocate(long length) { Journal.Add("Allocate"); return inner.Allocate(length); }
    public void Upload(ReadOnlySpan<float> source, TensorView destination) { Journal.Add("Upload"); inner.Upload(source, destination); }
    public void Download(TensorView source, Span<float> destination) { Journal.Add("Download"); inner.Download(source, destination); }
    public void Zero(TensorView view) { Journal.Add("Zero"); inner.Zero(view); }
    public void Copy(TensorView source, TensorView destination) { Journal.Add("Copy"); inner.Copy(source, destination); }
    public double SumOfSquares(TensorView view) { Journal.Add("SumOfSquares"); return inner.SumOfSquares(view); }
    public void EncoderForward(TensorView output, ReadOnlySpan<int> tokens, TensorView wte, TensorView wpe, int B, int T, int C) { Journal.Add("EncoderForward"); inner.EncoderForward(output, tokens, wte, wpe, B, T, C); }
    public void EncoderBackward(TensorView dwte, TensorView dwpe, TensorView dout, ReadOnlySpan<int> tokens, int B, int T, int C) { Journal.Add("EncoderBackward"); inner.EncoderBackward(dwte, dwpe, dout, tokens, B, T, C); }
    public void LayerNormForward(TensorView output, TensorView mean, TensorView rstd, TensorView input, TensorView weight, TensorView bias, int N, int C, float eps) { Journal.Add("LayerNormForward"); inner.LayerNormForward(output, mean, rstd, input, weight, bias, N, C, eps); }
    public void LayerNormBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, TensorView mean, TensorView rstd, int N, int C) { Journal.Add("LayerNormBackward"); inner.LayerNormBackward(dinp, dweight, dbias, dout, input, weight, mean, rstd, N, C); }
    public void MatmulForward(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC) { Journal.Add("MatmulForward"); Matmuls.Add((false, N, C, OC, output)); inner.MatmulForward(output, input, weight, bias, N, C, OC); }
    public void MatmulBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, int N, int C, int OC) { Journal.Add("MatmulBackward"); Matmuls.Add((true, N, C, OC, dout)); inner.MatmulBackward(dinp, dweight, dbias, dout, input, weight, N, C, OC); }
    public void AttentionForward(TensorView output, TensorView lse, TensorView qkv, int B, int T, int C, int NH, bool causal) { Journal.Add("AttentionForward"); inner.AttentionForward(output, lse, qkv, B, T, C, NH, causal); }
    public void AttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, int B, int T, int C, int NH, bool causal) { Journal.Add("AttentionBackward"); inner.AttentionBackward(dqkv, dout, qkv, output, lse, B, T, C, NH, causal); }
    public void AttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, int B, int Tq, int pos, int maxT, int C, int NH) { Journal.Add("AttentionKvForward"); inner.AttentionKvForward(output, kCache, vCache, qkv, B, Tq, pos, maxT, C, NH); }
    public void LeakyReluForward(TensorView output, TensorView input, float slope, int N) { Journal.Add("LeakyReluForward"); inner.LeakyReluForward(output, input, slope, N); }
    public void LeakyReluBackward(TensorView dinp, TensorView input, TensorView dout, float slope, int N) { Journal.Add("LeakyReluBackward"); inner.LeakyReluBackward(dinp, input, dout, slope, N); }
    public void RmsNormForward(TensorView output, TensorView rstd, TensorView input, TensorView weight, int N, int C, float eps) { Journal.Add("RmsNormForward"); inner.RmsNormForward(output, rstd, input, weight, N, C, eps); }
    public void RmsNormBackward(TensorView dinp, TensorView dweight, TensorView dout, TensorView input, TensorView weight, TensorView rstd, int N, int C) { Journal.Add("RmsNormBackward"); inner.RmsNormBackward(dinp, dweight, dout, input, weight, rstd, N, C); }
    public void RopeForward(TensorView output, TensorView input, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0) { Journal.Add("RopeForward"); inner.RopeForward(output, input, cos, sin, B, T, H, hs, pos0); }
    public void RopeBackward(TensorView dinp, TensorView dout, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0) { Journal.Add("RopeBackward"); inner.RopeBackward(dinp, dout, cos, sin, B, T, H, hs, pos0); }
    public void SwiGluForward(TensorView output, TensorView gate, TensorView up, int N) { Journal.Add("SwiGluForward"); inner.SwiGluForward(output, gate, up, N); }
    public void SwiGluBackward(TensorView dgate, TensorView dup, TensorView dout, TensorView gate, TensorView up, int N) { Journal.Add("SwiGluBackward"); inner.SwiGluBackward(dgate, dup, dout, gate, up, N); }
    public void GroupedQueryAttentionForward(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int T, int NH, int NKV, int hs) { Journal.Add("GroupedQueryAttentionForward"); inner.GroupedQueryAttentionForward(output, lse, q, k, v, B, T, NH, NKV, hs); }
    public void GroupedQueryAttentionBackward(TensorView dq, TensorView dk, TensorView dv, TensorView dout, TensorView q, TensorView k, TensorView v, TensorView output, TensorView lse, int B, int T, int NH, int NKV, int hs) { Journal.Add("GroupedQueryAttentionBackward"); inner.GroupedQueryAttentionBackward(dq, dk, dv, dout, q, k, v, output, lse, B, T, NH, NKV, hs); }
    public void GroupedQueryAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView q, TensorView k, TensorView v, int B, int Tq, int pos, int maxT, int NH, int NKV, int hs) { Journal.Add("GroupedQueryAttentionKvForward"); inner.GroupedQueryAttentionKvForward(output, kCache, vCache, q, k, v, B, Tq, pos, maxT, NH, NKV, hs); }
    public void HyperEncodingForward(TensorView output, ReadOnlySpan<float> gamma, Hyper.Kernels.Reference.HyperEncodingKind kind, int N, int D) { Journal.Add("HyperEncodingForward"); inner.HyperEncodingForward(output, gamma, kind, N, D); }
    public void GeluForward(TensorView output, TensorView input, int N) { Journal.Add("GeluForward"); inner.GeluForward(output, input, N); }
    public void GeluBackward(TensorView dinp, TensorView input, TensorView dout, int N) { Journal.Add("GeluBackward"); inner.GeluBackward(dinp, input, dout, N); }
    public void ResidualForward(TensorView output, TensorView a, TensorView b, int N) { Journal.Add("ResidualForward"); inner.ResidualForward(output, a, b, N); }
    public void ResidualBackward(TensorView da, TensorView db, TensorView dout, int N) { Journal.Add("ResidualBackward"); inner.ResidualBackward(da, db, dout, N); }
    public void SoftmaxCrossEntropyForward(TensorView losses, TensorView probs, TensorView logits, ReadOnlySpan<int> targets, int N, int V, int Vp) { Journal.Add("SoftmaxCrossEntropyForward"); inner.SoftmaxCrossEntropyForward(losses, probs, logits, targets, N, V, Vp); }
    public void SoftmaxCrossEntropyBackward(TensorView dlogits, TensorView probs, ReadOnlySpan<int> targets, float dloss, int N, int V, int Vp) { Journal.Add("SoftmaxCrossEntropyBackward"); inner.SoftmaxCrossEntropyBackward(dlogits, probs, targets, dloss, N, V, Vp); }
    public void AdamWUpdate(TensorView parameters, TensorView m, TensorView v, TensorView grads, float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale) { Journal.Add("AdamWUpdate"); inner.AdamWUpdate(parameters, m, v, grads, lr, beta1, beta2, eps, weightDecay, step, gradScale); }
    public void Dispose() => inner.Dispose();
}
