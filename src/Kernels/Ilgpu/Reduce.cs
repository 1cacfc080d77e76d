using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>Whole-tensor reductions (gradient-norm clipping) as ILGPU kernels.</summary>
public static class Reduce
{
    /// <summary>
    /// One double partial sum of squares per group: the grid's threads stride over x (so any
    /// grid size covers any length), each accumulating in double, then the group adds its
    /// threads' sums. The host adds the few partials, also in double, which keeps the result
    /// within rounding of the reference's sequential double sum. Grid: any number of groups;
    /// group: a power of two up to <see cref="GroupReduce.MaxGroupSize"/>; partials[gridDim].
    /// </summary>
    public static void SumOfSquares(ArrayView<double> partials, ArrayView<float> x)
    {
        var scratch = SharedMemory.Allocate<double>(GroupReduce.MaxGroupSize);
        double sum = 0;
        for (long i = Grid.GlobalIndex.X; i < x.Length; i += (long)Grid.DimX * Group.DimX)
        {
            double d = x[i];
            sum += d * d;
        }
        double total = GroupReduce.Sum(scratch, sum);
        if (Group.IsFirstThread) partials[Grid.IdxX] = total;
    }
}
