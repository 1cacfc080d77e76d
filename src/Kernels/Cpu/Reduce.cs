using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Whole-tensor reductions on the CPU (gradient-norm clipping): floats widened to double and
/// summed in double, in fixed chunks whose partial sums are added in chunk order.
/// </summary>
public static class Reduce
{
    // Fixed by the length alone, never by the thread count, so the result is the same bits run
    // after run and with any number of threads. 64K floats (256 KB) a chunk pays for a thread.
    private const int Chunk = 1 << 16;

    /// <summary>Σ x[i]², accumulated in double; deterministic.</summary>
    public static unsafe double SumOfSquares(ReadOnlySpan<float> x)
    {
        int n = x.Length;
        if (n == 0) return 0;
        fixed (float* px = x)
        {
            if (n <= Chunk) return SumOfSquares(px, n);
            int chunks = (n + Chunk - 1) / Chunk;
            var partial = new double[chunks];
            float* p = px;
            CpuParallel.For(chunks, k =>
            {
                int start = k * Chunk;
                partial[k] = SumOfSquares(p + start, Math.Min(Chunk, n - start));
            });
            double sum = 0;
            foreach (double s in partial) sum += s;
            return sum;
        }
    }

    private static unsafe double SumOfSquares(float* x, int n)
    {
        double sum = 0;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            // Two double accumulators per 16 floats (low and high halves), two blocks per trip:
            // four independent FMA chains hide the FMA latency.
            Vector512<double> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 32; i += 32)
            {
                var (lo0, hi0) = Vector512.Widen(Vector512.Load(x + i));
                var (lo1, hi1) = Vector512.Widen(Vector512.Load(x + i + 16));
                a0 = Vector512.FusedMultiplyAdd(lo0, lo0, a0);
                a1 = Vector512.FusedMultiplyAdd(hi0, hi0, a1);
                a2 = Vector512.FusedMultiplyAdd(lo1, lo1, a2);
                a3 = Vector512.FusedMultiplyAdd(hi1, hi1, a3);
            }
            sum = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= n - 16; i += 16)
            {
                var (lo0, hi0) = Vector256.Widen(Vector256.Load(x + i));
                var (lo1, hi1) = Vector256.Widen(Vector256.Load(x + i + 8));
                a0 = Vector256.FusedMultiplyAdd(lo0, lo0, a0);
                a1 = Vector256.FusedMultiplyAdd(hi0, hi0, a1);
                a2 = Vector256.FusedMultiplyAdd(lo1, lo1, a2);
                a3 = Vector256.FusedMultiplyAdd(hi1, hi1, a3);
            }
            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < n; i++)
        {
            double d = x[i];
            sum += d * d;
        }
        return sum;
    }
}
