using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// HyperAttention for incremental decoding: one query per step against the cached keys, the
/// older ones kept in LSH bucket order. The rule for the query at position p (per head):
/// <list type="bullet">
/// <item>the last <c>MinSeqLen</c> keys (positions p−W+1..p, W = MinSeqLen) are attended exactly
/// — for p &lt; W that is every key, so short contexts decode exactly, like the forward;</item>
/// <item>the n = p−W+1 older keys are stably sorted by their bucket's sort key (the same order
/// as <see cref="HyperAttentionPlan.SortKey"/>); the query's rank among them (how many have a
/// smaller sort key) picks its block of <c>BlockSize</c> sorted keys (the last block when the rank is
/// n), attended exactly;</item>
/// <item><c>SampleSize</c> positions drawn uniformly from [0, n) of the sorted order (see
/// <see cref="Samples"/>) add their keys with weight n/m, except those inside the query's own
/// block (the forward's own-block mask).</item>
/// </list>
/// The output is the weighted softmax over those (key, log weight) pairs, as in the forward's
/// rectangles. With <c>BlockSize</c> ≥ n, or p &lt; W, it is exact attention.
/// <para>
/// This version recomputes every bucket and the sort at each query (readable, slow); the CPU
/// kernel keeps them incrementally in a <see cref="HyperAttentionKvState"/>.
/// </para>
/// </summary>
public static class HyperAttentionKv
{
    /// <summary>
    /// Appends the Tq new tokens' k and v (qkv[B,Tq,3C]) to kCache/vCache[B,maxT,C] at
    /// pos..pos+Tq−1 and writes out[B,Tq,C] under the decode rule above; the state supplies the
    /// settings, hyperplanes and seed (its incremental arrays are not used here).
    /// </summary>
    public static void Forward<TNum>(Span<TNum> output, Span<TNum> kCache, Span<TNum> vCache, ReadOnlySpan<TNum> qkv,
        HyperAttentionKvState state, int B, int Tq, int pos, int maxT, int C, int NH)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        ArgumentNullException.ThrowIfNull(state);
        Attention.CheckKvShapes(output.Length, kCache.Length, vCache.Length, qkv.Length, B, Tq, pos, maxT, C, NH);
        state.CheckFits(C / NH);
        int hs = C / NH;
        var cfg = state.Config;
        TNum scale = TNum.One / TNum.Sqrt(TNum.CreateChecked(hs));
        Attention.WriteKv(kCache, vCache, qkv, B, Tq, pos, maxT, C);
        var samples = new int[cfg.SampleSize];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int t = 0; t < Tq; t++)
                {
                    int p = pos + t;
                    ReadOnlySpan<TNum> q = qkv.Slice((b * Tq + t) * 3 * C + h * hs, hs);
                    var pairs = new List<(int Key, TNum LogWeight)>();
                    int n = Math.Max(0, p - cfg.MinSeqLen + 1);
                    for (int j = n; j <= p; j++) pairs.Add((j, TNum.Zero));
                    if (n > 0)
                    {
                        var sortKeys = new int[n];
                        for (int j = 0; j < n; j++)
                            sortKeys[j] = state.SortKey(Bucket<TNum>(kCache.Slice((b * maxT + j) * C + h * hs, hs), state.Hyperplanes, cfg.LshProjections));
                        var order = Enumerable.Range(0, n).OrderBy(j => sortKeys[j]).ThenBy(j => j).ToArray();
                        int qKey = state.SortKey(Bucket(q, state.Hyperplanes, cfg.LshProjections));
                        int rank = sortKeys.Count(k => k < qKey);
                        var (start, end) = Block(rank, n, cfg.BlockSize);
                        for (int s = start; s < end; s++) pairs.Add((order[s], TNum.Zero));
                        if (samples.Length > 0)
                        {
                            Samples(samples, state.Seed, p, h, n);
                            TNum logWeight = TNum.Log(TNum.CreateChecked(n) / TNum.CreateChecked(samples.Length));
                            foreach (int s in samples)
                                if (s < start || s >= end) pairs.Add((order[s], logWeight));
                        }
                    }
                    WeightedSoftmax(output.Slice((b * Tq + t) * C + h * hs, hs), q, kCache, vCache, pairs, b * maxT, C, h * hs, scale);
                }
    }

    /// <summary>The sorted positions [start, end) of the block a query of rank <paramref name="rank"/> among n sorted keys attends.</summary>
    public static (int Start, int End) Block(int rank, int n, int blockSize)
    {
        int block = Math.Min(rank, n - 1) / blockSize;
        return (block * blockSize, Math.Min(n, (block + 1) * blockSize));
    }

    /// <summary>
    /// The m sampled sorted positions for the query at <paramref name="position"/>, head
    /// <paramref name="head"/>: uniform in [0, n) with replacement, from a SplitMix64 stream seeded by
    /// (seed, position, head) — the same for every batch row, as the forward's samples are.
    /// </summary>
    public static void Samples(Span<int> samples, ulong seed, int position, int head, int n)
    {
        ulong s = seed;
        s ^= SplitMix64.Step(ref s) + (ulong)position;
        s ^= SplitMix64.Step(ref s) + ((ulong)head << 32);
        var rng = new SplitMix64(s);
        for (int i = 0; i < samples.Length; i++) samples[i] = rng.NextInt(n);
    }

    /// <summary>The r-bit LSH bucket of one head's vector x[hs]: bit t set iff x·hₜ &gt; 0.</summary>
    public static int Bucket<TNum>(ReadOnlySpan<TNum> x, ReadOnlySpan<float> hyperplanes, int r)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        int bucket = 0, hs = x.Length;
        for (int t = 0; t < r; t++)
        {
            TNum dot = TNum.Zero;
            for (int d = 0; d < hs; d++) dot += x[d] * TNum.CreateChecked(hyperplanes[t * hs + d]);
            if (dot > TNum.Zero) bucket |= 1 << t;
        }
        return bucket;
    }

    private static void WeightedSoftmax<TNum>(Span<TNum> o, ReadOnlySpan<TNum> q, ReadOnlySpan<TNum> kCache, ReadOnlySpan<TNum> vCache,
        List<(int Key, TNum LogWeight)> pairs, int rowBase, int C, int offset, TNum scale)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        int hs = o.Length;
        var score = new TNum[pairs.Count];
        TNum max = TNum.NegativeInfinity;
        for (int i = 0; i < pairs.Count; i++)
        {
            ReadOnlySpan<TNum> k = kCache.Slice((rowBase + pairs[i].Key) * C + offset, hs);
            TNum s = TNum.Zero;
            for (int d = 0; d < hs; d++) s += q[d] * k[d];
            score[i] = s * scale + pairs[i].LogWeight;
            if (score[i] > max) max = score[i];
        }
        TNum sum = TNum.Zero;
        o.Clear();
        for (int i = 0; i < pairs.Count; i++)
        {
            TNum e = TNum.Exp(score[i] - max);
            sum += e;
            ReadOnlySpan<TNum> v = vCache.Slice((rowBase + pairs[i].Key) * C + offset, hs);
            for (int d = 0; d < hs; d++) o[d] += e * v[d];
        }
        for (int d = 0; d < hs; d++) o[d] /= sum;
    }
}
