using System.Numerics.Tensors;
using Hyper.Kernels.Reference;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// HyperAttention decoding on the CPU: the decode rule of <see cref="Ref.HyperAttentionKv"/>
/// (exact window of MinSeqLen keys, the query's LSH block among the older keys, sampled keys of
/// weight n/m) without re-sorting. Each key's sort key is computed once, when it is cached; when a
/// key leaves the exact window it is inserted into its (row, head)'s bucket-ordered list by binary
/// search (a move of at most maxT ints), and a query finds its block by binary search too. A step
/// thus costs O(r·hs) hashing, O(n) ints moved and (W + b + m)·hs multiply-adds per head, against
/// (p + 1)·hs for exact decoding.
/// </summary>
public static class HyperAttentionKv
{
    [ThreadStatic] private static float[]? t_scores;
    [ThreadStatic] private static int[]? t_keys;
    [ThreadStatic] private static int[]? t_samples;

    /// <summary>Same contract as <see cref="Ref.HyperAttentionKv.Forward{TNum}"/>; keeps <paramref name="state"/> in step with the cache.</summary>
    /// <exception cref="InvalidOperationException">The state has seen a different number of tokens than <paramref name="pos"/> says (reset it with the cache).</exception>
    public static void Forward(Span<float> output, Span<float> kCache, Span<float> vCache, ReadOnlySpan<float> qkv,
        HyperAttentionKvState state, int B, int Tq, int pos, int maxT, int C, int NH)
    {
        ArgumentNullException.ThrowIfNull(state);
        Ref.Attention.CheckKvShapes(output.Length, kCache.Length, vCache.Length, qkv.Length, B, Tq, pos, maxT, C, NH);
        int hs = C / NH;
        state.CheckFits(hs);
        if (state.B != B || state.NH != NH || state.MaxT != maxT)
            throw new ArgumentException($"hyper attention: decoding state made for B={state.B}, NH={state.NH}, maxT={state.MaxT}, used with B={B}, NH={NH}, maxT={maxT}");
        var cfg = state.Config;
        int W = cfg.MinSeqLen, r = cfg.LshProjections;
        if (pos == 0) state.Reset();
        if (state.SortedCount != Math.Max(0, pos - W))
            throw new InvalidOperationException($"hyper attention: decoding state holds {state.SortedCount} sorted keys, position {pos} implies {Math.Max(0, pos - W)} (reset it with the cache)");

        for (int b = 0; b < B; b++)
            for (int t = 0; t < Tq; t++)
            {
                int row = (b * Tq + t) * 3 * C, slot = (b * maxT + pos + t) * C;
                qkv.Slice(row + C, C).CopyTo(kCache.Slice(slot, C));
                qkv.Slice(row + 2 * C, C).CopyTo(vCache.Slice(slot, C));
                for (int h = 0; h < NH; h++)
                    state.KeySortKeys[(b * NH + h) * maxT + pos + t] = state.SortKey(Bucket(qkv.Slice(row + C + h * hs, hs), state.Hyperplanes, r));
            }

        float scale = 1f / MathF.Sqrt(hs);
        for (int t = 0; t < Tq; t++)
        {
            int p = pos + t, n = Math.Max(0, p - W + 1);
            while (state.SortedCount < n)
            {
                for (int bh = 0; bh < B * NH; bh++) Insert(state, bh, state.SortedCount);
                state.SortedCount++;
            }
            for (int bh = 0; bh < B * NH; bh++)
                Row(output, kCache, vCache, qkv, state, bh / NH, bh % NH, t, p, n, Tq, maxT, C, hs, scale);
        }
    }

    /// <summary>Inserts key <paramref name="key"/> into (row, head) <paramref name="bh"/>'s ordered list after every key with a sort key ≤ its own (stable: positions arrive in order).</summary>
    private static void Insert(HyperAttentionKvState s, int bh, int key)
    {
        int baseIdx = bh * s.MaxT, count = s.SortedCount;
        int sk = s.KeySortKeys[baseIdx + key];
        int lo = 0, hi = count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (s.KeySortKeys[baseIdx + s.Sorted[baseIdx + mid]] <= sk) lo = mid + 1; else hi = mid;
        }
        Array.Copy(s.Sorted, baseIdx + lo, s.Sorted, baseIdx + lo + 1, count - lo);
        s.Sorted[baseIdx + lo] = key;
    }

    private static void Row(Span<float> output, ReadOnlySpan<float> kCache, ReadOnlySpan<float> vCache, ReadOnlySpan<float> qkv,
        HyperAttentionKvState s, int b, int h, int t, int p, int n, int Tq, int maxT, int C, int hs, float scale)
    {
        var cfg = s.Config;
        int capacity = (p - n + 1) + Math.Min(n, cfg.BlockSize) + cfg.SampleSize;
        if (t_scores is null || t_scores.Length < capacity)
        {
            t_scores = new float[capacity];
            t_keys = new int[capacity];
        }
        float[] scores = t_scores;
        int[] keys = t_keys!;
        int count = 0;
        for (int j = n; j <= p; j++) { keys[count] = j; scores[count++] = 0f; }

        ReadOnlySpan<float> q = qkv.Slice((b * Tq + t) * 3 * C + h * hs, hs);
        if (n > 0)
        {
            int baseIdx = (b * s.NH + h) * maxT;
            int qKey = s.SortKey(Bucket(q, s.Hyperplanes, cfg.LshProjections));
            int lo = 0, hi = n; // rank: how many older keys sort before the query
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (s.KeySortKeys[baseIdx + s.Sorted[baseIdx + mid]] < qKey) lo = mid + 1; else hi = mid;
            }
            var (start, end) = Ref.HyperAttentionKv.Block(lo, n, cfg.BlockSize);
            for (int i = start; i < end; i++) { keys[count] = s.Sorted[baseIdx + i]; scores[count++] = 0f; }
            if (cfg.SampleSize > 0)
            {
                if (t_samples is null || t_samples.Length < cfg.SampleSize) t_samples = new int[cfg.SampleSize];
                Span<int> samples = t_samples.AsSpan(0, cfg.SampleSize);
                Ref.HyperAttentionKv.Samples(samples, s.Seed, p, h, n);
                float logWeight = MathF.Log((float)n / cfg.SampleSize);
                foreach (int i in samples)
                    if (i < start || i >= end) { keys[count] = s.Sorted[baseIdx + i]; scores[count++] = logWeight; }
            }
        }

        float max = float.NegativeInfinity;
        int rowBase = b * maxT;
        for (int i = 0; i < count; i++)
        {
            scores[i] += TensorPrimitives.Dot(q, kCache.Slice((rowBase + keys[i]) * C + h * hs, hs)) * scale;
            if (scores[i] > max) max = scores[i];
        }
        Span<float> o = output.Slice((b * Tq + t) * C + h * hs, hs);
        o.Clear();
        float sum = 0f;
        for (int i = 0; i < count; i++)
        {
            float e = MathF.Exp(scores[i] - max);
            sum += e;
            TensorPrimitives.MultiplyAdd(vCache.Slice((rowBase + keys[i]) * C + h * hs, hs), e, o, o);
        }
        TensorPrimitives.Divide(o, sum, o);
    }

    private static int Bucket(ReadOnlySpan<float> x, float[] hyperplanes, int r)
    {
        int bucket = 0, hs = x.Length;
        for (int t = 0; t < r; t++)
            if (TensorPrimitives.Dot(x, hyperplanes.AsSpan(t * hs, hs)) > 0f) bucket |= 1 << t;
        return bucket;
    }
}
