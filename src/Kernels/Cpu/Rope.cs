using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Rotary position embedding (rotate-half) on the CPU: each head's two halves in Vector512 or
/// Vector256 with FMA (scalar tail), token rows split over the cores. Layouts and formulas as
/// <see cref="Reference.Rope"/>: x/out/dinp[B,T,H,hs], cos/sin[P, hs/2], token t at position pos0 + t.
/// <para>
/// A token's cos/sin row is loaded once per vector and reused by its H heads. The FMA rounds one
/// product fewer than the reference (≤ 1 ulp of |x|); a pair is read before it is written, so
/// out may be x's memory.
/// </para>
/// </summary>
public static class Rope
{
    // Below this many floats a second thread costs more to wake than it saves.
    private const int MinWork = 1 << 15;

    /// <summary>out = rotate(x) (overwrites; out may be x).</summary>
    public static unsafe void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        int B, int T, int H, int hs, int pos0)
    {
        CheckShapes(output.Length, input.Length, cos.Length, sin.Length, B, T, H, hs, pos0);
        fixed (float* pOut = output, pIn = input, pCos = cos, pSin = sin)
        {
            float* o = pOut, x = pIn, c = pCos, s = pSin;
            int rowWork = H * hs;
            CpuParallel.ForRange(B * T, Math.Max(1, MinWork / rowWork), (start, end) =>
            {
                int half = hs / 2;
                for (int bt = start; bt < end; bt++)
                {
                    long p = (long)(pos0 + bt % T) * half;
                    for (int h = 0; h < H; h++)
                    {
                        long off = ((long)bt * H + h) * hs;
                        Rotate(o + off, x + off, c + p, s + p, half, accumulate: false);
                    }
                }
            });
        }
    }

    /// <summary>dinp += rotateᵀ(dout), the rotation by −θ (accumulates; dinp must not overlap dout).</summary>
    public static unsafe void Backward(Span<float> dinp, ReadOnlySpan<float> dout, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        int B, int T, int H, int hs, int pos0)
    {
        CheckShapes(dinp.Length, dout.Length, cos.Length, sin.Length, B, T, H, hs, pos0);
        fixed (float* pDinp = dinp, pDout = dout, pCos = cos, pSin = sin)
        {
            float* gi = pDinp, g = pDout, c = pCos, s = pSin;
            CpuParallel.ForRange(B * T, Math.Max(1, MinWork / (H * hs)), (start, end) =>
            {
                int half = hs / 2;
                for (int bt = start; bt < end; bt++)
                {
                    long p = (long)(pos0 + bt % T) * half;
                    for (int h = 0; h < H; h++)
                    {
                        long off = ((long)bt * H + h) * hs;
                        Rotate(gi + off, g + off, c + p, s + p, half, accumulate: true);
                    }
                }
            });
        }
    }

    /// <summary>
    /// One head: y₁ = x₁·cos − x₂·sin, y₂ = x₂·cos + x₁·sin (forward); or, accumulating the
    /// transpose, y₁ += x₁·cos + x₂·sin, y₂ += x₂·cos − x₁·sin (backward).
    /// </summary>
    private static unsafe void Rotate(float* y, float* x, float* cos, float* sin, int half, bool accumulate)
    {
        float* x2 = x + half, y2 = y + half;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= half - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                Vector512<float> a = Vector512.Load(x + i), b = Vector512.Load(x2 + i), c = Vector512.Load(cos + i), s = Vector512.Load(sin + i);
                if (accumulate)
                {
                    (Vector512.Load(y + i) + Vector512.FusedMultiplyAdd(a, c, b * s)).Store(y + i);
                    (Vector512.Load(y2 + i) + Vector512.FusedMultiplyAdd(b, c, -(a * s))).Store(y2 + i);
                }
                else
                {
                    Vector512.FusedMultiplyAdd(a, c, -(b * s)).Store(y + i);
                    Vector512.FusedMultiplyAdd(b, c, a * s).Store(y2 + i);
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= half - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> a = Vector256.Load(x + i), b = Vector256.Load(x2 + i), c = Vector256.Load(cos + i), s = Vector256.Load(sin + i);
                if (accumulate)
                {
                    (Vector256.Load(y + i) + Vector256.FusedMultiplyAdd(a, c, b * s)).Store(y + i);
                    (Vector256.Load(y2 + i) + Vector256.FusedMultiplyAdd(b, c, -(a * s))).Store(y2 + i);
                }
                else
                {
                    Vector256.FusedMultiplyAdd(a, c, -(b * s)).Store(y + i);
                    Vector256.FusedMultiplyAdd(b, c, a * s).Store(y2 + i);
                }
            }
        }
        for (; i < half; i++)
        {
            float a = x[i], b = x2[i], c = cos[i], s = sin[i];
            if (accumulate)
            {
                y[i] += a * c + b * s;
                y2[i] += b * c - a * s;
            }
            else
            {
                y[i] = a * c - b * s;
                y2[i] = b * c + a * s;
            }
        }
    }

    // The kernels index through pointers, so every length is checked up front.
    private static void CheckShapes(int output, int input, int cos, int sin, int B, int T, int H, int hs, int pos0)
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
