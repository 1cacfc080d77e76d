using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// GELU (tanh form) on the CPU: Vector512 or Vector256 with FMA, a scalar tail, both cores for
/// big tensors.
/// <para>
/// The trick: ½x(1 + tanh u) = x·σ(2u) = x / (1 + e^(−2u)), one exp and one divide, and no
/// 1 + tanh cancellation for negative x. The derivative in the same terms, with s = σ(2u) and
/// 1 − s = e^(−2u)·s, is s + 2x·u'·s·(1 − s), u' = √(2/π)(1 + 3·0.044715x²). The exp is a
/// Cephes-style polynomial (≈1 ulp on its range); .NET's Vector512.Exp measured several times slower.
/// Where z = −2u &gt; 80 (x &lt; −9.67) |gelu| &lt; 2e-34 and |gelu'| &lt; 4e-33, and both are set to 0;
/// the exp argument is clamped there too, so e^z stays finite and e·s is never ∞·0, and huge
/// |x| (x³ = −∞) cannot leak a NaN or ∞ into the gradient.
/// Measured against the exact function (double): gelu within 1.4e-7·(1 + |2u|) relative —
/// ≤ 7e-7 for x ≥ −3; the |2u| part is the float rounding of u, amplified by exp, which no
/// float kernel avoids — and gelu' within 1.6e-7 of max(1, |gelu'|). The float reference is
/// worse in the negative tail, where 1 + tanh u cancels.
/// </para>
/// </summary>
public static class Gelu
{
    // Below this many floats a second thread costs more to wake than it saves.
    private const int MinChunk = 1 << 15;

    private const float K = 0.7978845608028654f;   // √(2/π)
    private const float A = 0.044715f;
    private const float MinusTwoK = -2 * K;         // −2u = x·(MinusTwoK + MinusTwoKA·x²)
    private const float MinusTwoKA = -2 * K * A;
    private const float TwoK = 2 * K;               // 2u' = TwoK + TwoK3A·x²
    private const float TwoK3A = 2 * K * 3 * A;
    // Backward only: gelu'(x) = 1 in float for x > 10; clamping x keeps the slope term's x³ from
    // overflowing to ∞ (∞·0 = NaN) for huge x.
    private const float MaxX = 1e4f;
    private const float ClampZ = 80f;           // e^80 ≈ 5.5e34: finite, and 1/(1 + e^80) still normal

