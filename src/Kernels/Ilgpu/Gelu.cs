using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// GELU, tanh approximation, as ILGPU kernels (grid-stride loops over the N elements); same
/// constants and formula as <see cref="Reference.Gelu"/>.
/// </summary>
public static class Gelu
{
    // √(2/π) to float precision (the reference computes it in TNum; they agree within an ulp).
    private const float K = 0.7978845608f;
    private const float A = 0.044715f;

    /// <summary>out[n] = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).</summary>
    public static void Forward(ArrayView<float> output, ArrayView<float> input)
    {
        for (int n = Grid.GlobalIndex.X; n < output.IntLength; n += GridStride.Step)
        {
            float x = input[n];
            float u = K * (x + A * x * x * x);
            output[n] = 0.5f * x * (1f + Tanh(u));
        }
    }

    /// <summary>dinp[n] += gelu'(inp[n])·dout[n].</summary>
    public static void Backward(ArrayView<float> dinp, ArrayView<float> input, ArrayView<float> dout)
    {
        for (int n = Grid.GlobalIndex.X; n < dinp.IntLength; n += GridStride.Step)
        {
            float x = input[n];
            float u = K * (x + A * x * x * x);
            float th = Tanh(u);
            float du = K * (1f + 3f * A * x * x);
            float grad = 0.5f * (1f + th) + 0.5f * x * (1f - th * th) * du;
            dinp[n] += grad * dout[n];
        }
    }

    /// <summary>
    /// tanh through one exp, which every ILGPU backend has: 1 − 2/(e^{2u} + 1) saturates cleanly
    /// to ±1 (e^{2u} overflowing to ∞ gives 1, underflowing to 0 gives −1) and is within a few
    /// float ulps of tanh where it matters for GELU (its absolute error is what reaches the output).
    /// </summary>
    private static float Tanh(float u) => 1f - 2f / (MathF.Exp(2f * u) + 1f);
}
