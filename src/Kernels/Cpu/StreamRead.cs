using System.Diagnostics;
using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// A plain streaming read: the sum of a buffer, split over the cores the way
/// <see cref="MatmulGemv"/> splits a weight matrix (contiguous ranges through
/// <see cref="CpuWorkers"/>, 8 KiB software prefetch ahead). It is the memory-bandwidth roof
/// a decode step is held against: a batch-1 step reads every weight once, so it cannot beat the
/// time this takes to read the same bytes.
/// </summary>
public static unsafe class StreamRead
{
    /// <summary>Floats per range handed to a thread (1 MiB): large enough that the fork/join is noise.</summary>
    private const int RangeFloats = 1 << 18;

    /// <summary>The sum of <paramref name="data"/> (its value only keeps the reads from being optimised away).</summary>
    public static float Sum(ReadOnlySpan<float> data)
    {
        if (data.IsEmpty) return 0;
        int ranges = (int)Math.Min(int.MaxValue, (data.Length + RangeFloats - 1) / RangeFloats);
        var partial = new float[ranges];
        fixed (float* p = data)
        {
            nint basePtr = (nint)p;
            long length = data.Length;
            CpuWorkers.ForRange(ranges, 1, (r0, r1) =>
            {
                for (int r = r0; r < r1; r++)
                {
                    long start = (long)r * RangeFloats, end = Math.Min(length, start + RangeFloats);
                    partial[r] = SumRange((float*)basePtr + start, end - start);
                }
            });
        }
        float total = 0;
        foreach (float s in partial) total += s;
        return total;
    }

    /// <summary>
    /// Best read bandwidth over <paramref name="repeats"/> passes over <paramref name="data"/>, in
    /// bytes per second (the best pass: the machine's capability, as a roof should be).
    /// </summary>
    public static double BytesPerSecond(ReadOnlySpan<float> data, int repeats = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repeats, 1);
        double best = double.MaxValue;
        float sink = 0;
        for (int i = 0; i < repeats; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            sink += Sum(data);
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }
        GC.KeepAlive(sink);
        return data.Length * (double)sizeof(float) / best;
    }

    private static float SumRange(float* x, long n)
    {
        const int W = 16;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        long i = 0;
        for (; i + 4 * W <= n; i += 4 * W)
        {
            if (System.Runtime.Intrinsics.X86.Sse.IsSupported && i + 2048 < n) System.Runtime.Intrinsics.X86.Sse.Prefetch1(x + i + 2048);
            a0 += Vector512.Load(x + i);
            a1 += Vector512.Load(x + i + W);
            a2 += Vector512.Load(x + i + 2 * W);
            a3 += Vector512.Load(x + i + 3 * W);
        }
        float s = Vector512.Sum(a0 + a1 + a2 + a3);
        for (; i < n; i++) s += x[i];
        return s;
    }
}
