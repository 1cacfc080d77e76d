using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>Whole-tensor reductions (gradient-norm clipping). The readable truth.</summary>
public static class Reduce
{
    /// <summary>Σ x[i]², each term widened to double and summed in double in index order.</summary>
    public static double SumOfSquares<TNum>(ReadOnlySpan<TNum> x) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        double sum = 0;
        foreach (TNum value in x)
        {
            double d = double.CreateChecked(value);
            sum += d * d;
        }
        return sum;
    }
}
