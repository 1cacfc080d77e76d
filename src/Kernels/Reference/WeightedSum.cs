using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// One term of a weighted sum of tensors, out = Σₖ wₖ·xₖ, built term by term so that a merge
/// holds one input tensor at a time: <see cref="Scale"/> writes the first term, then
/// <see cref="Accumulate"/> adds each further one with a fused multiply-add (one rounding per
/// term). The readable truth for model merging (soups, task vectors).
/// </summary>
public static class WeightedSum
{
    /// <summary>out[n] = w·x[n] (overwrites; out may be the same memory as x).</summary>
    public static void Scale<TNum>(Span<TNum> output, ReadOnlySpan<TNum> x, TNum w, int N)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        for (int i = 0; i < N; i++) output[i] = w * x[i];
    }

    /// <summary>out[n] = fma(w, x[n], out[n]) (accumulates; out may be the same memory as x).</summary>
    public static void Accumulate<TNum>(Span<TNum> output, ReadOnlySpan<TNum> x, TNum w, int N)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        for (int i = 0; i < N; i++) output[i] = TNum.FusedMultiplyAdd(w, x[i], output[i]);
    }
}
