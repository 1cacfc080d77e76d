using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// RMS normalisation as ILGPU kernels: one thread group per row, its threads striding over the
/// channels and combining their partial sums with <see cref="GroupReduce"/>. Same formulas as
/// <see cref="Reference.RmsNorm"/>: input/out/dinp[N,C], weight/dweight[C], rstd[N].
/// </summary>
public static class RmsNorm
{
    /// <summary>
    /// out[n,:] = inp[n,:]·rstd[n]·weight, rstd[n] = 1/√(mean(x²) + eps) stored (out may be inp: each
    /// element is read and written by one thread, after the row's sum). Grid: N groups; group: a power of two.
    /// </summary>
    public static void Forward(ArrayView<float> output, ArrayView<float> rstd, ArrayView<float> input, ArrayView<float> weight, int C, float eps)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int row = Grid.IdxX * C, tid = Group.IdxX, step = Group.DimX;
        float sq = 0;
        for (int c = tid; c < C; c += step) sq += input[row + c] * input[row + c];
        float s = 1f / MathF.Sqrt(GroupReduce.Sum(scratch, sq) / C + eps);
        for (int c = tid; c < C; c += step) output[row + c] = input[row + c] * s * weight[c];
        if (Group.IsFirstThread) rstd[Grid.IdxX] = s;
    }

    /// <summary>
    /// dinp[n,:] += rstd·(g − x̂·mean(g·x̂)) with g = weight·dout and x̂ = x·rstd.
    /// Grid: N groups; group: a power of two.
    /// </summary>
    public static void BackwardInput(ArrayView<float> dinp, ArrayView<float> dout, ArrayView<float> input, ArrayView<float> weight,
        ArrayView<float> rstd, int C)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int n = Grid.IdxX, row = n * C, tid = Group.IdxX, step = Group.DimX;
        float s = rstd[n];
        float gx = 0;
        for (int c = tid; c < C; c += step) gx += weight[c] * dout[row + c] * input[row + c] * s;
        float gxMean = GroupReduce.Sum(scratch, gx) / C;
        for (int c = tid; c < C; c += step)
            dinp[row + c] += (weight[c] * dout[row + c] - input[row + c] * s * gxMean) * s;
    }

    /// <summary>
    /// dweight[c] += Σₙ dout[n,c]·x̂[n,c]: one thread per channel walking the rows in order; a
    /// grid-stride loop over C.
    /// </summary>
    public static void BackwardWeight(ArrayView<float> dweight, ArrayView<float> dout, ArrayView<float> input, ArrayView<float> rstd, int N, int C)
    {
        for (int c = Grid.GlobalIndex.X; c < C; c += GridStride.Step)
        {
            float dw = 0;
            for (int n = 0; n < N; n++) dw += dout[n * C + c] * (input[n * C + c] * rstd[n]);
            dweight[c] += dw;
        }
    }
}
