using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>The residual connection: elementwise sum of two tensors of N values. The readable truth.</summary>
public static class Residual
{
    /// <summary>out[n] = a[n] + b[n] (overwrites; out may be the same memory as a or b).</summary>
    public static void Forward<TNum>(Span<TNum> output, ReadOnlySpan<TNum> a, ReadOnlySpan<TNum> b, int N)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        for (int i = 0; i < N; i++) output[i] = a[i] + b[i];
    }

    /// <summary>da[n] += dout[n]; db[n] += dout[n] (accumulates).</summary>
    public static void Backward<TNum>(Span<TNum> da, Span<TNum> db, ReadOnlySpan<TNum> dout, int N)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        for (int i = 0; i < N; i++)
        {
            da[i] += dout[i];
            db[i] += dout[i];
        }
    }
}
