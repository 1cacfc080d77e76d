using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// The hypernetwork's input encoding E(γ) (Ortiz et al., "Magnitude Invariant Parametrizations
/// Improve Hypernetwork Learning"): gamma[N,D] → out[N,W] with W = 2D for <see cref="HyperEncodingKind.CosSin"/>
/// and <see cref="HyperEncodingKind.Complement"/>, W = D for <see cref="HyperEncodingKind.Raw"/>.
/// Paired encodings write coordinate d's two values at 2d and 2d+1. The op is a few floats per
/// sample, so this scalar loop is also what every backend runs.
/// </summary>
public static class HyperEncoding
{
    /// <summary>Encoded width W for <paramref name="D"/> input coordinates.</summary>
    public static int Width(HyperEncodingKind kind, int D) => kind == HyperEncodingKind.Raw ? D : 2 * D;

    /// <summary>out[N,W] = E(gamma[N,D]) (overwrites).</summary>
    public static void Forward<TNum>(Span<TNum> output, ReadOnlySpan<TNum> gamma, HyperEncodingKind kind, int N, int D)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        CheckShapes(output.Length, gamma.Length, kind, N, D);
        TNum halfPi = TNum.Pi / TNum.CreateChecked(2);
        for (int i = 0; i < N * D; i++)
        {
            TNum g = gamma[i];
            switch (kind)
            {
                case HyperEncodingKind.CosSin:
                    output[2 * i] = TNum.Cos(halfPi * g);
                    output[2 * i + 1] = TNum.Sin(halfPi * g);
                    break;
                case HyperEncodingKind.Complement:
                    output[2 * i] = g;
                    output[2 * i + 1] = TNum.One - g;
                    break;
                default:
                    output[i] = g;
                    break;
            }
        }
    }

    /// <summary>
    /// dgamma[N,D] += the gradient through E (accumulates): −(π/2)·sin·dcos + (π/2)·cos·dsin for
    /// cos|sin, dz − d(1−z) for z|1−z, dout itself for raw. Needed only when γ is learned (e.g. a
    /// task embedding); the mixture task treats γ as data.
    /// </summary>
    public static void Backward<TNum>(Span<TNum> dgamma, ReadOnlySpan<TNum> dout, ReadOnlySpan<TNum> gamma, HyperEncodingKind kind, int N, int D)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        CheckShapes(dout.Length, gamma.Length, kind, N, D);
        if (dgamma.Length != N * D) throw new ArgumentException($"hyper encoding: dgamma has {dgamma.Length} elements, expected {N * D}", nameof(dgamma));
        TNum halfPi = TNum.Pi / TNum.CreateChecked(2);
        for (int i = 0; i < N * D; i++)
        {
            TNum g = gamma[i];
            dgamma[i] += kind switch
            {
                HyperEncodingKind.CosSin => halfPi * (TNum.Cos(halfPi * g) * dout[2 * i + 1] - TNum.Sin(halfPi * g) * dout[2 * i]),
                HyperEncodingKind.Complement => dout[2 * i] - dout[2 * i + 1],
                _ => dout[i],
            };
        }
    }

    private static void CheckShapes(int output, int gamma, HyperEncodingKind kind, int N, int D)
    {
        if (N < 0 || D < 0) throw new ArgumentOutOfRangeException(nameof(N), $"negative dimension (N={N}, D={D})");
        if (gamma != N * D) throw new ArgumentException($"hyper encoding: gamma has {gamma} elements, expected {N * D}", nameof(gamma));
        long w = (long)N * Width(kind, D);
        if (output != w) throw new ArgumentException($"hyper encoding: output has {output} elements, expected {w}", nameof(output));
    }
}
