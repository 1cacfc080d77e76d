using System.Buffers;
using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The Breadcrumbs magnitude mask on the CPU (see <see cref="Reference.MagnitudeMask"/>), in O(N)
/// without sorting. The magnitude's key is the float's bit pattern without the sign: for
/// non-negative floats the bits as an integer order exactly as the values do (NaN above +∞), so the
/// two thresholds are found by a radix select over the keys, two 16-bit digits, two counting
/// passes. A third pass keeps lo ≤ key ≤ hi with Vector512/256 compares. When the thresholds
/// are tied (equal magnitudes, such as the zeros of an untouched tensor), that pass would keep too
/// many, and a scalar pass ranks the tied values by index instead, as the reference does.
/// </summary>
public static class MagnitudeMask
{
    private const int HighBuckets = 1 << 15; // key >> 16: the sign bit is cleared, so 15 bits
    private const int LowBuckets = 1 << 16;

    /// <summary>
    /// out[n] = x[n] when the rank of |x[n]| (ties by index) is in [dropBottom, N − dropTop), else 0;
    /// returns the number kept (out may be the same memory as x, not partly overlapping).
    /// </summary>
    public static int Forward(Span<float> output, ReadOnlySpan<float> x, int dropTop, int dropBottom, int N)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        ArgumentOutOfRangeException.ThrowIfNegative(dropTop);
        ArgumentOutOfRangeException.ThrowIfNegative(dropBottom);
        ArgumentOutOfRangeException.ThrowIfLessThan(output.Length, N, nameof(output));
        ArgumentOutOfRangeException.ThrowIfLessThan(x.Length, N, nameof(x));
        x = x[..N];
        output = output[..N];
        int rLo = dropBottom, rHi = N - dropTop; // kept ranks: [rLo, rHi)
        if (rHi <= rLo)
        {
            output.Clear();
            return 0;
        }
        if (rLo == 0 && rHi == N)
        {
            x.CopyTo(output);
            return N;
        }

        var (lo, belowLo, _) = Select(x, rLo);
        var (hi, belowHi, equalHi) = Select(x, rHi - 1);
        int kept = rHi - rLo;
        // The inclusive band [lo, hi] holds every kept value and, with ties at a threshold, some
        // dropped ones too: equal counts mean it is exactly the kept set.
        if (belowHi + equalHi - belowLo == kept) KeepBand(output, x, lo, hi);
        else KeepRanks(output, x, lo, hi, belowLo, belowHi, rLo, rHi);
        return kept;
    }

    private static int Key(float v) => BitConverter.SingleToInt32Bits(v) & 0x7FFFFFFF;

    /// <summary>The key of rank <paramref name="rank"/> (0 = smallest), how many keys are below it and how many equal it.</summary>
    private static (int Key, int Below, int Equal) Select(ReadOnlySpan<float> x, int rank)
    {
        var counts = ArrayPool<int>.Shared.Rent(LowBuckets);
        try
        {
            // First digit: the high 15 bits.
            Array.Clear(counts, 0, HighBuckets);
            foreach (float v in x) counts[Key(v) >> 16]++;
            int high = 0, below = 0;
            while (below + counts[high] <= rank) below += counts[high++];

            // Second digit: the low 16 bits, among the keys that share the first.
            Array.Clear(counts, 0, LowBuckets);
            foreach (float v in x)
            {
                int k = Key(v);
                if (k >> 16 == high) counts[k & 0xFFFF]++;
            }
            int low = 0;
            while (below + counts[low] <= rank) below += counts[low++];
            return (high << 16 | low, below, counts[low]);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(counts);
        }
    }

    /// <summary>out[n] = lo ≤ key(x[n]) ≤ hi ? x[n] : 0, a vector at a time.</summary>
    private static void KeepBand(Span<float> output, ReadOnlySpan<float> x, int lo, int hi)
    {
        int i = 0, n = x.Length;
        if (Vector512.IsHardwareAccelerated)
        {
            var vLo = Vector512.Create(lo);
            var vHi = Vector512.Create(hi);
            var signless = Vector512.Create(0x7FFFFFFF);
            for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var v = Vector512.Create(x.Slice(i, Vector512<float>.Count));
                var key = v.AsInt32() & signless;
                var keep = Vector512.GreaterThanOrEqual(key, vLo) & Vector512.LessThanOrEqual(key, vHi);
                (v.AsInt32() & keep).AsSingle().CopyTo(output.Slice(i, Vector512<float>.Count));
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var vLo = Vector256.Create(lo);
            var vHi = Vector256.Create(hi);
            var signless = Vector256.Create(0x7FFFFFFF);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var v = Vector256.Create(x.Slice(i, Vector256<float>.Count));
                var key = v.AsInt32() & signless;
                var keep = Vector256.GreaterThanOrEqual(key, vLo) & Vector256.LessThanOrEqual(key, vHi);
                (v.AsInt32() & keep).AsSingle().CopyTo(output.Slice(i, Vector256<float>.Count));
            }
        }
        for (; i < n; i++)
        {
            int k = Key(x[i]);
            output[i] = k >= lo && k <= hi ? x[i] : 0f;
        }
    }

    /// <summary>The tied case: values at a threshold are ranked by index, as the reference's stable order does.</summary>
    private static void KeepRanks(Span<float> output, ReadOnlySpan<float> x, int lo, int hi, int belowLo, int belowHi, int rLo, int rHi)
    {
        int seenLo = 0, seenHi = 0;
        for (int i = 0; i < x.Length; i++)
        {
            int k = Key(x[i]);
            bool keep;
            if (k == lo)
            {
                int rank = belowLo + seenLo++;
                keep = rank >= rLo && rank < rHi;
            }
            else if (k == hi)
            {
                keep = belowHi + seenHi++ < rHi;
            }
            else keep = k > lo && k < hi;
            output[i] = keep ? x[i] : 0f;
        }
    }
}
