using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// The SwiGLU gate of Llama's MLP: out = silu(gate)·up, silu(g) = g·σ(g). gate, up and out are
/// [N] (N = rows·intermediate size), each the output of its own projection.
/// </summary>
public static class SwiGlu
{
    /// <summary>out[n] = silu(gate[n])·up[n] (overwrites; out may be gate or up).</summary>
    public static void Forward<TNum>(Span<TNum> output, ReadOnlySpan<TNum> gate, ReadOnlySpan<TNum> up, int N)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        Check(output.Length, gate.Length, up.Length, N);
        for (int i = 0; i < N; i++)
        {
            TNum g = gate[i];
            output[i] = g / (TNum.One + TNum.Exp(-g)) * up[i];
        }
    }

    /// <summary>
    /// dgate[n] += dout·up·silu'(gate), dup[n] += dout·silu(gate) (accumulates), with
    /// silu'(g) = σ(g)·(1 + g·(1 − σ(g))).
    /// </summary>
    public static void Backward<TNum>(Span<TNum> dgate, Span<TNum> dup, ReadOnlySpan<TNum> dout, ReadOnlySpan<TNum> gate,
        ReadOnlySpan<TNum> up, int N) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        Check(dout.Length, gate.Length, up.Length, N);
        Check(dgate.Length, dup.Length, up.Length, N);
        for (int i = 0; i < N; i++)
        {
            TNum g = gate[i];
            TNum s = TNum.One / (TNum.One + TNum.Exp(-g));
            dgate[i] += dout[i] * up[i] * s * (TNum.One + g * (TNum.One - s));
            dup[i] += dout[i] * g * s;
        }
    }

    private static void Check(int a, int b, int c, int N)
    {
        if (N < 0 || a != N || b != N || c != N)
            throw new ArgumentException($"swiglu: buffers of {a}, {b}, {c} elements do not fit N={N}");
    }
}
