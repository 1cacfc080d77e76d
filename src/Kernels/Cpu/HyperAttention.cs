using Hyper.Kernels.Reference;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// HyperAttention on the CPU: the same function as <see cref="Ref.HyperAttention"/> (same
/// layouts qkv[B,T,3C], out[B,T,C], lse[B,NH,T], same plan) in float, all cores.
/// <para>
/// The plan's exact diagonal blocks run through the flash kernel (<see cref="AttentionFlash"/>),
/// which writes out and lse; each rectangle is then merged into its query rows by log-sum-exp
/// (<see cref="HyperAttentionRectangle"/>). The backward is the exact gradient of this forward
/// for the fixed plan: the flash backward of every piece, each given the rows' final out and
/// lse, so the pieces' gradients add up to the gradient of the merged softmax.
/// </para>
/// <para>
/// Memory beyond the outputs is O(B·NH·T) ints (bucket ids) plus O(T) per rectangle, the m
/// sampled rows and per-thread tiles: no n×m mask and no sorted copies of q, k or v.
/// Deterministic: parallel items depend on the shape only and partial sums are added in a
/// fixed order.
/// </para>
/// </summary>
public static unsafe class HyperAttention
{
    /// <summary>out[B,T,C] and lse[B,NH,T] (overwritten) of HyperAttention on qkv[B,T,3C] under <paramref name="plan"/>.</summary>
    public static void Forward(Span<float> output, Span<float> lse, ReadOnlySpan<float> qkv, HyperAttentionPlan plan,
        int B, int T, int C, int NH)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Ref.Attention.CheckShapes(output.Length, lse.Length, qkv.Length, B, T, C, NH);
        plan.CheckFits(T, C, NH);
        if (B == 0 || T == 0) return;
        if (plan.Diagonals.Count == 0)
        {
            // No exact piece writes first (non-causal above min_seq_len): start every row empty.
            output.Clear();
            lse.Fill(float.NegativeInfinity);
        }
        fixed (float* o = output, l = lse, x = qkv)
        {
            bool causal = plan.Config.Causal;
            float[] lseTmp = DiagonalScratch(plan, NH);
            fixed (float* lt = lseTmp)
                foreach (HyperAttentionNode d in plan.Diagonals)
                {
                    if (d.QueryCount == T)
                    {
                        AttentionFlash.Forward(o, l, x, B, T, C, NH, causal);
                        continue;
                    }
                    int n = d.QueryCount;
                    for (int b = 0; b < B; b++)
                    {
                        nint row = (nint)b * T + d.QueryStart;
                        AttentionFlash.Forward(o + row * C, lt, x + row * 3 * C, 1, n, C, NH, causal);
                        for (int h = 0; h < NH; h++)
                            new ReadOnlySpan<float>(lt + h * n, n).CopyTo(new Span<float>(l + ((nint)b * NH + h) * T + d.QueryStart, n));
                    }
                }
            Rectangles(plan, x, o, l, null, null, B, T, C, NH);
        }
    }

    /// <summary>
    /// dqkv[B,T,3C] += the exact gradient of <see cref="Forward"/> (plan fixed) given dout[B,T,C]
    /// and the forward's out and lse.
    /// </summary>
    public static void Backward(Span<float> dqkv, ReadOnlySpan<float> dout, ReadOnlySpan<float> qkv,
        ReadOnlySpan<float> output, ReadOnlySpan<float> lse, HyperAttentionPlan plan, int B, int T, int C, int NH)
    {
        ArgumentNullException.ThrowIfNull(plan);
        Ref.Attention.CheckShapes(output.Length, lse.Length, qkv.Length, B, T, C, NH);
        Ref.Attention.CheckBackwardShapes(dqkv.Length, dout.Length, B, T, C);
        plan.CheckFits(T, C, NH);
        if (B == 0 || T == 0) return;
        fixed (float* dx = dqkv, g = dout, x = qkv, o = output, l = lse)
        {
            bool causal = plan.Config.Causal;
            float[] lseTmp = DiagonalScratch(plan, NH);
            fixed (float* lt = lseTmp)
                foreach (HyperAttentionNode d in plan.Diagonals)
                {
                    // The flash backward recomputes P from the lse it is given: the rows' final
                    // lse makes it this piece's share of the merged softmax.
                    if (d.QueryCount == T)
                    {
                        AttentionFlash.Backward(dx, g, x, o, l, B, T, C, NH, causal, B * NH >= AttentionFlash.FusedMinHeads);
                        continue;
                    }
                    int n = d.QueryCount;
                    for (int b = 0; b < B; b++)
                    {
                        nint row = (nint)b * T + d.QueryStart;
                        for (int h = 0; h < NH; h++)
                            new ReadOnlySpan<float>(l + ((nint)b * NH + h) * T + d.QueryStart, n).CopyTo(new Span<float>(lt + h * n, n));
                        AttentionFlash.Backward(dx + row * 3 * C, g + row * C, x + row * 3 * C, o + row * C, lt, 1, n, C, NH, causal,
                            NH >= AttentionFlash.FusedMinHeads);
                    }
                }
            Rectangles(plan, x, o, l, g, dx, B, T, C, NH);
        }
    }

    /// <summary>lse of one diagonal block for all heads [NH, n] (the flash kernel's layout for B = 1).</summary>
    private static float[] DiagonalScratch(HyperAttentionPlan plan, int NH)
    {
        int n = 0;
        foreach (HyperAttentionNode d in plan.Diagonals) n = Math.Max(n, d.QueryCount);
        return new float[NH * n];
    }

    /// <summary>
    /// Every rectangle of the plan for every (b, h), in plan order: sorts, sample gathering, then
    /// the forward merge (<paramref name="dqkv"/> null) or the backward.
    /// </summary>
    private static void Rectangles(HyperAttentionPlan plan, float* qkv, float* output, float* lse, float* dout, float* dqkv,
        int B, int T, int C, int NH)
    {
        if (plan.Rectangles.Count == 0) return;
        int hs = C / NH, hsPad = (hs + AttentionTile.W - 1) / AttentionTile.W * AttentionTile.W, bins = plan.Buckets;
        int maxM = 0;
        for (int r = 0; r < plan.Rectangles.Count; r++)
            for (int h = 0; h < NH; h++) maxM = Math.Max(maxM, plan.Samples(r, h).Length);
        bool backward = dqkv != null;
        var qBuckets = new int[B * NH * T];   // [B, NH, T]
        var kBuckets = new int[B * NH * T];   // [B, NH, T]
        var qIdx = new int[T];                // sorted position -> token [n_q]
        var kIdx = new int[T];                // [n_k]
        var sortKey = new int[bins];          // bucket -> sort key
        var counts = new int[bins + 1];
        var samples = new int[maxM];          // sorted key positions [M]
        var sampleTokens = new int[maxM];     // and their tokens [M]
        var ks = new float[maxM * hsPad];     // sampled k rows [M, hsPad]
        var vs = new float[maxM * hsPad];     // sampled v rows [M, hsPad]
        int partials = backward ? HyperAttentionRectangle.MaxGroups * maxM * hsPad : 0;
        var dks = new float[partials];        // per-group sample dK [G, M, hsPad]
        var dvs = new float[partials];
        for (int k = 0; k < bins; k++) sortKey[k] = plan.SortKey(k);
        fixed (int* qb = qBuckets, kb = kBuckets, qi = qIdx, ki = kIdx, sk = sortKey, cnt = counts, sm = samples, st = sampleTokens)
        fixed (float* pks = ks, pvs = vs, pdks = dks, pdvs = dvs)
        {
            HyperAttentionLsh.Hash(qb, kb, qkv, plan, B, T, C, NH);
            for (int b = 0; b < B; b++)
                for (int h = 0; h < NH; h++)
                    for (int r = 0; r < plan.Rectangles.Count; r++)
                    {
                        HyperAttentionNode node = plan.Rectangles[r];
                        bool sorted = node.Kind == HyperAttentionNodeKind.Sorted;
                        int bh = (b * NH + h) * T;
                        if (sorted)
                        {
                            HyperAttentionLsh.Sort(qi, qb + bh, node.QueryStart, node.QueryCount, sk, bins, cnt);
                            HyperAttentionLsh.Sort(ki, kb + bh, node.KeyStart, node.KeyCount, sk, bins, cnt);
                        }
                        else
                        {
                            for (int p = 0; p < node.QueryCount; p++) qi[p] = node.QueryStart + p;
                            for (int p = 0; p < node.KeyCount; p++) ki[p] = node.KeyStart + p;
                        }
                        ReadOnlySpan<int> drawn = plan.Samples(r, h);
                        int m = drawn.Length;
                        drawn.CopyTo(samples);
                        for (int s = 0; s < m; s++) st[s] = ki[sm[s]];
                        float* kBase = qkv + (nint)b * T * 3 * C + C + h * hs;
                        HyperAttentionRectangle.GatherRows(pks, hsPad, kBase, 3 * C, st, m, hs);
                        HyperAttentionRectangle.GatherRows(pvs, hsPad, kBase + C, 3 * C, st, m, hs);
                        int blockSize = plan.BlockSizeOf(node), blocks = (node.KeyCount + blockSize - 1) / blockSize;
                        var a = new HyperAttentionRectangle.Args
                        {
                            Qkv = qkv, Output = output, Lse = lse, Dout = dout, Dqkv = dqkv,
                            T = T, C = C, NH = NH, Hs = hs, HsPad = hsPad, Batch = b, Head = h,
                            QueryCount = node.QueryCount, KeyCount = node.KeyCount, BlockSize = blockSize, Blocks = blocks,
                            Sorted = sorted, QIdx = qi, KIdx = ki,
                            M = m, Samples = sm, Ks = pks, Vs = pvs,
                            LogW2 = m > 0 ? MathF.Log2((float)node.KeyCount / m) : 0f,
                            Groups = Math.Min(blocks, HyperAttentionRectangle.MaxGroups), DKs = pdks, DVs = pdvs,
                        };
                        if (backward) HyperAttentionRectangle.Backward(a);
                        else HyperAttentionRectangle.Forward(a);
                    }
        }
    }
}
