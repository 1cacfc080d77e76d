using System.Numerics.Tensors;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The weighted sum of tensors on the CPU, term by term (see
/// <see cref="Reference.WeightedSum"/>): TensorPrimitives' SIMD multiply and fused multiply-add
/// (it picks Vector512/256/128 itself), split over the cores when the tensor is big. Each element
/// is rounded exactly as in the reference (one multiply, then one fma per term), so the two agree
/// bit for bit. Memory-bound: two streams for the first term, three for each further one.
/// </summary>
public static class WeightedSum
{
    // Below this many floats a second thread costs more to wake than it saves.
    private const int MinChunk = 1 << 15;

    /// <summary>out[n] = w·x[n] (overwrites; out may be the same memory as x, not partly overlapping).</summary>
    public static unsafe void Scale(Span<float> output, ReadOnlySpan<float> x, float w, int N)
    {
        Check(output, x, N);
        fixed (float* pOut = output, pX = x)
        {
            float* o = pOut, s = pX;
            CpuParallel.ForRange(N, MinChunk, (start, end) =>
                TensorPrimitives.Multiply(new ReadOnlySpan<float>(s + start, end - start), w, new Span<float>(o + start, end - start)));
        }
    }

    /// <summary>out[n] = fma(w, x[n], out[n]) (accumulates; out may be the same memory as x, not partly overlapping).</summary>
    public static unsafe void Accumulate(Span<float> output, ReadOnlySpan<float> x, float w, int N)
    {
        Check(output, x, N);
        fixed (float* pOut = output, pX = x)
        {
            float* o = pOut, s = pX;
            CpuParallel.ForRange(N, MinChunk, (start, end) =>
            {
                var acc = new Span<float>(o + start, end - start);
                TensorPrimitives.FusedMultiplyAdd(new ReadOnlySpan<float>(s + start, end - start), w, acc, acc);
            });
        }
    }

    private static void Check(Span<float> output, ReadOnlySpan<float> x, int N)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        ArgumentOutOfRangeException.ThrowIfLessThan(output.Length, N, nameof(output));
        ArgumentOutOfRangeException.ThrowIfLessThan(x.Length, N, nameof(x));
    }
}
