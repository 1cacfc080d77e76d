using System.Numerics.Tensors;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The residual connection on the CPU: TensorPrimitives' SIMD add (it picks Vector512/256/128
/// itself), split over the cores when the tensor is big. Memory-bound: three streams forward,
/// five backward.
/// </summary>
public static class Residual
{
    // Below this many floats a second thread costs more to wake than it saves.
    private const int MinChunk = 1 << 15;

    // The backward reads dout once per gradient; tiles this size keep it in L1 for the second read.
    private const int Tile = 4096;

    /// <summary>out[n] = a[n] + b[n] (overwrites; out may be the same memory as a or b, not partly overlapping).</summary>
    public static unsafe void Forward(Span<float> output, ReadOnlySpan<float> a, ReadOnlySpan<float> b, int N)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        ArgumentOutOfRangeException.ThrowIfLessThan(output.Length, N, nameof(output));
        ArgumentOutOfRangeException.ThrowIfLessThan(a.Length, N, nameof(a));
        ArgumentOutOfRangeException.ThrowIfLessThan(b.Length, N, nameof(b));
        fixed (float* pOut = output, pA = a, pB = b)
        {
            float* o = pOut, x = pA, y = pB;
            CpuParallel.ForRange(N, MinChunk, (start, end) =>
                TensorPrimitives.Add(new ReadOnlySpan<float>(x + start, end - start), new ReadOnlySpan<float>(y + start, end - start),
                    new Span<float>(o + start, end - start)));
        }
    }

    /// <summary>da[n] += dout[n]; db[n] += dout[n] (accumulates; neither may overlap dout).</summary>
    public static unsafe void Backward(Span<float> da, Span<float> db, ReadOnlySpan<float> dout, int N)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        ArgumentOutOfRangeException.ThrowIfLessThan(da.Length, N, nameof(da));
        ArgumentOutOfRangeException.ThrowIfLessThan(db.Length, N, nameof(db));
        ArgumentOutOfRangeException.ThrowIfLessThan(dout.Length, N, nameof(dout));
        fixed (float* pDa = da, pDb = db, pDout = dout)
        {
            float* ga = pDa, gb = pDb, g = pDout;
            CpuParallel.ForRange(N, MinChunk, (start, end) =>
            {
                for (int i = start; i < end; i += Tile)
                {
                    int len = Math.Min(Tile, end - i);
                    var d = new ReadOnlySpan<float>(g + i, len);
                    TensorPrimitives.Add(new ReadOnlySpan<float>(ga + i, len), d, new Span<float>(ga + i, len));
                    TensorPrimitives.Add(new ReadOnlySpan<float>(gb + i, len), d, new Span<float>(gb + i, len));
                }
            });
        }
    }
}
