using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// Layer normalisation over the channel dimension, as PyTorch's <c>nn.LayerNorm</c>: biased
/// variance (divide by C), eps inside the square root. The readable truth for faster layernorms.
/// <para>
/// Layouts: input/out[N,C] row-major, N = B·T rows; weight/bias[C]; mean/rstd[N] are written by
/// the forward (rstd = 1/√(var + eps)) and read by the backward, which then needs no second pass
/// over the statistics.
/// </para>
/// </summary>
public static class LayerNorm
{
    /// <summary>out[n,:] = (inp[n,:] − mean[n])·rstd[n]·weight + bias; mean and rstd are stored (all overwritten).</summary>
    public static void Forward<TNum>(Span<TNum> output, Span<TNum> mean, Span<TNum> rstd, ReadOnlySpan<TNum> input,
        ReadOnlySpan<TNum> weight, ReadOnlySpan<TNum> bias, int N, int C, TNum eps) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        TNum count = TNum.CreateChecked(C);
        for (int n = 0; n < N; n++)
        {
            ReadOnlySpan<TNum> x = input.Slice(n * C, C);
            TNum sum = TNum.Zero;
            for (int i = 0; i < C; i++) sum += x[i];
            TNum m = sum / count;
            // Two passes (mean, then squared deviations) rather than E[x²] − E[x]², which cancels
            // catastrophically when |mean| ≫ std.
            TNum sq = TNum.Zero;
            for (int i = 0; i < C; i++)
            {
                TNum d = x[i] - m;
                sq += d * d;
            }
            TNum s = TNum.One / TNum.Sqrt(sq / count + eps);
            for (int i = 0; i < C; i++)
                output[n * C + i] = (x[i] - m) * s * weight[i] + bias[i];
            mean[n] = m;
            rstd[n] = s;
        }
    }

    /// <summary>
    /// dinp[N,C], dweight[C], dbias[C] += the layernorm gradients (accumulates), from the mean and
    /// rstd the forward stored. With x̂ = (x − mean)·rstd and g = weight·dout per row:
    /// dinp = rstd·(g − mean(g) − x̂·mean(g·x̂)); dweight = Σₙ dout·x̂; dbias = Σₙ dout.
    /// </summary>
    public static void Backward<TNum>(Span<TNum> dinp, Span<TNum> dweight, Span<TNum> dbias, ReadOnlySpan<TNum> dout,
        ReadOnlySpan<TNum> input, ReadOnlySpan<TNum> weight, ReadOnlySpan<TNum> mean, ReadOnlySpan<TNum> rstd,
        int N, int C) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        TNum count = TNum.CreateChecked(C);
        for (int n = 0; n < N; n++)
        {
            ReadOnlySpan<TNum> x = input.Slice(n * C, C);
            ReadOnlySpan<TNum> dy = dout.Slice(n * C, C);
            TNum m = mean[n], s = rstd[n];
            TNum gMean = TNum.Zero, gxMean = TNum.Zero;
            for (int i = 0; i < C; i++)
            {
                TNum xhat = (x[i] - m) * s;
                TNum g = weight[i] * dy[i];
                gMean += g;
                gxMean += g * xhat;
            }
            gMean /= count;
            gxMean /= count;
            for (int i = 0; i < C; i++)
            {
                TNum xhat = (x[i] - m) * s;
                TNum g = weight[i] * dy[i];
                dbias[i] += dy[i];
                dweight[i] += xhat * dy[i];
                dinp[n * C + i] += (g - gMean - xhat * gxMean) * s;
            }
        }
    }
}
