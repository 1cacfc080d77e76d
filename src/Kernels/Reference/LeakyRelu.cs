using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// Leaky ReLU: out = x for x &gt; 0, slope·x otherwise. The hypernetwork's activation: it is
/// positively homogeneous (f(a·x) = a·f(x) for a &gt; 0), which is what makes a plain
/// hypernetwork's output scale with its input and what Magnitude Invariant Parametrization fixes.
/// </summary>
public static class LeakyRelu
{
    /// <summary>out[n] = inp[n] &gt; 0 ? inp[n] : slope·inp[n] (overwrites; out may be the same memory as inp).</summary>
    public static void Forward<TNum>(Span<TNum> output, ReadOnlySpan<TNum> input, TNum slope, int N)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        for (int i = 0; i < N; i++)
        {
            TNum x = input[i];
            output[i] = x > TNum.Zero ? x : slope * x;
        }
    }

    /// <summary>
    /// dinp[n] += (inp[n] &gt; 0 ? 1 : slope)·dout[n] (accumulates). At exactly 0 the slope side is
    /// taken, as PyTorch does.
    /// </summary>
    public static void Backward<TNum>(Span<TNum> dinp, ReadOnlySpan<TNum> input, ReadOnlySpan<TNum> dout, TNum slope, int N)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        for (int i = 0; i < N; i++)
            dinp[i] += input[i] > TNum.Zero ? dout[i] : slope * dout[i];
    }
}
