using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// The magnitude mask of Model Breadcrumbs, per tensor: of N values, the <c>dropBottom</c> smallest
/// and the <c>dropTop</c> largest in magnitude are set to 0 and the rest are kept as they are. The
/// order is by |x| (NaN counts as the largest), ties broken by index, so the kept count is exactly
/// N − dropTop − dropBottom whatever the values. The readable truth: sort, then keep a rank range.
/// </summary>
public static class MagnitudeMask
{
    /// <summary>
    /// How many values a fraction drops: round(beta·N) of the largest and round(gamma·N) of the
    /// smallest (nearest integer, halves to even), so the kept fraction is within 1/N of 1 − beta − gamma.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A fraction outside [0, 1], or N negative.</exception>
    public static (int DropTop, int DropBottom) Counts(int N, double topBeta, double bottomGamma)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        if (!(topBeta >= 0 && topBeta <= 1)) throw new ArgumentOutOfRangeException(nameof(topBeta), topBeta, "the top fraction must be in [0, 1]");
        if (!(bottomGamma >= 0 && bottomGamma <= 1)) throw new ArgumentOutOfRangeException(nameof(bottomGamma), bottomGamma, "the bottom fraction must be in [0, 1]");
        int top = (int)Math.Round(topBeta * N, MidpointRounding.ToEven);
        int bottom = (int)Math.Round(bottomGamma * N, MidpointRounding.ToEven);
        return (top, Math.Min(bottom, N - top));
    }

    /// <summary>
    /// out[n] = x[n] when the rank of |x[n]| is in [dropBottom, N − dropTop), else 0; returns the
    /// number kept (out may be the same memory as x).
    /// </summary>
    public static int Forward<TNum>(Span<TNum> output, ReadOnlySpan<TNum> x, int dropTop, int dropBottom, int N)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        ArgumentOutOfRangeException.ThrowIfNegative(dropTop);
        ArgumentOutOfRangeException.ThrowIfNegative(dropBottom);
        var values = x[..N].ToArray();
        var order = Enumerable.Range(0, N).ToArray();
        Array.Sort(order, (i, j) =>
        {
            int c = CompareMagnitude(values[i], values[j]);
            return c != 0 ? c : i.CompareTo(j);
        });
        int kept = 0;
        for (int rank = 0; rank < N; rank++)
        {
            int i = order[rank];
            bool keep = rank >= dropBottom && rank < N - dropTop;
            output[i] = keep ? values[i] : TNum.Zero;
            if (keep) kept++;
        }
        return kept;
    }

    private static int CompareMagnitude<TNum>(TNum a, TNum b) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        if (TNum.IsNaN(a)) return TNum.IsNaN(b) ? 0 : 1;
        if (TNum.IsNaN(b)) return -1;
        return TNum.Abs(a).CompareTo(TNum.Abs(b));
    }
}
