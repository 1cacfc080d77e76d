using Ref = Hyper.Kernels.Reference;

namespace Hyper.Runtime.Backends;

/// <summary>
/// What the two host backends share: buffers are <see cref="HostBuffer"/>s and views become
/// spans. The ops themselves are left to <see cref="CpuBackend"/> (fast kernels) and
/// <see cref="ReferenceBackend"/> (the scalar oracle).
/// </summary>
public abstract class HostBackend : IBackend
{
    /// <inheritdoc />
    public abstract string Name { get; }

    /// <inheritdoc />
    public abstract string Description { get; }

    /// <summary>What every host backend runs on its spans: the ops it declares abstract, and the ones it implements below.</summary>
    protected static readonly HashSet<Op> HostOps =
    [
        Op.Encoder, Op.LayerNorm, Op.Matmul, Op.Attention, Op.AttentionKv, Op.Gelu, Op.Residual,
        Op.SoftmaxCrossEntropy, Op.AdamW, Op.LeakyRelu, Op.HyperEncoding,
        Op.RmsNorm, Op.Rope, Op.SwiGlu, Op.GroupedQueryAttention, Op.GroupedQueryAttentionKv,
    ];

    /// <inheritdoc />
    public virtual bool Supports(Op op) => HostOps.Contains(op);

    /// <inheritdoc />
    public DeviceBuffer Allocate(long length) => new HostBuffer(length);

