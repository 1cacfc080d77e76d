using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// SwiGLU as ILGPU kernels (grid-stride loops over the N elements); same formulas as
/// <see cref="Reference.SwiGlu"/>: out = silu(gate)·up, silu(g) = g·σ(g).
/// </summary>
public static class SwiGlu
{
    /// <summary>out[n] = gate[n]/(1 + e^(−gate[n]))·up[n] (out may be gate or up).</summary>
    public static void Forward(ArrayView<float> output, ArrayView<float> gate, ArrayView<float> up)
    {
        for (int n = Grid.GlobalIndex.X; n < output.IntLength; n += GridStride.Step)
        {
            float g = gate[n];
            output[n] = g / (1f + MathF.Exp(-g)) * up[n];
        }
    }

    /// <summary>dgate[n] += dout·up·σ·(1 + g·(1 − σ)); dup[n] += dout·g·σ.</summary>
    public static void Backward(ArrayView<float> dgate, ArrayView<float> dup, ArrayView<float> dout, ArrayView<float> gate, ArrayView<float> up)
    {
        for (int n = Grid.GlobalIndex.X; n < dgate.IntLength; n += GridStride.Step)
        {
            float g = gate[n], d = dout[n];
            float s = 1f / (1f + MathF.Exp(-g));
            dgate[n] += d * up[n] * s * (1f + g * (1f - s));
            dup[n] += d * g * s;
        }
    }
}
