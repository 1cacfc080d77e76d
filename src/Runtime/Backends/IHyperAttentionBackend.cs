using Hyper.Kernels.Reference;

namespace Hyper.Runtime.Backends;

/// <summary>
/// A backend that also runs HyperAttention (LSH-sorted blocks plus sampled keys, causal recursion)
/// for the layers of a model that use it. Same layouts as <see cref="IBackend.AttentionForward"/>;
/// the plan fixes everything random, so the backward is the exact gradient of the forward.
/// </summary>
public interface IHyperAttentionBackend
{
    /// <summary>out[B,T,C] and lse[B,NH,T] of HyperAttention on qkv[B,T,3C] under <paramref name="plan"/>.</summary>
    void HyperAttentionForward(TensorView output, TensorView lse, TensorView qkv, HyperAttentionPlan plan, int B, int T, int C, int NH);

    /// <summary>dqkv[B,T,3C] += the exact gradient of <see cref="HyperAttentionForward"/> for the same plan.</summary>
    void HyperAttentionBackward(TensorView dqkv, TensorView dout, TensorView qkv, TensorView output, TensorView lse, HyperAttentionPlan plan, int B, int T, int C, int NH);

    /// <summary>
    /// Decoding: like <see cref="IBackend.AttentionKvForward"/>, but the queries attend under
    /// HyperAttention's decode rule (see <see cref="Hyper.Kernels.Reference.HyperAttentionKv"/>), with
    /// the layer's hyperplanes and bucket-ordered keys in <paramref name="state"/>.
    /// </summary>
    void HyperAttentionKvForward(TensorView output, TensorView kCache, TensorView vCache, TensorView qkv, HyperAttentionKvState state,
        int B, int Tq, int pos, int maxT, int C, int NH);
}
