using Ref = Hyper.Kernels.Reference;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Exact multi-head attention on the CPU, flash-style: tiled, online softmax, no T×T matrix in
/// the forward or the backward (per-thread scratch is O(64·hs) whatever T is), all cores.
/// Same contract and layouts as <see cref="Ref.Attention"/>: qkv[B,T,3C] (q, k, v per token,
/// head h in channels [h·hs, (h+1)·hs) of each, hs = C/NH), out[B,T,C], lse[B,NH,T] = log Σⱼ exp(sᵢⱼ)
/// with sᵢⱼ = qᵢ·kⱼ/√hs; causal: key j visible to query i iff j ≤ i.
/// <para>
/// Results are deterministic (bit-identical run to run): every output element is produced by
/// one parallel item, whose summation order depends on the shape only.
/// </para>
/// </summary>
public static unsafe partial class Attention
{
    /// <summary>out[B,T,C] and lse[B,NH,T] (both overwritten) from qkv[B,T,3C], with the flash kernel.</summary>
    public static void Forward(Span<float> output, Span<float> lse, ReadOnlySpan<float> qkv,
        int B, int T, int C, int NH, bool causal)
        => Forward(AttentionVariant.Flash, output, lse, qkv, B, T, C, NH, causal);

    /// <summary>out[B,T,C] and lse[B,NH,T] (both overwritten) from qkv[B,T,3C], with the chosen <paramref name="variant"/>.</summary>
    public static void Forward(AttentionVariant variant, Span<float> output, Span<float> lse, ReadOnlySpan<float> qkv,
        int B, int T, int C, int NH, bool causal)
    {
        Ref.Attention.CheckShapes(output.Length, lse.Length, qkv.Length, B, T, C, NH);
        if (B == 0 || T == 0) return;
        fixed (float* o = output, l = lse, x = qkv)
        {
            switch (variant)
            {
                case AttentionVariant.Naive: AttentionNaive.Forward(o, l, x, B, T, C, NH, causal); break;
                case AttentionVariant.Flash: AttentionFlash.Forward(o, l, x, B, T, C, NH, causal); break;
                default: throw new ArgumentOutOfRangeException(nameof(variant), variant, "unknown attention variant");
            }
        }
    }

    /// <summary>
    /// dqkv[B,T,3C] += the gradients w.r.t. q, k and v, given dout[B,T,C] and the forward's qkv,
    /// out and lse (FlashAttention-2 backward: probabilities recomputed per tile from lse,
    /// Dᵢ = doutᵢ·outᵢ, dS = P∘(dP − D)).
    /// </summary>
    public static void Backward(Span<float> dqkv, ReadOnlySpan<float> dout, ReadOnlySpan<float> qkv,
        ReadOnlySpan<float> output, ReadOnlySpan<float> lse, int B, int T, int C, int NH, bool causal)
        => Backward(AttentionBackwardScheme.Auto, dqkv, dout, qkv, output, lse, B, T, C, NH, causal);

    /// <summary><see cref="Backward(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, int, bool)"/> with the work split forced.</summary>
    internal static void Backward(AttentionBackwardScheme scheme, Span<float> dqkv, ReadOnlySpan<float> dout, ReadOnlySpan<float> qkv,
        ReadOnlySpan<float> output, ReadOnlySpan<float> lse, int B, int T, int C, int NH, bool causal)
    {
        Ref.Attention.CheckShapes(output.Length, lse.Length, qkv.Length, B, T, C, NH);
        Ref.Attention.CheckBackwardShapes(dqkv.Length, dout.Length, B, T, C);
        if (B == 0 || T == 0) return;
        bool fused = scheme switch
        {
            AttentionBackwardScheme.Fused => true,
            AttentionBackwardScheme.TwoPass => false,
            _ => B * NH >= AttentionFlash.FusedMinHeads,
        };
        fixed (float* dx = dqkv, g = dout, x = qkv, o = output, l = lse)
            AttentionFlash.Backward(dx, g, x, o, l, B, T, C, NH, causal, fused);
    }
}
