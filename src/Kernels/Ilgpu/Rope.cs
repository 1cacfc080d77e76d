using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// Rotary position embedding (rotate-half) as ILGPU kernels: a grid-stride loop over the
/// B·T·H·hs/2 pairs; same layouts and formulas as <see cref="Reference.Rope"/>: x/out/dinp[B,T,H,hs],
/// cos/sin[P, hs/2], token t at position pos0 + t. Each pair is read before it is written by the
/// same thread, so out may be x.
/// </summary>
public static class Rope
{
    /// <summary>out = rotate(x): out₁ = x₁·cos − x₂·sin, out₂ = x₂·cos + x₁·sin.</summary>
    public static void Forward(ArrayView<float> output, ArrayView<float> input, ArrayView<float> cos, ArrayView<float> sin, int T, int H, int hs, int pos0)
    {
        int half = hs / 2, pairs = output.IntLength / 2;
        for (int e = Grid.GlobalIndex.X; e < pairs; e += GridStride.Step)
        {
            int r = e / half, i = e % half, at = r * hs + i;
            int p = (pos0 + r / H % T) * half + i;
            float c = cos[p], s = sin[p], x1 = input[at], x2 = input[at + half];
            output[at] = x1 * c - x2 * s;
            output[at + half] = x2 * c + x1 * s;
        }
    }

    /// <summary>dinp += rotateᵀ(dout), the rotation by −θ.</summary>
    public static void Backward(ArrayView<float> dinp, ArrayView<float> dout, ArrayView<float> cos, ArrayView<float> sin, int T, int H, int hs, int pos0)
    {
        int half = hs / 2, pairs = dinp.IntLength / 2;
        for (int e = Grid.GlobalIndex.X; e < pairs; e += GridStride.Step)
        {
            int r = e / half, i = e % half, at = r * hs + i;
            int p = (pos0 + r / H % T) * half + i;
            float c = cos[p], s = sin[p], g1 = dout[at], g2 = dout[at + half];
            dinp[at] += g1 * c + g2 * s;
            dinp[at + half] += g2 * c - g1 * s;
        }
    }
}
