using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// Layer normalisation as ILGPU kernels: one thread group per row, its threads striding over the
/// channels and combining their partial sums with <see cref="GroupReduce"/>. Same two-pass
/// statistics and backward formula as <see cref="Reference.LayerNorm"/>.
/// </summary>
public static class LayerNorm
{
    /// <summary>
    /// out[n,:] = (inp[n,:] − mean)·rstd·weight + bias, mean[n] and rstd[n] stored.
    /// Grid: N groups; group: a power of two.
    /// </summary>
    public static void Forward(ArrayView<float> output, ArrayView<float> mean, ArrayView<float> rstd, ArrayView<float> input,
        ArrayView<float> weight, ArrayView<float> bias, int C, float eps)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int row = Grid.IdxX * C, tid = Group.IdxX, step = Group.DimX;
        float sum = 0;
        for (int c = tid; c < C; c += step) sum += input[row + c];
        float m = GroupReduce.Sum(scratch, sum) / C;
        // Squared deviations from the mean, not E[x²] − E[x]²: see the reference.
        float sq = 0;
        for (int c = tid; c < C; c += step)
        {
            float d = input[row + c] - m;
            sq += d * d;
        }
        float s = 1f / MathF.Sqrt(GroupReduce.Sum(scratch, sq) / C + eps);
        for (int c = tid; c < C; c += step)
            output[row + c] = (input[row + c] - m) * s * weight[c] + bias[c];
        if (Group.IsFirstThread)
        {
            mean[Grid.IdxX] = m;
            rstd[Grid.IdxX] = s;
        }
    }

    /// <summary>
    /// dinp[n,:] += rstd·(g − mean(g) − x̂·mean(g·x̂)) with g = weight·dout and x̂ = (x − mean)·rstd.
    /// Grid: N groups; group: a power of two.
    /// </summary>
    public static void BackwardInput(ArrayView<float> dinp, ArrayView<float> dout, ArrayView<float> input, ArrayView<float> weight,
        ArrayView<float> mean, ArrayView<float> rstd, int C)
    {
        var scratch = SharedMemory.Allocate<float>(GroupReduce.MaxGroupSize);
        int n = Grid.IdxX, row = n * C, tid = Group.IdxX, step = Group.DimX;
        float m = mean[n], s = rstd[n];
        float gSum = 0, gxSum = 0;
        for (int c = tid; c < C; c += step)
        {
            float xhat = (input[row + c] - m) * s;
            float g = weight[c] * dout[row + c];
            gSum += g;
            gxSum += g * xhat;
        }
        float gMean = GroupReduce.Sum(scratch, gSum) / C;
        float gxMean = GroupReduce.Sum(scratch, gxSum) / C;
        for (int c = tid; c < C; c += step)
        {
            float xhat = (input[row + c] - m) * s;
            float g = weight[c] * dout[row + c];
            dinp[row + c] += (g - gMean - xhat * gxMean) * s;
        }
    }

    /// <summary>
    /// dweight[c] += Σₙ dout[n,c]·x̂[n,c]; dbias[c] += Σₙ dout[n,c]: one thread per channel walking
    /// the rows in order (neighbouring threads read neighbouring floats of a row); a grid-stride loop over C.
    /// </summary>
    public static void BackwardParameters(ArrayView<float> dweight, ArrayView<float> dbias, ArrayView<float> dout,
        ArrayView<float> input, ArrayView<float> mean, ArrayView<float> rstd, int N, int C)
    {
        for (int c = Grid.GlobalIndex.X; c < C; c += GridStride.Step)
        {
            float dw = 0, db = 0;
            for (int n = 0; n < N; n++)
            {
                float dy = dout[n * C + c];
                dw += (input[n * C + c] - mean[n]) * rstd[n] * dy;
                db += dy;
            }
            dweight[c] += dw;
            dbias[c] += db;
        }
    }
}
