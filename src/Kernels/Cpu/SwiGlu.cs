using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// SwiGLU on the CPU: out = silu(gate)·up = gate·up / (1 + e^(−gate)) in Vector512 or Vector256
/// with FMA (scalar tail), big tensors split over the cores. Same contract as
/// <see cref="Reference.SwiGlu"/>.
/// <para>
/// The exp is <see cref="VectorMath.Exp(Vector512{float})"/> (≈1 ulp). Its argument is clamped to
/// [−87.3, 88]: for gate &lt; −88, e^(−gate) saturates at e^88 ≈ 1.7e38 instead of ∞, which leaves
/// silu(gate) ≈ gate·6e-39 instead of −0 and σ ≈ 6e-39 instead of 0, both below any float that
/// matters next to the other terms; NaN propagates.
/// </para>
/// </summary>
public static class SwiGlu
{
    // Below this many floats a second thread costs more to wake than it saves.
    private const int MinChunk = 1 << 15;

    /// <summary>out[n] = silu(gate[n])·up[n] (overwrites; out may be gate or up, not partly overlapping).</summary>
    public static unsafe void Forward(Span<float> output, ReadOnlySpan<float> gate, ReadOnlySpan<float> up, int N)
    {
        Check(output.Length, gate.Length, up.Length, N);
        fixed (float* pOut = output, pGate = gate, pUp = up)
        {
            float* o = pOut, g = pGate, u = pUp;
            CpuParallel.ForRange(N, MinChunk, (start, end) => ForwardRange(o, g, u, start, end));
        }
    }

    /// <summary>dgate[n] += dout·up·silu'(gate), dup[n] += dout·silu(gate) (accumulates; the gradients must not overlap the inputs).</summary>
    public static unsafe void Backward(Span<float> dgate, Span<float> dup, ReadOnlySpan<float> dout, ReadOnlySpan<float> gate,
        ReadOnlySpan<float> up, int N)
    {
        Check(dgate.Length, dup.Length, dout.Length, N);
        Check(dout.Length, gate.Length, up.Length, N);
        fixed (float* pDgate = dgate, pDup = dup, pDout = dout, pGate = gate, pUp = up)
        {
            float* dg = pDgate, du = pDup, d = pDout, g = pGate, u = pUp;
            CpuParallel.ForRange(N, MinChunk, (start, end) => BackwardRange(dg, du, d, g, u, start, end));
        }
    }

    private static unsafe void ForwardRange(float* output, float* gate, float* up, int start, int end)
    {
        int i = start;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= end - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var g = Vector512.Load(gate + i);
                (g / (Vector512<float>.One + VectorMath.Exp(-g)) * Vector512.Load(up + i)).Store(output + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= end - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var g = Vector256.Load(gate + i);
                (g / (Vector256<float>.One + VectorMath.Exp(-g)) * Vector256.Load(up + i)).Store(output + i);
            }
        }
        for (; i < end; i++)
        {
            float g = gate[i];
            output[i] = g / (1 + MathF.Exp(-g)) * up[i];
        }
    }

    // σ = 1/(1 + e^(−g)); silu' = σ·(1 + g·(1 − σ)), silu = g·σ.
    private static unsafe void BackwardRange(float* dgate, float* dup, float* dout, float* gate, float* up, int start, int end)
    {
        int i = start;
        if (Vector512.IsHardwareAccelerated)
        {
            var one = Vector512<float>.One;
            for (; i <= end - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                Vector512<float> g = Vector512.Load(gate + i), d = Vector512.Load(dout + i);
                var s = one / (one + VectorMath.Exp(-g));
                var ds = s * Vector512.FusedMultiplyAdd(g, one - s, one);
                Vector512.FusedMultiplyAdd(d * Vector512.Load(up + i), ds, Vector512.Load(dgate + i)).Store(dgate + i);
                Vector512.FusedMultiplyAdd(d, g * s, Vector512.Load(dup + i)).Store(dup + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256<float>.One;
            for (; i <= end - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                Vector256<float> g = Vector256.Load(gate + i), d = Vector256.Load(dout + i);
                var s = one / (one + VectorMath.Exp(-g));
                var ds = s * Vector256.FusedMultiplyAdd(g, one - s, one);
                Vector256.FusedMultiplyAdd(d * Vector256.Load(up + i), ds, Vector256.Load(dgate + i)).Store(dgate + i);
                Vector256.FusedMultiplyAdd(d, g * s, Vector256.Load(dup + i)).Store(dup + i);
            }
        }
        for (; i < end; i++)
        {
            float g = gate[i], s = 1 / (1 + MathF.Exp(-g));
            dgate[i] += dout[i] * up[i] * s * (1 + g * (1 - s));
            dup[i] += dout[i] * g * s;
        }
    }

    private static void Check(int a, int b, int c, int N)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        if (a < N || b < N || c < N)
            throw new ArgumentException($"swiglu: buffers of {a}, {b}, {c} elements are shorter than N={N}");
    }
}
