using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// Rotary position embedding in Hugging Face's rotate-half convention (Llama, Qwen, Mistral): a
/// head vector x of size hs is split into halves x₁ = x[0, hs/2) and x₂ = x[hs/2, hs), and at
/// position p with angles θᵢ = p·ωᵢ, out₁ = x₁·cos θ − x₂·sin θ, out₂ = x₂·cos θ + x₁·sin θ.
/// (GPT-NeoX's layout, not the interleaved pairs of the original paper: a port that pairs
/// neighbours instead gets a model that runs and is wrong.)
/// <para>
/// Layouts: x/out[B,T,H,hs] (H heads of a token side by side); cos/sin[P, hs/2] are tables for
/// positions 0..P−1 (<see cref="Tables"/>); token t of the batch is at position pos0 + t.
/// </para>
/// </summary>
public static class Rope
{
    /// <summary>out = rotate(x) (overwrites; out may be x: each pair is read before it is written).</summary>
    public static void Forward<TNum>(Span<TNum> output, ReadOnlySpan<TNum> input, ReadOnlySpan<TNum> cos, ReadOnlySpan<TNum> sin,
        int B, int T, int H, int hs, int pos0) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        Check(output.Length, input.Length, cos.Length, sin.Length, B, T, H, hs, pos0);
        int half = hs / 2;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
            {
                ReadOnlySpan<TNum> c = cos.Slice((pos0 + t) * half, half), s = sin.Slice((pos0 + t) * half, half);
                for (int h = 0; h < H; h++)
                {
                    int off = ((b * T + t) * H + h) * hs;
                    for (int i = 0; i < half; i++)
                    {
                        TNum x1 = input[off + i], x2 = input[off + half + i];
                        output[off + i] = x1 * c[i] - x2 * s[i];
                        output[off + half + i] = x2 * c[i] + x1 * s[i];
                    }
                }
            }
    }

    /// <summary>dinp += rotateᵀ(dout), the rotation by −θ (accumulates). The op is linear, so it needs no input.</summary>
    public static void Backward<TNum>(Span<TNum> dinp, ReadOnlySpan<TNum> dout, ReadOnlySpan<TNum> cos, ReadOnlySpan<TNum> sin,
        int B, int T, int H, int hs, int pos0) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        Check(dinp.Length, dout.Length, cos.Length, sin.Length, B, T, H, hs, pos0);
        int half = hs / 2;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
            {
                ReadOnlySpan<TNum> c = cos.Slice((pos0 + t) * half, half), s = sin.Slice((pos0 + t) * half, half);
                for (int h = 0; h < H; h++)
                {
                    int off = ((b * T + t) * H + h) * hs;
                    for (int i = 0; i < half; i++)
                    {
                        TNum g1 = dout[off + i], g2 = dout[off + half + i];
                        dinp[off + i] += g1 * c[i] + g2 * s[i];
                        dinp[off + half + i] += g2 * c[i] - g1 * s[i];
                    }
                }
            }
    }

    /// <summary>
    /// The cos and sin tables [positions, hs/2] for angles p·ωᵢ, computed in double and rounded
    /// once (Hugging Face computes them in fp32; the difference is below fp32 rounding of the
    /// rotated values at the positions a model is trained on).
    /// </summary>
    public static (float[] Cos, float[] Sin) Tables(ReadOnlySpan<double> inverseFrequencies, int positions)
    {
        int half = inverseFrequencies.Length;
        var cos = new float[(long)positions * half];
        var sin = new float[(long)positions * half];
        for (int p = 0; p < positions; p++)
            for (int i = 0; i < half; i++)
            {
                double a = p * inverseFrequencies[i];
                cos[p * half + i] = (float)Math.Cos(a);
                sin[p * half + i] = (float)Math.Sin(a);
            }
        return (cos, sin);
    }

    /// <summary>ωᵢ = θ^(−2i/hs) for i &lt; hs/2, Llama's default frequencies (<c>rope_theta</c> = θ).</summary>
    public static double[] InverseFrequencies(int hs, double theta)
    {
        if (hs <= 0 || hs % 2 != 0) throw new ArgumentException($"rope: head size {hs} is not a positive even number");
        var w = new double[hs / 2];
        for (int i = 0; i < w.Length; i++) w[i] = 1.0 / Math.Pow(theta, 2.0 * i / hs);
        return w;
    }

    /// <summary>Linear scaling (<c>rope_scaling.type = linear</c>): every frequency divided by the factor.</summary>
    public static void ScaleLinear(Span<double> inverseFrequencies, double factor)
    {
        for (int i = 0; i < inverseFrequencies.Length; i++) inverseFrequencies[i] /= factor;
    }

    /// <summary>
    /// Llama 3.1's scaling (<c>rope_type = llama3</c>): wavelengths longer than
    /// original_context/low_freq_factor are slowed by the factor, those shorter than
    /// original_context/high_freq_factor are kept, and the band between is interpolated smoothly.
    /// </summary>
    public static void ScaleLlama3(Span<double> inverseFrequencies, double factor, double lowFreqFactor, double highFreqFactor, int originalContext)
    {
        double lowWavelen = originalContext / lowFreqFactor, highWavelen = originalContext / highFreqFactor;
        for (int i = 0; i < inverseFrequencies.Length; i++)
        {
            double w = inverseFrequencies[i], wavelen = 2 * Math.PI / w;
            if (wavelen < highWavelen) continue;
            if (wavelen > lowWavelen) { inverseFrequencies[i] = w / factor; continue; }
            double smooth = (originalContext / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            inverseFrequencies[i] = (1 - smooth) * w / factor + smooth * w;
        }
    }

    private static void Check(int output, int input, int cos, int sin, int B, int T, int H, int hs, int pos0)
    {
        if (B < 0 || T < 0 || H <= 0 || hs <= 0 || hs % 2 != 0 || pos0 < 0)
            throw new ArgumentOutOfRangeException(nameof(hs), $"rope: bad dimensions (B={B}, T={T}, H={H}, hs={hs}, pos0={pos0})");
        long n = (long)B * T * H * hs;
        if (output != n || input != n)
            throw new ArgumentException($"rope: buffers of {output} and {input} elements do not fit [{B},{T},{H},{hs}]");
        if (cos != sin || cos < (long)(pos0 + T) * (hs / 2))
            throw new ArgumentException($"rope: tables of {cos} and {sin} elements do not cover positions {pos0}..{pos0 + T - 1} of head size {hs}");
    }
}
