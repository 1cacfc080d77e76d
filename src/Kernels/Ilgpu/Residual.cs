using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>The residual connection as ILGPU kernels, one thread per element (grid: N).</summary>
public static class Residual
{
    /// <summary>out[n] = a[n] + b[n] (out may alias a or b: each thread reads before it writes its own element).</summary>
    public static void Forward(Index1D n, ArrayView<float> output, ArrayView<float> a, ArrayView<float> b)
        => output[n] = a[n] + b[n];

    /// <summary>da[n] += dout[n]; db[n] += dout[n].</summary>
    public static void Backward(Index1D n, ArrayView<float> da, ArrayView<float> db, ArrayView<float> dout)
    {
        float g = dout[n];
        da[n] += g;
        db[n] += g;
    }
}
