using K = Hyper.Kernels.Reference;

namespace Hyper.Runtime.Backends;

/// <summary>
/// The reference kernels (plain scalar loops, one thread) behind the backend interface: the
/// oracle other backends are tested against, and a model run that trusts nothing fast.
/// </summary>
public sealed class ReferenceBackend : HostBackend, IHyperAttentionBackend
{
    /// <summary>Every op has a kernel here: the host ops and HyperAttention.</summary>
    internal static readonly HashSet<Op> Native = [.. HostOps, Op.HyperAttention, Op.HyperAttentionKv];

    /// <inheritdoc />
    public override string Name => "reference";

    /// <inheritdoc />
    public override string Description => "scalar reference kernels, one thread";

    /// <inheritdoc />
    public override bool Supports(Op op) => Native.Contains(op);

    /// <inheritdoc />
    public override double SumOfSquares(TensorView view) => K.Reduce.SumOfSquares<float>(S(view));

    /// <inheritdoc />
    public override void EncoderForward(TensorView output, ReadOnlySpan<int> tokens, TensorView wte, TensorView wpe, int B, int T, int C)
        => K.Encoder.Forward(S(output), tokens, S(wte), S(wpe), B, T, C);

    /// <inheritdoc />
    public override void EncoderBackward(TensorView dwte, TensorView dwpe, TensorView dout, ReadOnlySpan<int> tokens, int B, int T, int C)
        => K.Encoder.Backward(S(dwte), S(dwpe), S(dout), tokens, B, T, C);

    /// <inheritdoc />
    public override void LayerNormForward(TensorView output, TensorView mean, TensorView rstd, TensorView input, TensorView weight, TensorView bias, int N, int C, float eps)
        => K.LayerNorm.Forward(S(output), S(mean), S(rstd), S(input), S(weight), S(bias), N, C, eps);

    /// <inheritdoc />
    public override void LayerNormBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, TensorView mean, TensorView rstd, int N, int C)
        => K.LayerNorm.Backward(S(dinp), S(dweight), S(dbias), S(dout), S(input), S(weight), S(mean), S(rstd), N, C);

    /// <inheritdoc />
    public override void MatmulForward(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
        => K.Matmul.Forward(S(output), S(input), S(weight), S(bias), N, C, OC);

    /// <inheritdoc />
    public override void MatmulBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, int N, int C, int OC)
        => K.Matmul.Backward(S(dinp), S(dweight), S(dbias), S(dout), S(input), S(weight), N, C, OC);

    /// <inheritdoc />
    public override void AttentionForward(TensorView output, TensorView lse, TensorView qkv, int B, int T, int C, int NH, bool causal)
        => K.Attention.Forward(S(output), S(lse), S(qkv), B, T, C, NH, causal);

    /// <inheritdoc />
    public override void AttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, int B, int T, int C, int NH, bool causal)
        => K.Attention.Backward(S(dqkv), S(dout), S(qkv), S(output), S(lse), B, T, C, NH, causal);

    /// <inheritdoc />
    public override void AttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, int B, int Tq, int pos, int maxT, int C, int NH)
        => K.Attention.KvForward(S(output), S(kCache), S(vCache), S(qkv), B, Tq, pos, maxT, C, NH);

    /// <inheritdoc />
    public override void GeluForward(TensorView output, TensorView input, int N) => K.Gelu.Forward(S(output), S(input), N);

    /// <inheritdoc />
    public override void GeluBackward(TensorView dinp, TensorView input, TensorView dout, int N) => K.Gelu.Backward(S(dinp), S(input), S(dout), N);

    /// <inheritdoc />
    public override void LeakyReluForward(TensorView output, TensorView input, float slope, int N) => K.LeakyRelu.Forward(S(output), S(input), slope, N);

    /// <inheritdoc />
    public override void LeakyReluBackward(TensorView dinp, TensorView input, TensorView dout, float slope, int N)
        => K.LeakyRelu.Backward(S(dinp), S(input), S(dout), slope, N);

    /// <inheritdoc />
    public override void ResidualForward(TensorView output, TensorView a, TensorView b, int N) => K.Residual.Forward(S(output), S(a), S(b), N);

    /// <inheritdoc />
    public override void ResidualBackward(TensorView da, TensorView db, TensorView dout, int N) => K.Residual.Backward(S(da), S(db), S(dout), N);

    /// <inheritdoc />
    public override void SoftmaxCrossEntropyForward(TensorView losses, TensorView probs, TensorView logits, ReadOnlySpan<int> targets, int N, int V, int Vp)
        => K.SoftmaxCrossEntropy.Forward(S(losses), S(probs), S(logits), targets, N, V, Vp);

    /// <inheritdoc />
    public override void SoftmaxCrossEntropyBackward(TensorView dlogits, TensorView probs, ReadOnlySpan<int> targets, float dloss, int N, int V, int Vp)
        => K.SoftmaxCrossEntropy.Backward(S(dlogits), S(probs), targets, dloss, N, V, Vp);

    /// <inheritdoc />
    public override void AdamWUpdate(TensorView parameters, TensorView m, TensorView v, TensorView grads, float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale)
        => K.AdamW.Update(S(parameters), S(m), S(v), S(grads), lr, beta1, beta2, eps, weightDecay, step, gradScale);

    /// <inheritdoc />
    public void HyperAttentionForward(TensorView output, TensorView lse, TensorView qkv, K.HyperAttentionPlan plan, int B, int T, int C, int NH)
        => K.HyperAttention.Forward<float>(S(output), S(lse), S(qkv), plan, B, T, C, NH);

    /// <inheritdoc />
    public void HyperAttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, K.HyperAttentionPlan plan, int B, int T, int C, int NH)
        => K.HyperAttention.Backward<float>(S(dqkv), S(dout), S(qkv), S(output), S(lse), plan, B, T, C, NH);

    /// <inheritdoc />
    public void HyperAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, K.HyperAttentionKvState state, int B, int Tq, int pos, int maxT, int C, int NH)
        => K.HyperAttentionKv.Forward<float>(S(output), S(kCache), S(vCache), S(qkv), state, B, Tq, pos, maxT, C, NH);
}