    /// <summary>The floats of a view, which must belong to a host buffer.</summary>
    protected static Span<float> S(TensorView view)
    {
        if (view.IsEmpty) return Span<float>.Empty;
        if (view.Buffer is not HostBuffer host)
            throw new ArgumentException($"a {view.Buffer.GetType().Name} was passed to a host backend");
        return host.Span(view.Offset, view.Length);
    }

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> source, TensorView destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"upload of {source.Length} floats into a view of {destination.Length}");
        source.CopyTo(S(destination));
    }

    /// <inheritdoc />
    public void Download(TensorView source, Span<float> destination)
    {
        if (destination.Length != source.Length)
            throw new ArgumentException($"download of a view of {source.Length} floats into {destination.Length}");
        S(source).CopyTo(destination);
    }

    /// <inheritdoc />
    public void Zero(TensorView view) => S(view).Clear();

    /// <inheritdoc />
    public void Copy(TensorView source, TensorView destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"copy of {source.Length} floats into a view of {destination.Length}");
        S(source).CopyTo(S(destination));
    }

    /// <inheritdoc />
    /// <remarks>Nothing to wait for: every op has finished when its call returns.</remarks>
    public void Synchronize() { }

    /// <inheritdoc />
    public abstract double SumOfSquares(TensorView view);
    /// <inheritdoc />
    public abstract void EncoderForward(TensorView output, ReadOnlySpan<int> tokens, TensorView wte, TensorView wpe, int B, int T, int C);
    /// <inheritdoc />
    public abstract void EncoderBackward(TensorView dwte, TensorView dwpe, TensorView dout, ReadOnlySpan<int> tokens, int B, int T, int C);
    /// <inheritdoc />
    public abstract void LayerNormForward(TensorView output, TensorView mean, TensorView rstd, TensorView input, TensorView weight, TensorView bias, int N, int C, float eps);
    /// <inheritdoc />
    public abstract void LayerNormBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, TensorView mean, TensorView rstd, int N, int C);
    /// <inheritdoc />
    public abstract void MatmulForward(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC);
    /// <inheritdoc />
    public abstract void MatmulBackward(TensorView dinp, TensorView dweight, TensorView dbias, TensorView dout, TensorView input, TensorView weight, int N, int C, int OC);
    /// <inheritdoc />
    public abstract void AttentionForward(TensorView output, TensorView lse, TensorView qkv, int B, int T, int C, int NH, bool causal);
    /// <inheritdoc />
    public abstract void AttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, int B, int T, int C, int NH, bool causal);
    /// <inheritdoc />
    public abstract void AttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, int B, int Tq, int pos, int maxT, int C, int NH);
    /// <inheritdoc />
    public abstract void GeluForward(TensorView output, TensorView input, int N);
    /// <inheritdoc />
    public abstract void GeluBackward(TensorView dinp, TensorView input, TensorView dout, int N);
    /// <inheritdoc />
    public abstract void LeakyReluForward(TensorView output, TensorView input, float slope, int N);
    /// <inheritdoc />
    public abstract void LeakyReluBackward(TensorView dinp, TensorView input, TensorView dout, float slope, int N);

    /// <inheritdoc />
    public void HyperEncodingForward(TensorView output, ReadOnlySpan<float> gamma, Hyper.Kernels.Reference.HyperEncodingKind kind, int N, int D)
        => Hyper.Kernels.Reference.HyperEncoding.Forward(S(output), gamma, kind, N, D);

    /// <inheritdoc />
    public abstract void ResidualForward(TensorView output, TensorView a, TensorView b, int N);
    /// <inheritdoc />
    public abstract void ResidualBackward(TensorView da, TensorView db, TensorView dout, int N);
    /// <inheritdoc />
    public abstract void SoftmaxCrossEntropyForward(TensorView losses, TensorView probs, TensorView logits, ReadOnlySpan<int> targets, int N, int V, int Vp);
    /// <inheritdoc />
    public abstract void SoftmaxCrossEntropyBackward(TensorView dlogits, TensorView probs, ReadOnlySpan<int> targets, float dloss, int N, int V, int Vp);
    /// <inheritdoc />
    public abstract void AdamWUpdate(TensorView parameters, TensorView m, TensorView v, TensorView grads, float lr, float beta1, float beta2, float eps, float weightDecay, int step, float gradScale);

    // The Llama-family ops: the reference kernels straight on the host spans. CpuBackend overrides
    // the ones it has SIMD kernels for; ReferenceBackend keeps these.

    /// <inheritdoc />
    public virtual void RmsNormForward(TensorView output, TensorView rstd, TensorView input, TensorView weight, int N, int C, float eps)
        => Ref.RmsNorm.Forward<float>(S(output), S(rstd), S(input), S(weight), N, C, eps);

    /// <inheritdoc />
    public virtual void RmsNormBackward(TensorView dinp, TensorView dweight, TensorView dout, TensorView input, TensorView weight, TensorView rstd, int N, int C)
        => Ref.RmsNorm.Backward<float>(S(dinp), S(dweight), S(dout), S(input), S(weight), S(rstd), N, C);

    /// <inheritdoc />
    public virtual void RopeForward(TensorView output, TensorView input, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
        => Ref.Rope.Forward<float>(S(output), S(input), S(cos), S(sin), B, T, H, hs, pos0);

    /// <inheritdoc />
    public virtual void RopeBackward(TensorView dinp, TensorView dout, TensorView cos, TensorView sin, int B, int T, int H, int hs, int pos0)
        => Ref.Rope.Backward<float>(S(dinp), S(dout), S(cos), S(sin), B, T, H, hs, pos0);

    /// <inheritdoc />
    public virtual void SwiGluForward(TensorView output, TensorView gate, TensorView up, int N)
        => Ref.SwiGlu.Forward<float>(S(output), S(gate), S(up), N);

    /// <inheritdoc />
    public virtual void SwiGluBackward(TensorView dgate, TensorView dup, TensorView dout, TensorView gate, TensorView up, int N)
        => Ref.SwiGlu.Backward<float>(S(dgate), S(dup), S(dout), S(gate), S(up), N);

    /// <inheritdoc />
    public virtual void GroupedQueryAttentionForward(TensorView output, TensorView lse, TensorView q, TensorView k, TensorView v, int B, int T, int NH, int NKV, int hs)
        => Ref.GroupedQueryAttention.Forward<float>(S(output), S(lse), S(q), S(k), S(v), B, T, NH, NKV, hs);

    /// <inheritdoc />
    public virtual void GroupedQueryAttentionBackward(TensorView dq, TensorView dk, TensorView dv, TensorView dout, TensorView q, TensorView k, TensorView v,
        TensorView output, TensorView lse, int B, int T, int NH, int NKV, int hs)
        => Ref.GroupedQueryAttention.Backward<float>(S(dq), S(dk), S(dv), S(dout), S(q), S(k), S(v), S(output), S(lse), B, T, NH, NKV, hs);

    /// <inheritdoc />
    public virtual void GroupedQueryAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView q, TensorView k, TensorView v,
        int B, int Tq, int pos, int maxT, int NH, int NKV, int hs)
        => Ref.GroupedQueryAttention.KvForward<float>(S(output), S(kCache), S(vCache), S(q), S(k), S(v), B, Tq, pos, maxT, NH, NKV, hs);

    /// <inheritdoc />
    public void Dispose() => GC.SuppressFinalize(this);
}
