using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>The residual connection as ILGPU kernels: grid-stride loops over the N elements (any launch size).</summary>
public static class Residual
{
    /// <summary>out[n] = a[n] + b[n] (out may alias a or b: each thread reads before it writes its own element).</summary>
    public static void Forward(ArrayView<float> output, ArrayView<float> a, ArrayView<float> b)
    {
        for (int n = Grid.GlobalIndex.X; n < output.IntLength; n += GridStride.Step) output[n] = a[n] + b[n];
    }

    /// <summary>da[n] += dout[n]; db[n] += dout[n].</summary>
    public static void Backward(ArrayView<float> da, ArrayView<float> db, ArrayView<float> dout)
    {
        for (int n = Grid.GlobalIndex.X; n < dout.IntLength; n += GridStride.Step)
        {
            float g = dout[n];
            da[n] += g;
            db[n] += g;
        }
    }
}
