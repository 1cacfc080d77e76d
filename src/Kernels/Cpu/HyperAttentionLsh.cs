using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Hyper.Kernels.Reference;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// sortLSH on the CPU: bucket ids of every q and k row (r ≤ 16 dot products at once), and a stable
/// counting sort of a token range by the buckets' sort keys (O(n + 2^r), no comparisons).
/// </summary>
internal static unsafe class HyperAttentionLsh
{
    /// <summary>Rows hashed per parallel item.</summary>
    private const int RowsPerItem = 2048;

    /// <summary>
    /// qBuckets, kBuckets[B,NH,T]: bit t set iff x·hₜ &gt; 0, for the q and k rows of qkv[B,T,3C]
    /// (same convention as <see cref="Reference.HyperAttention.Buckets{TNum}"/>).
    /// </summary>
    public static void Hash(int* qBuckets, int* kBuckets, float* qkv, HyperAttentionPlan plan, int B, int T, int C, int NH)
    {
        int hs = C / NH, r = plan.Config.LshProjections, chunks = (T + RowsPerItem - 1) / RowsPerItem;
        // planesT[d, t] = hyperplane t's entry d, 16 lanes per d (lanes ≥ r zero, so their dot is
        // 0 and their bit clear): one broadcast-FMA per entry of x gives all r dots at once.
        var planesT = new float[hs * 16];
        ReadOnlySpan<float> planes = plan.Hyperplanes;
        for (int t = 0; t < r; t++)
            for (int d = 0; d < hs; d++) planesT[d * 16 + t] = planes[t * hs + d];
        nint pq = (nint)qBuckets, pk = (nint)kBuckets, px = (nint)qkv;
        CpuParallel.For(B * NH * chunks, item =>
        {
            int bh = item / chunks, b = bh / NH, h = bh % NH;
            int start = item % chunks * RowsPerItem, end = Math.Min(T, start + RowsPerItem);
            fixed (float* w = planesT)
                for (int i = start; i < end; i++)
                {
                    float* x = (float*)px + ((nint)b * T + i) * 3 * C + h * hs;
                    ((int*)pq)[bh * T + i] = Bucket(x, w, hs);
                    ((int*)pk)[bh * T + i] = Bucket(x + C, w, hs);
                }
        });
    }

    /// <summary>Σ_t [x·hₜ &gt; 0]·2^t from the transposed planes [hs, 16].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Bucket(float* x, float* planesT, int hs)
    {
        // Four accumulators: one chain of hs dependent FMAs would wait on the FMA latency.
        Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
        int d = 0;
        for (; d + 4 <= hs; d += 4)
        {
            float* w = planesT + d * 16;
            a0 = Vector512.FusedMultiplyAdd(Vector512.Create(x[d]), Vector512.Load(w), a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Create(x[d + 1]), Vector512.Load(w + 16), a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Create(x[d + 2]), Vector512.Load(w + 32), a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Create(x[d + 3]), Vector512.Load(w + 48), a3);
        }
        for (; d < hs; d++) a0 = Vector512.FusedMultiplyAdd(Vector512.Create(x[d]), Vector512.Load(planesT + d * 16), a0);
        Vector512<float> acc = (a0 + a1) + (a2 + a3);
        return (int)Vector512.GreaterThan(acc, Vector512<float>.Zero).ExtractMostSignificantBits();
    }

    /// <summary>
    /// order[p] = the token at sorted position p of tokens [start, start + count), stably sorted
    /// by sortKey[buckets[token]] (ties keep token order, like torch.sort(stable=True)).
    /// <paramref name="counts"/> has at least 2^r + 1 entries of scratch.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sort(int* order, int* buckets, int start, int count, int* sortKey, int bins, int* counts)
    {
        new Span<int>(counts, bins + 1).Clear();
        for (int i = 0; i < count; i++) counts[sortKey[buckets[start + i]] + 1]++;
        for (int k = 0; k < bins; k++) counts[k + 1] += counts[k];
        for (int i = 0; i < count; i++) order[counts[sortKey[buckets[start + i]]]++] = start + i;
    }
}
