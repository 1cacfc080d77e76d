using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Leaky ReLU on the CPU: Vector256 compare-and-select with a scalar tail, one thread. The
/// hypernetwork applies it to its hidden layers (tens to hundreds of floats per sample), where a
/// second thread or Vector512 would cost more than they save. No FMA in the backward, so the
/// result is bit-identical to the reference kernel's.
/// </summary>
public static class LeakyRelu
{
    /// <summary>out[n] = inp[n] &gt; 0 ? inp[n] : slope·inp[n] (overwrites; out may be the same memory as inp).</summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, float slope, int N)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        ArgumentOutOfRangeException.ThrowIfLessThan(output.Length, N, nameof(output));
        ArgumentOutOfRangeException.ThrowIfLessThan(input.Length, N, nameof(input));
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(slope);
            for (; i <= N - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var x = Vector256.Create(input.Slice(i, Vector256<float>.Count));
                Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, x * s).CopyTo(output.Slice(i));
            }
        }
        for (; i < N; i++)
        {
            float x = input[i];
            output[i] = x > 0f ? x : slope * x;
        }
    }

    /// <summary>dinp[n] += (inp[n] &gt; 0 ? 1 : slope)·dout[n] (accumulates).</summary>
    public static void Backward(Span<float> dinp, ReadOnlySpan<float> input, ReadOnlySpan<float> dout, float slope, int N)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        ArgumentOutOfRangeException.ThrowIfLessThan(dinp.Length, N, nameof(dinp));
        ArgumentOutOfRangeException.ThrowIfLessThan(input.Length, N, nameof(input));
        ArgumentOutOfRangeException.ThrowIfLessThan(dout.Length, N, nameof(dout));
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(slope);
            for (; i <= N - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var x = Vector256.Create(input.Slice(i, Vector256<float>.Count));
                var g = Vector256.Create(dout.Slice(i, Vector256<float>.Count));
                var d = Vector256.Create(dinp.Slice(i, Vector256<float>.Count));
                (d + Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), g, g * s)).CopyTo(dinp.Slice(i));
            }
        }
        for (; i < N; i++)
            dinp[i] += input[i] > 0f ? dout[i] : slope * dout[i];
    }
}