    /// <summary>out[n] = gelu(inp[n]) (overwrites; out may be the same memory as inp).</summary>
    public static unsafe void Forward(Span<float> output, ReadOnlySpan<float> input, int N)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        ArgumentOutOfRangeException.ThrowIfLessThan(output.Length, N, nameof(output));
        ArgumentOutOfRangeException.ThrowIfLessThan(input.Length, N, nameof(input));
        fixed (float* pOut = output, pIn = input)
        {
            float* o = pOut, x = pIn;
            CpuParallel.ForRange(N, MinChunk, (start, end) => ForwardRange(o, x, start, end));
        }
    }

    /// <summary>dinp[n] += gelu'(inp[n])·dout[n] (accumulates; dinp must not overlap input or dout).</summary>
    public static unsafe void Backward(Span<float> dinp, ReadOnlySpan<float> input, ReadOnlySpan<float> dout, int N)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        ArgumentOutOfRangeException.ThrowIfLessThan(dinp.Length, N, nameof(dinp));
        ArgumentOutOfRangeException.ThrowIfLessThan(input.Length, N, nameof(input));
        ArgumentOutOfRangeException.ThrowIfLessThan(dout.Length, N, nameof(dout));
        fixed (float* pDinp = dinp, pIn = input, pDout = dout)
        {
            float* gi = pDinp, x = pIn, g = pDout;
            CpuParallel.ForRange(N, MinChunk, (start, end) => BackwardRange(gi, x, g, start, end));
        }
    }

    private static unsafe void ForwardRange(float* output, float* input, int start, int end)
    {
        int i = start;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= end - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var x = Vector512.Load(input + i);
                var z = x * Vector512.FusedMultiplyAdd(Vector512.Create(MinusTwoKA), x * x, Vector512.Create(MinusTwoK));
                var e = Exp(Vector512.Min(z, Vector512.Create(ClampZ)));
                Vector512.AndNot(x / (Vector512<float>.One + e), Vector512.GreaterThan(z, Vector512.Create(ClampZ))).Store(output + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= end - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var x = Vector256.Load(input + i);
                var z = x * Vector256.FusedMultiplyAdd(Vector256.Create(MinusTwoKA), x * x, Vector256.Create(MinusTwoK));
                var e = Exp(Vector256.Min(z, Vector256.Create(ClampZ)));
                Vector256.AndNot(x / (Vector256<float>.One + e), Vector256.GreaterThan(z, Vector256.Create(ClampZ))).Store(output + i);
            }
        }
        for (; i < end; i++)
        {
            float x = input[i];
            float z = x * (MinusTwoK + MinusTwoKA * x * x);
            output[i] = z > ClampZ ? 0f : x / (1 + MathF.Exp(z));
        }
    }

    private static unsafe void BackwardRange(float* dinp, float* input, float* dout, int start, int end)
    {
        int i = start;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= end - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var x = Vector512.Min(Vector512.Load(input + i), Vector512.Create(MaxX));
                var x2 = x * x;
                var z = x * Vector512.FusedMultiplyAdd(Vector512.Create(MinusTwoKA), x2, Vector512.Create(MinusTwoK));
                var e = Exp(Vector512.Min(z, Vector512.Create(ClampZ)));
                var s = Vector512<float>.One / (Vector512<float>.One + e);
                var slope = x * Vector512.FusedMultiplyAdd(Vector512.Create(TwoK3A), x2, Vector512.Create(TwoK));
                var grad = Vector512.AndNot(Vector512.FusedMultiplyAdd(slope, (e * s) * s, s), Vector512.GreaterThan(z, Vector512.Create(ClampZ)));
                Vector512.FusedMultiplyAdd(grad, Vector512.Load(dout + i), Vector512.Load(dinp + i)).Store(dinp + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= end - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var x = Vector256.Min(Vector256.Load(input + i), Vector256.Create(MaxX));
                var x2 = x * x;
                var z = x * Vector256.FusedMultiplyAdd(Vector256.Create(MinusTwoKA), x2, Vector256.Create(MinusTwoK));
                var e = Exp(Vector256.Min(z, Vector256.Create(ClampZ)));
                var s = Vector256<float>.One / (Vector256<float>.One + e);
                var slope = x * Vector256.FusedMultiplyAdd(Vector256.Create(TwoK3A), x2, Vector256.Create(TwoK));
                var grad = Vector256.AndNot(Vector256.FusedMultiplyAdd(slope, (e * s) * s, s), Vector256.GreaterThan(z, Vector256.Create(ClampZ)));
                Vector256.FusedMultiplyAdd(grad, Vector256.Load(dout + i), Vector256.Load(dinp + i)).Store(dinp + i);
            }
        }
        for (; i < end; i++)
        {
            float x = MathF.Min(input[i], MaxX), x2 = x * x;
            float z = x * (MinusTwoK + MinusTwoKA * x2);
            float grad = 0f;
            if (!(z > ClampZ)) // NaN goes through and propagates
            {
                float e = MathF.Exp(z);
                float s = 1 / (1 + e);
                grad = s + x * (TwoK + TwoK3A * x2) * (e * s) * s;
            }
            dinp[i] += grad * dout[i];
        }
    }

    // e^x for x ≤ 88 (Cephes expf): x = n·ln2 + r with |r| ≤ ½ln2, e^r by a degree-6 polynomial,
    // 2^n put straight into the exponent bits. ln2 is split in two (hi has few mantissa bits, so
    // n·hi is exact) to keep r accurate. x < −87.3 (2^n below the normal range) is clamped and
    // gives ≈1.2e-38 instead of a subnormal; NaN propagates through the IEEE Min/Max.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Exp(Vector512<float> x)
    {
        x = Vector512.Max(Vector512.Min(x, Vector512.Create(88f)), Vector512.Create(-87.33654f));
        var n = Vector512.Round(x * Vector512.Create(1.442695040888963f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(1.9875691500e-4f), r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Vector512.FusedMultiplyAdd(p, r * r, r + Vector512<float>.One);
        var pow2n = (Vector512.ConvertToInt32Native(n) + Vector512.Create(127)) << 23;
        return p * pow2n.AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Max(Vector256.Min(x, Vector256.Create(88f)), Vector256.Create(-87.33654f));
        var n = Vector256.Round(x * Vector256.Create(1.442695040888963f));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693359375f), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(2.12194440e-4f), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(1.9875691500e-4f), r, Vector256.Create(1.3981999507e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        p = Vector256.FusedMultiplyAdd(p, r * r, r + Vector256<float>.One);
        var pow2n = (Vector256.ConvertToInt32Native(n) + Vector256.Create(127)) << 23;
        return p * pow2n.AsSingle();
    }
}
