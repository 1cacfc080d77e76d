using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// The fully connected layer, llm.c's <c>matmul_forward_naive</c>/<c>matmul_backward</c>: plain
/// scalar loops that are the algorithmic truth for every faster matmul (the test oracle in
/// float, the finite-difference subject in double).
/// <para>
/// Layouts are row-major: inp[N,C], weight[OC,C] (one row per output channel, as PyTorch's
/// <c>nn.Linear</c> stores it), bias[OC], out[N,OC], with N = B·T rows.
/// </para>
/// </summary>
public static class Matmul
{
    /// <summary>
    /// out[N,OC] = inp[N,C] · weight[OC,C]ᵀ + bias[OC]. An empty <paramref name="bias"/> means no
    /// bias; <paramref name="output"/> is overwritten.
    /// </summary>
    public static void Forward<T>(Span<T> output, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias,
        int N, int C, int OC) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckShapes(output.Length, input.Length, weight.Length, bias.Length, N, C, OC);
        for (int n = 0; n < N; n++)
        {
            ReadOnlySpan<T> x = input.Slice(n * C, C);
            for (int o = 0; o < OC; o++)
            {
                ReadOnlySpan<T> w = weight.Slice(o * C, C);
                T sum = bias.Length != 0 ? bias[o] : T.Zero;
                for (int c = 0; c < C; c++) sum += x[c] * w[c];
                output[n * OC + o] = sum;
            }
        }
    }

    /// <summary>
    /// Accumulates the gradients: dinp[N,C] += dout[N,OC] · weight[OC,C];
    /// dweight[OC,C] += doutᵀ · inp; dbias[OC] += Σₙ dout[n,:]. An empty <paramref name="dbias"/>
    /// skips the bias gradient; an empty <paramref name="dinp"/> skips the input gradient (the
    /// first layer's input needs none).
    /// </summary>
    public static void Backward<T>(Span<T> dinp, Span<T> dweight, Span<T> dbias, ReadOnlySpan<T> dout,
        ReadOnlySpan<T> input, ReadOnlySpan<T> weight, int N, int C, int OC) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckBackwardShapes(dinp.Length, dweight.Length, dbias.Length, dout.Length, input.Length, weight.Length, N, C, OC);
        if (dinp.Length != 0)
        {
            for (int n = 0; n < N; n++)
            {
                ReadOnlySpan<T> g = dout.Slice(n * OC, OC);
                Span<T> dx = dinp.Slice(n * C, C);
                for (int o = 0; o < OC; o++)
                {
                    ReadOnlySpan<T> w = weight.Slice(o * C, C);
                    for (int c = 0; c < C; c++) dx[c] += g[o] * w[c];
                }
            }
        }
        for (int o = 0; o < OC; o++)
        {
            Span<T> dw = dweight.Slice(o * C, C);
            T db = T.Zero;
            for (int n = 0; n < N; n++)
            {
                T g = dout[n * OC + o];
                ReadOnlySpan<T> x = input.Slice(n * C, C);
                for (int c = 0; c < C; c++) dw[c] += g * x[c];
                db += g;
            }
            if (dbias.Length != 0) dbias[o] += db;
        }
    }

    /// <summary>Throws unless the forward buffers have the lengths N, C and OC imply.</summary>
    internal static void CheckShapes(int output, int input, int weight, int bias, int N, int C, int OC)
    {
        if (N < 0 || C < 0 || OC < 0) throw new ArgumentOutOfRangeException(nameof(N), $"negative dimension (N={N}, C={C}, OC={OC})");
        Expect(nameof(output), output, (long)N * OC);
        Expect(nameof(input), input, (long)N * C);
        Expect(nameof(weight), weight, (long)OC * C);
        if (bias != 0) Expect(nameof(bias), bias, OC);
    }

    /// <summary>Throws unless the backward buffers have the lengths N, C and OC imply.</summary>
    internal static void CheckBackwardShapes(int dinp, int dweight, int dbias, int dout, int input, int weight, int N, int C, int OC)
    {
        if (N < 0 || C < 0 || OC < 0) throw new ArgumentOutOfRangeException(nameof(N), $"negative dimension (N={N}, C={C}, OC={OC})");
        if (dinp != 0) Expect(nameof(dinp), dinp, (long)N * C);
        Expect(nameof(dweight), dweight, (long)OC * C);
        if (dbias != 0) Expect(nameof(dbias), dbias, OC);
        Expect(nameof(dout), dout, (long)N * OC);
        Expect(nameof(input), input, (long)N * C);
        Expect(nameof(weight), weight, (long)OC * C);
    }

    private static void Expect(string name, int actual, long expected)
    {
        if (actual != expected)
            throw new ArgumentException($"matmul: {name} has {actual} elements, expected {expected}", name);
    }
}
