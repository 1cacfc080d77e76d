using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// Root-mean-square normalisation over the channel dimension, as Llama's <c>LlamaRMSNorm</c>:
/// no mean subtraction and no bias, statistics in the kernel's own precision (fp32 for the float
/// instantiation, as Hugging Face upcasts), eps inside the square root.
/// <para>
/// Layouts: input/out[N,C] row-major; weight[C]; rstd[N] = 1/√(mean(x²) + eps) is written by the
/// forward and read by the backward.
/// </para>
/// </summary>
public static class RmsNorm
{
    /// <summary>out[n,:] = inp[n,:]·rstd[n]·weight; rstd is stored (both overwritten; out may be inp).</summary>
    public static void Forward<TNum>(Span<TNum> output, Span<TNum> rstd, ReadOnlySpan<TNum> input, ReadOnlySpan<TNum> weight,
        int N, int C, TNum eps) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        Check(output.Length, rstd.Length, input.Length, weight.Length, N, C);
        TNum count = TNum.CreateChecked(C);
        for (int n = 0; n < N; n++)
        {
            ReadOnlySpan<TNum> x = input.Slice(n * C, C);
            TNum sq = TNum.Zero;
            for (int i = 0; i < C; i++) sq += x[i] * x[i];
            TNum s = TNum.One / TNum.Sqrt(sq / count + eps);
            Span<TNum> y = output.Slice(n * C, C);
            for (int i = 0; i < C; i++) y[i] = x[i] * s * weight[i];
            rstd[n] = s;
        }
    }

    /// <summary>
    /// dinp[N,C], dweight[C] += the RMSNorm gradients (accumulates). With x̂ = x·rstd and
    /// g = weight·dout per row: dinp = rstd·(g − x̂·mean(g·x̂)); dweight = Σₙ dout·x̂.
    /// </summary>
    public static void Backward<TNum>(Span<TNum> dinp, Span<TNum> dweight, ReadOnlySpan<TNum> dout, ReadOnlySpan<TNum> input,
        ReadOnlySpan<TNum> weight, ReadOnlySpan<TNum> rstd, int N, int C) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        Check(dout.Length, rstd.Length, input.Length, weight.Length, N, C);
        Check(dinp.Length, rstd.Length, input.Length, dweight.Length, N, C);
        TNum count = TNum.CreateChecked(C);
        for (int n = 0; n < N; n++)
        {
            ReadOnlySpan<TNum> x = input.Slice(n * C, C);
            ReadOnlySpan<TNum> dy = dout.Slice(n * C, C);
            TNum s = rstd[n];
            TNum gx = TNum.Zero;
            for (int i = 0; i < C; i++) gx += weight[i] * dy[i] * x[i] * s;
            gx /= count;
            for (int i = 0; i < C; i++)
            {
                TNum xhat = x[i] * s;
                dweight[i] += dy[i] * xhat;
                dinp[n * C + i] += (weight[i] * dy[i] - xhat * gx) * s;
            }
        }
    }

    private static void Check(int output, int rstd, int input, int weight, int N, int C)
    {
        if (N < 0 || C <= 0) throw new ArgumentOutOfRangeException(nameof(N), $"rmsnorm: bad dimensions (N={N}, C={C})");
        long nc = (long)N * C;
        if (output != nc || input != nc || rstd != N || weight != C)
            throw new ArgumentException($"rmsnorm: buffers of {output}, {rstd}, {input}, {weight} elements do not fit N={N}, C={C}");
    }
}
