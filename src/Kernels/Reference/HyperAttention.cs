using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// HyperAttention (Han et al., "HyperAttention: Long-context Attention in Near-Linear Time",
/// ICLR 2024), written to be read: the test oracle in float and the finite-difference subject
/// in double. Layouts as in <see cref="Attention"/>: qkv[B,T,3C], out[B,T,C], lse[B,NH,T],
/// head h in channels [h·hs, (h+1)·hs), scores sᵢⱼ = qᵢ·kⱼ/√hs. The pattern, hyperplanes and
/// samples come from a <see cref="HyperAttentionPlan"/>.
/// <para>
/// A sorted rectangle (n_q queries on n_k keys): every query and key gets an r-bit bucket id
/// (bit t set iff x·hₜ &gt; 0); queries and keys are stably sorted by the bucket's sort key
/// (<see cref="HyperAttentionPlan.SortKey"/>); query at sorted position p attends exactly to
/// its key block (<see cref="HyperAttentionPlan.QueryBlock"/>), and to the m sampled keys,
/// each with weight n_k/m, except samples that fall in its own block (already counted). The
/// two parts are merged by log-sum-exp, then the pieces of the plan are merged the same way.
/// </para>
/// <para>
/// The result is therefore weighted softmax attention over a sparse set of (query, key) pairs:
/// oᵢ = Σⱼ wᵢⱼ e^{sᵢⱼ} vⱼ / Σⱼ wᵢⱼ e^{sᵢⱼ}, lseᵢ = log Σⱼ wᵢⱼ e^{sᵢⱼ}, with wᵢⱼ ∈ {1, n_k/m}
/// (a key sampled twice appears twice). <see cref="Backward{TNum}"/> is the exact gradient of
/// that function for a fixed pattern (the sort is piecewise constant in q and k, so it has no
/// gradient), computed over <see cref="Pattern{TNum}"/>.
/// </para>
/// </summary>
public static class HyperAttention
{
    /// <summary>out[B,T,C] and lse[B,NH,T] (overwritten) of HyperAttention on qkv[B,T,3C] under <paramref name="plan"/>.</summary>
    public static void Forward<TNum>(Span<TNum> output, Span<TNum> lse, ReadOnlySpan<TNum> qkv, HyperAttentionPlan plan,
        int B, int T, int C, int NH) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        Attention.CheckShapes(output.Length, lse.Length, qkv.Length, B, T, C, NH);
        plan.CheckFits(T, C, NH);
        int hs = C / NH;
        var qBuckets = new int[B * NH * T];
        var kBuckets = new int[B * NH * T];
        Buckets(qBuckets, kBuckets, qkv, plan, B, T, C, NH);
        var o = new TNum[T * hs]; // one head's output rows [T, hs]
        var l = new TNum[T];      // and their log-sum-exp [T]
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
            {
                var head = new Head<TNum>(qkv, b, h, T, C, hs);
                o.AsSpan().Clear();
                l.AsSpan().Fill(TNum.NegativeInfinity); // "no keys yet": merging into it just copies
                foreach (HyperAttentionNode d in plan.Diagonals)
                    for (int i = d.QueryStart; i < d.QueryStart + d.QueryCount; i++)
                    {
                        int visible = plan.Config.Causal ? i + 1 : d.KeyStart + d.KeyCount;
                        var keys = new List<(int Key, TNum LogWeight)>();
                        for (int j = d.KeyStart; j < visible; j++) keys.Add((j, TNum.Zero));
                        Merge(o.AsSpan(i * hs, hs), ref l[i], head, i, keys);
                    }
                for (int r = 0; r < plan.Rectangles.Count; r++)
                {
                    HyperAttentionNode node = plan.Rectangles[r];
                    int bh = (b * NH + h) * T;
                    foreach (var (query, blockKeys, sampledKeys) in Rectangle<TNum>(plan, r, h, qBuckets.AsSpan(bh, T), kBuckets.AsSpan(bh, T)))
                    {
                        // The rectangle's own two parts are merged first, as in the paper ...
                        var part = new TNum[hs];
                        TNum partLse = TNum.NegativeInfinity;
                        Merge(part, ref partLse, head, query, blockKeys);
                        Merge(part, ref partLse, head, query, sampledKeys);
                        // ... and then the rectangle into the row (lower rows of Algorithm 4).
                        MergeResult(o.AsSpan(query * hs, hs), ref l[query], part, partLse);
                    }
                }
                for (int i = 0; i < T; i++)
                {
                    o.AsSpan(i * hs, hs).CopyTo(output.Slice((b * T + i) * C + h * hs, hs));
                    lse[(b * NH + h) * T + i] = l[i];
                }
            }
    }

    /// <summary>
    /// dqkv[B,T,3C] += the exact gradient of <see cref="Forward{TNum}"/> with respect to qkv
    /// (the plan and the buckets held fixed), given dout[B,T,C] and the forward's out and lse:
    /// the flash-attention backward over <see cref="Pattern{TNum}"/> with log w as an additive
    /// bias: pᵢⱼ = wᵢⱼ·exp(sᵢⱼ − lseᵢ), Dᵢ = doutᵢ·outᵢ, dsᵢⱼ = pᵢⱼ·(doutᵢ·vⱼ − Dᵢ),
    /// dqᵢ += Σⱼ dsᵢⱼ kⱼ/√hs, dkⱼ += Σᵢ dsᵢⱼ qᵢ/√hs, dvⱼ += Σᵢ pᵢⱼ doutᵢ.
    /// </summary>
    public static void Backward<TNum>(Span<TNum> dqkv, ReadOnlySpan<TNum> dout, ReadOnlySpan<TNum> qkv,
        ReadOnlySpan<TNum> output, ReadOnlySpan<TNum> lse, HyperAttentionPlan plan, int B, int T, int C, int NH)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        Attention.CheckShapes(output.Length, lse.Length, qkv.Length, B, T, C, NH);
        Attention.CheckBackwardShapes(dqkv.Length, dout.Length, B, T, C);
        plan.CheckFits(T, C, NH);
        int hs = C / NH;
        TNum scale = TNum.One / TNum.Sqrt(TNum.CreateChecked(hs));
        List<(int Key, TNum LogWeight)>[] pattern = Pattern<TNum>(qkv, plan, B, T, C, NH);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < T; i++)
                {
                    int qOff = (b * T + i) * 3 * C + h * hs;
                    ReadOnlySpan<TNum> q = qkv.Slice(qOff, hs);
                    ReadOnlySpan<TNum> g = dout.Slice((b * T + i) * C + h * hs, hs);
                    ReadOnlySpan<TNum> o = output.Slice((b * T + i) * C + h * hs, hs);
                    Span<TNum> dq = dqkv.Slice(qOff, hs);
                    TNum rowLse = lse[(b * NH + h) * T + i];
                    TNum D = TNum.Zero;
                    for (int d = 0; d < hs; d++) D += g[d] * o[d];
                    foreach (var (j, logW) in pattern[(b * NH + h) * T + i])
                    {
                        int kOff = (b * T + j) * 3 * C + C + h * hs;
                        ReadOnlySpan<TNum> k = qkv.Slice(kOff, hs);
                        ReadOnlySpan<TNum> v = qkv.Slice(kOff + C, hs);
                        Span<TNum> dk = dqkv.Slice(kOff, hs);
                        Span<TNum> dv = dqkv.Slice(kOff + C, hs);
                        TNum s = TNum.Zero, dp = TNum.Zero;
                        for (int d = 0; d < hs; d++)
                        {
                            s += q[d] * k[d];
                            dp += g[d] * v[d];
                        }
                        TNum p = TNum.Exp(s * scale + logW - rowLse);
                        TNum ds = p * (dp - D) * scale;
                        for (int d = 0; d < hs; d++)
                        {
                            dv[d] += p * g[d];
                            dq[d] += ds * k[d];
                            dk[d] += ds * q[d];
                        }
                    }
                }
    }

    /// <summary>
    /// The weighted key set of every query row [B·NH·T]: (key token, log weight) pairs whose
    /// weighted softmax is the forward's output — the diagonal blocks' keys with weight 1, an
    /// exact rectangle's keys with weight 1, a sorted rectangle's block keys with weight 1 and
    /// its unmasked samples with weight n_k/m (once per draw).
    /// </summary>
    public static List<(int Key, TNum LogWeight)>[] Pattern<TNum>(ReadOnlySpan<TNum> qkv, HyperAttentionPlan plan,
        int B, int T, int C, int NH) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        var qBuckets = new int[B * NH * T];
        var kBuckets = new int[B * NH * T];
        Buckets(qBuckets, kBuckets, qkv, plan, B, T, C, NH);
        var rows = new List<(int, TNum)>[B * NH * T];
        for (int i = 0; i < rows.Length; i++) rows[i] = [];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
            {
                int bh = (b * NH + h) * T;
                foreach (HyperAttentionNode d in plan.Diagonals)
                    for (int i = d.QueryStart; i < d.QueryStart + d.QueryCount; i++)
                        for (int j = d.KeyStart; j < (plan.Config.Causal ? i + 1 : d.KeyStart + d.KeyCount); j++)
                            rows[bh + i].Add((j, TNum.Zero));
                for (int r = 0; r < plan.Rectangles.Count; r++)
                    foreach (var (query, blockKeys, sampledKeys) in Rectangle<TNum>(plan, r, h, qBuckets.AsSpan(bh, T), kBuckets.AsSpan(bh, T)))
                        rows[bh + query].AddRange([.. blockKeys, .. sampledKeys]);
            }
        return rows;
    }

    /// <summary>
    /// The r-bit bucket id of every query and key row, qBuckets/kBuckets[B,NH,T]: bit t is set iff
    /// x·hₜ &gt; 0 for hyperplane t of the plan (the official code's convention).
    /// </summary>
    public static void Buckets<TNum>(Span<int> qBuckets, Span<int> kBuckets, ReadOnlySpan<TNum> qkv, HyperAttentionPlan plan,
        int B, int T, int C, int NH) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        int hs = C / NH, r = plan.Config.LshProjections;
        ReadOnlySpan<float> planes = plan.Hyperplanes;
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < T; i++)
                    for (int part = 0; part < 2; part++)
                    {
                        ReadOnlySpan<TNum> x = qkv.Slice((b * T + i) * 3 * C + part * C + h * hs, hs);
                        int bucket = 0;
                        for (int t = 0; t < r; t++)
                        {
                            TNum dot = TNum.Zero;
                            for (int d = 0; d < hs; d++) dot += x[d] * TNum.CreateChecked(planes[t * hs + d]);
                            if (dot > TNum.Zero) bucket |= 1 << t;
                        }
                        (part == 0 ? qBuckets : kBuckets)[(b * NH + h) * T + i] = bucket;
                    }
    }

    /// <summary>
    /// Tokens start, start+1, ... stably sorted by their bucket's sort key: the returned array
    /// maps a sorted position to a token (the official torch.sort(..., stable=True)).
    /// </summary>
    public static int[] SortedOrder(ReadOnlySpan<int> buckets, int start, int count, HyperAttentionPlan plan)
    {
        var keys = new int[count];
        var order = new int[count];
        for (int p = 0; p < count; p++)
        {
            keys[p] = plan.SortKey(buckets[start + p]);
            order[p] = start + p;
        }
        // Array.Sort is not stable; sorting (key, token) pairs makes ties keep token order.
        Array.Sort(order, (x, y) => keys[x - start] != keys[y - start] ? keys[x - start].CompareTo(keys[y - start]) : x.CompareTo(y));
        return order;
    }

    /// <summary>
    /// Rectangle <paramref name="r"/> of the plan for head h, one query at a time: the query token,
    /// its exact keys (weight 1) and its sampled keys (weight n_k/m) as (key token, log weight).
    /// </summary>
    private static IEnumerable<(int Query, List<(int, TNum)> BlockKeys, List<(int, TNum)> SampledKeys)> Rectangle<TNum>(
        HyperAttentionPlan plan, int r, int h, Span<int> qBuckets, Span<int> kBuckets)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        HyperAttentionNode node = plan.Rectangles[r];
        var result = new List<(int, List<(int, TNum)>, List<(int, TNum)>)>();
        if (node.Kind == HyperAttentionNodeKind.Exact)
        {
            for (int i = node.QueryStart; i < node.QueryStart + node.QueryCount; i++)
            {
                var keys = new List<(int, TNum)>();
                for (int j = node.KeyStart; j < node.KeyStart + node.KeyCount; j++) keys.Add((j, TNum.Zero));
                result.Add((i, keys, []));
            }
            return result;
        }
        int[] queries = SortedOrder(qBuckets, node.QueryStart, node.QueryCount, plan);
        int[] keyOrder = SortedOrder(kBuckets, node.KeyStart, node.KeyCount, plan);
        int nq = node.QueryCount, nk = node.KeyCount, bs = plan.Config.BlockSize;
        ReadOnlySpan<int> samples = plan.Samples(r, h);
        TNum logW = TNum.Log(TNum.CreateChecked(nk) / TNum.CreateChecked(samples.Length));
        for (int p = 0; p < nq; p++)
        {
            int block = HyperAttentionPlan.QueryBlock(p, nq, nk, bs);
            var blockKeys = new List<(int, TNum)>();
            for (int s = block * bs; s < Math.Min(nk, (block + 1) * bs); s++) blockKeys.Add((keyOrder[s], TNum.Zero));
            var sampled = new List<(int, TNum)>();
            foreach (int s in samples)
                if (s / bs != block) // a sample in the row's own block is already counted exactly
                    sampled.Add((keyOrder[s], logW));
            result.Add((queries[p], blockKeys, sampled));
        }
        return result;
    }

    /// <summary>
    /// Softmax attention of query row i over weighted keys, merged into (o, lse) by log-sum-exp.
    /// An empty key set changes nothing.
    /// </summary>
    private static void Merge<TNum>(Span<TNum> o, ref TNum lse, Head<TNum> head, int i, List<(int Key, TNum LogWeight)> keys)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        if (keys.Count == 0) return;
        var s = new TNum[keys.Count];
        TNum max = TNum.NegativeInfinity;
        for (int n = 0; n < keys.Count; n++)
        {
            s[n] = head.Score(i, keys[n].Key) + keys[n].LogWeight;
            if (s[n] > max) max = s[n];
        }
        TNum sum = TNum.Zero;
        for (int n = 0; n < keys.Count; n++) sum += s[n] = TNum.Exp(s[n] - max);
        var part = new TNum[o.Length];
        for (int n = 0; n < keys.Count; n++)
        {
            ReadOnlySpan<TNum> v = head.V(keys[n].Key);
            for (int d = 0; d < part.Length; d++) part[d] += s[n] / sum * v[d];
        }
        MergeResult(o, ref lse, part, max + TNum.Log(sum));
    }

    /// <summary>
    /// (o, lse) ← the log-sum-exp merge with (o2, lse2): c = 1/(1 + e^{lse2−lse}),
    /// o = c·o + (1−c)·o2, lse = log(e^{lse} + e^{lse2}). lse = −∞ (nothing yet) takes o2 as is.
    /// </summary>
    private static void MergeResult<TNum>(Span<TNum> o, ref TNum lse, ReadOnlySpan<TNum> o2, TNum lse2)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        if (TNum.IsNegativeInfinity(lse2)) return;
        if (TNum.IsNegativeInfinity(lse))
        {
            o2.CopyTo(o);
            lse = lse2;
            return;
        }
        TNum max = TNum.Max(lse, lse2);
        TNum a = TNum.Exp(lse - max), c = TNum.Exp(lse2 - max);
        for (int d = 0; d < o.Length; d++) o[d] = (a * o[d] + c * o2[d]) / (a + c);
        lse = max + TNum.Log(a + c);
    }

    /// <summary>One (batch, head)'s rows of qkv, with its scores.</summary>
    private readonly ref struct Head<TNum>(ReadOnlySpan<TNum> qkv, int b, int h, int T, int C, int hs)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        private readonly ReadOnlySpan<TNum> _qkv = qkv;
        private readonly TNum _scale = TNum.One / TNum.Sqrt(TNum.CreateChecked(hs));

        public ReadOnlySpan<TNum> Q(int i) => _qkv.Slice((b * T + i) * 3 * C + h * hs, hs);
        public ReadOnlySpan<TNum> K(int j) => _qkv.Slice((b * T + j) * 3 * C + C + h * hs, hs);
        public ReadOnlySpan<TNum> V(int j) => _qkv.Slice((b * T + j) * 3 * C + 2 * C + h * hs, hs);

        /// <summary>sᵢⱼ = qᵢ·kⱼ/√hs.</summary>
        public TNum Score(int i, int j)
        {
            ReadOnlySpan<TNum> q = Q(i), k = K(j);
            TNum s = TNum.Zero;
            for (int d = 0; d < hs; d++) s += q[d] * k[d];
            return s * _scale;
        }
    }
}
