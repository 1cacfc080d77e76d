using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// Token plus position embedding as ILGPU kernels. Layouts as <see cref="Reference.Encoder"/>;
/// token ids are already on the device and already checked to lie in [0, V).
/// </summary>
public static class Encoder
{
    /// <summary>out[b,t,c] = wte[tokens[b,t],c] + wpe[t,c]. Grid: B·T·C.</summary>
    public static void Forward(Index1D i, ArrayView<float> output, ArrayView<int> tokens, ArrayView<float> wte, ArrayView<float> wpe, int T, int C)
    {
        int bt = i / C, c = i % C;
        output[i] = wte[tokens[bt] * C + c] + wpe[bt % T * C + c];
    }

    /// <summary>
    /// dwte[tokens[b,t],c] += dout[b,t,c]. Grid: B·T·C. Rows of a repeated token collide, so they
    /// are added atomically: the sum is exact up to the order of float additions, which varies.
    /// </summary>
    public static void BackwardWte(Index1D i, ArrayView<float> dwte, ArrayView<float> dout, ArrayView<int> tokens, int C)
    {
        int bt = i / C, c = i % C;
        Atomic.Add(ref dwte[tokens[bt] * C + c], dout[i]);
    }

    /// <summary>dwpe[t,c] += Σ_b dout[b,t,c], summed in batch order by one thread per (t, c). Grid: T·C.</summary>
    public static void BackwardWpe(Index1D i, ArrayView<float> dwpe, ArrayView<float> dout, int B, int T, int C)
    {
        float sum = 0;
        for (int b = 0; b < B; b++) sum += dout[b * T * C + i];
        dwpe[i] += sum;
    }
}
