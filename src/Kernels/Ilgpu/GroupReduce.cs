using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// Tree reductions across one thread group through shared memory, the building block of the
/// row-per-group kernels (layernorm, softmax, sum of squares). Every thread of the group must
/// call them (they contain barriers), and the group size must be a power of two no larger than
/// <see cref="MaxGroupSize"/>. Only shared memory and barriers are used, no warp shuffles, so the
/// result does not depend on the device's warp size and the CPU accelerator runs them as-is.
/// </summary>
public static class GroupReduce
{
    /// <summary>The largest group the reductions' shared scratch is sized for.</summary>
    public const int MaxGroupSize = 256;

    /// <summary>The sum of <paramref name="value"/> over the group, returned to every thread.</summary>
    public static float Sum(ArrayView<float> scratch, float value)
    {
        int tid = Group.IdxX;
        scratch[tid] = value;
        Group.Barrier();
        for (int stride = Group.DimX / 2; stride > 0; stride /= 2)
        {
            if (tid < stride) scratch[tid] += scratch[tid + stride];
            Group.Barrier();
        }
        float result = scratch[0];
        // A second reduction may reuse the scratch: nobody may write it before all have read.
        Group.Barrier();
        return result;
    }

    /// <summary>The maximum of <paramref name="value"/> over the group, returned to every thread.</summary>
    public static float Max(ArrayView<float> scratch, float value)
    {
        int tid = Group.IdxX;
        scratch[tid] = value;
        Group.Barrier();
        for (int stride = Group.DimX / 2; stride > 0; stride /= 2)
        {
            if (tid < stride) scratch[tid] = MathF.Max(scratch[tid], scratch[tid + stride]);
            Group.Barrier();
        }
        float result = scratch[0];
        Group.Barrier();
        return result;
    }

    /// <summary>The sum of <paramref name="value"/> over the group in double, returned to every thread.</summary>
    public static double Sum(ArrayView<double> scratch, double value)
    {
        int tid = Group.IdxX;
        scratch[tid] = value;
        Group.Barrier();
        for (int stride = Group.DimX / 2; stride > 0; stride /= 2)
        {
            if (tid < stride) scratch[tid] += scratch[tid + stride];
            Group.Barrier();
        }
        double result = scratch[0];
        Group.Barrier();
        return result;
    }
}
