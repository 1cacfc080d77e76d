using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// Token plus position embedding as ILGPU kernels. Layouts as <see cref="Reference.Encoder"/>;
/// token ids are already on the device and already checked to lie in [0, V).
/// </summary>
public static class Encoder
{
    /// <summary>out[b,t,c] = wte[tokens[b,t],c] + wpe[t,c], a grid-stride loop over out.</summary>
    public static void Forward(ArrayView<float> output, ArrayView<int> tokens, ArrayView<float> wte, ArrayView<float> wpe, int T, int C)
    {
        for (int i = Grid.GlobalIndex.X; i < output.IntLength; i += GridStride.Step)
        {
            int bt = i / C, c = i % C;
            output[i] = wte[tokens[bt] * C + c] + wpe[bt % T * C + c];
        }
    }

    /// <summary>
    /// dwte[tokens[b,t],c] += dout[b,t,c], a grid-stride loop over dout. Rows of a repeated token
    /// collide, so they are added atomically: the sum is exact up to the order of float additions,
    /// which varies from run to run.
    /// </summary>
    public static void BackwardWte(ArrayView<float> dwte, ArrayView<float> dout, ArrayView<int> tokens, int C)
    {
        for (int i = Grid.GlobalIndex.X; i < dout.IntLength; i += GridStride.Step)
            Atomic.Add(ref dwte[tokens[i / C] * C + i % C], dout[i]);
    }

    /// <summary>dwpe[t,c] += Σ_b dout[b,t,c], summed in batch order by one thread per (t, c) of a grid-stride loop over T·C.</summary>
    public static void BackwardWpe(ArrayView<float> dwpe, ArrayView<float> dout, int B, int T, int C)
    {
        for (int i = Grid.GlobalIndex.X; i < T * C; i += GridStride.Step)
        {
            float sum = 0;
            for (int b = 0; b < B; b++) sum += dout[b * T * C + i];
            dwpe[i] += sum;
        }
    }
}
