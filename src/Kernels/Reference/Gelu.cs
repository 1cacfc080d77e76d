using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// GELU, tanh approximation (GPT-2's, PyTorch's <c>approximate='tanh'</c>):
/// gelu(x) = ½·x·(1 + tanh(u)), u = √(2/π)·(x + 0.044715·x³). The readable truth for faster GELUs.
/// </summary>
public static class Gelu
{
    /// <summary>out[n] = gelu(inp[n]) (overwrites; out may be the same memory as inp).</summary>
    public static void Forward<TNum>(Span<TNum> output, ReadOnlySpan<TNum> input, int N) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        TNum half = TNum.CreateChecked(0.5), k = Sqrt2OverPi<TNum>(), a = TNum.CreateChecked(0.044715);
        for (int i = 0; i < N; i++)
        {
            TNum x = input[i];
            TNum u = k * (x + a * x * x * x);
            output[i] = half * x * (TNum.One + TNum.Tanh(u));
        }
    }

    /// <summary>
    /// dinp[n] += gelu'(inp[n])·dout[n] (accumulates), with
    /// gelu'(x) = ½(1 + tanh u) + ½x·(1 − tanh²u)·√(2/π)·(1 + 3·0.044715·x²).
    /// </summary>
    public static void Backward<TNum>(Span<TNum> dinp, ReadOnlySpan<TNum> input, ReadOnlySpan<TNum> dout, int N)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        TNum half = TNum.CreateChecked(0.5), k = Sqrt2OverPi<TNum>(), a = TNum.CreateChecked(0.044715);
        TNum three = TNum.CreateChecked(3);
        for (int i = 0; i < N; i++)
        {
            TNum x = input[i];
            TNum u = k * (x + a * x * x * x);
            TNum th = TNum.Tanh(u);
            TNum du = k * (TNum.One + three * a * x * x);
            TNum grad = half * (TNum.One + th) + half * x * (TNum.One - th * th) * du;
            dinp[i] += grad * dout[i];
        }
    }

    private static TNum Sqrt2OverPi<TNum>() where TNum : unmanaged, IFloatingPointIeee754<TNum>
        => TNum.Sqrt(TNum.CreateChecked(2) / TNum.Pi);
}
