using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Hyper.Kernels.Reference;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The tiles of one HyperAttention rectangle for one (batch, head): a sorted rectangle (each
/// sorted query block against its key block, then against the gathered samples with bias
/// log2(n_k/m), −∞ where a sample lies in the block) or an exact one (one block of all keys,
/// no samples). One online softmax runs over the block and the samples together, which equals
/// the paper's log-sum-exp merge of the two parts; its result is then merged by log-sum-exp
/// into the row's running (out, lse).
/// <para>
/// q, k and v are never copied whole in sorted order: rows are gathered by index into
/// per-thread tiles (64 query rows at a time, a block's b key and value rows) and the m sampled
/// k, v rows once per rectangle, then processed in the same transposed-tile
/// layout as <see cref="AttentionFlash"/> (Sᵀ[key, query], queries contiguous, scores in log2
/// units) and the same <see cref="AttentionTile"/> micro-kernels.
/// </para>
/// <para>
/// Backward: the flash backward over exactly that pattern, given the final out and lse of each
/// row (Dᵢ = doutᵢ·outᵢ, Pᵢⱼ = wᵢⱼ·exp(sᵢⱼ − lseᵢ), dS = P∘(dP − D)). In a sorted rectangle
/// every key lies in one block, so one parallel item per group of blocks owns its blocks' dK,
/// dV; the sampled keys' dK, dV go to per-group partial sums added in group order afterwards
/// (deterministic). An exact rectangle splits into key chunks (dK, dV) and then query chunks (dQ).
/// </para>
/// <para>
/// The per-tile helpers are compiled fully optimised on first call (AggressiveOptimization):
/// at tier 0 their Vector512 code is not inlined and runs many times slower, and a short call
/// (one 4096-token rectangle) ends before tiering would have replaced it.
/// </para>
/// </summary>
internal static unsafe class HyperAttentionRectangle
{
    private const int Bk = AttentionTile.Block;
    private const int Nv = Bk / AttentionTile.W;
    /// <summary>Queries per forward item of an exact rectangle, and keys per dK/dV item of its backward.</summary>
    private const int Chunk = 4 * Bk;
    /// <summary>At most this many backward items (and sample partial sums) per sorted rectangle: fixed, so results do not depend on the thread count.</summary>
    internal const int MaxGroups = 16;
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2 = 0.693147180559945309f;

    /// <summary>The rectangle, its head, its sorted orders and its gathered samples: what the parallel items read.</summary>
    public sealed class Args
    {
        public float* Qkv, Output, Lse, Dout, Dqkv;
        public int T, C, NH, Hs, HsPad, Batch, Head; // Batch, Head: which (b, h)
        public int QueryCount, KeyCount, BlockSize, Blocks;
        public bool Sorted;
        public int* QIdx, KIdx;       // sorted position -> token               [n_q], [n_k]
        public int M;                 // samples
        public int* Samples;          // sorted key positions                    [M]
        public float* Ks, Vs;         // sampled k, v rows, zero-padded          [M, hsPad]
        public float LogW2;           // log2(n_k / M)
        public int Groups;            // backward items of a sorted rectangle
        public float* DKs, DVs;       // per-group sample gradients              [Groups, M, hsPad]

        /// <summary>First k row of this head (k of token j at + j·3C); v is C further.</summary>
        public float* KBase => Qkv + (nint)Batch * T * 3 * C + C + Head * Hs;
        public float* QBase => Qkv + (nint)Batch * T * 3 * C + Head * Hs;
    }

    // ------------------------------------------------------------------ forward

    /// <summary>Merges this rectangle's attention into output/lse for every one of its query rows.</summary>
    public static void Forward(Args a)
    {
        if (a.Sorted)
            CpuParallel.For(a.Blocks, blk => ForwardItem(a, blk, QueryStart(a, blk), QueryStart(a, blk + 1)));
        else
        {
            int chunks = (a.QueryCount + Chunk - 1) / Chunk;
            CpuParallel.For(chunks, c => ForwardItem(a, 0, c * Chunk, Math.Min(a.QueryCount, (c + 1) * Chunk)));
        }
    }

    private static void ForwardItem(Args a, int blk, int p0, int p1)
    {
        if (p0 >= p1) return;
        Tiles t = Tiles.Get(a);
        int k0 = blk * a.BlockSize, k1 = Math.Min(a.KeyCount, k0 + a.BlockSize);
        SampleBias(a, t.Bias, blk);
        float* kBase = a.KBase;
        // A sorted block's rows lie scattered over the sequence (gathers wait on memory), so
        // they are gathered once for all its query tiles; an exact rectangle's keys are in
        // token order and too many to hold, so they are copied tile by tile.
        if (a.Sorted)
        {
            GatherRows(t.Kb, t.HsPad, kBase, 3 * a.C, a.KIdx + k0, k1 - k0, a.Hs);
            GatherRows(t.Vb, t.HsPad, kBase + a.C, 3 * a.C, a.KIdx + k0, k1 - k0, a.Hs);
        }
        for (int q0 = p0; q0 < p1; q0 += Bk)
        {
            int nq = Math.Min(Bk, p1 - q0);
            GatherRows(t.Qp, t.HsPad, a.QBase, 3 * a.C, a.QIdx + q0, nq, a.Hs);
            Transpose(t.Qt, t.Qp, nq, t.HsPad, Log2E / MathF.Sqrt(a.Hs));
            new Span<float>(t.M, Bk).Fill(float.NegativeInfinity);
            new Span<float>(t.L, Bk).Clear();
            bool first = true;
            for (int j0 = k0; j0 < k1; j0 += Bk)
            {
                int nk = Math.Min(Bk, k1 - j0);
                float* k = t.Kb + (nint)(j0 - k0) * t.HsPad, v = t.Vb + (nint)(j0 - k0) * t.HsPad;
                if (!a.Sorted)
                {
                    GatherRows(k = t.Kp, t.HsPad, kBase, 3 * a.C, a.KIdx + j0, nk, a.Hs);
                    GatherRows(v = t.Vp, t.HsPad, kBase + a.C, 3 * a.C, a.KIdx + j0, nk, a.Hs);
                }
                ForwardTile(t, nq, k, v, nk, null, first);
                first = false;
            }
            // The block tiles came first, so every row's running max is finite by now and a
            // fully masked sample tile (all −∞) leaves it as it is.
            for (int s0 = 0; s0 < a.M; s0 += Bk)
                ForwardTile(t, nq, a.Ks + s0 * t.HsPad, a.Vs + s0 * t.HsPad, Math.Min(Bk, a.M - s0), t.Bias + s0, first: false);
            MergeRows(a, t, q0, nq);
        }
    }

    /// <summary>
    /// One key tile of the online softmax for one query tile: Sᵀ = K·Qᵀ (+ bias per key), new
    /// running max, Pᵀ = exp2(Sᵀ − m), rescale of the accumulator, O (+)= P·V.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardTile(Tiles t, int nq, float* k, float* v, int nk, float* bias, bool first)
    {
        int nvh = t.HsPad / AttentionTile.W;
        AttentionTile.Gemm(t.S, Bk, k, t.HsPad, 1, t.Qt, Bk, nk, t.Hs, Nv, accumulate: false);
        if (bias != null)
            for (int j = 0; j < nk; j++)
            {
                Vector512<float> bj = Vector512.Create(bias[j]);
                for (int v0 = 0; v0 < Bk; v0 += 16) (Vector512.Load(t.S + j * Bk + v0) + bj).Store(t.S + j * Bk + v0);
            }
        for (int vi = 0; vi < Nv; vi++)
        {
            float* sv = t.S + vi * 16;
            Vector512<float> mOld = Vector512.Load(t.M + vi * 16), mNew = mOld;
            for (int j = 0; j < nk; j++) mNew = Vector512.Max(mNew, Vector512.Load(sv + j * Bk));
            Vector512<float> sum = Vector512<float>.Zero;
            for (int j = 0; j < nk; j++)
            {
                Vector512<float> p = AttentionTile.Exp2(Vector512.Load(sv + j * Bk) - mNew);
                p.Store(sv + j * Bk);
                sum += p;
            }
            Vector512<float> alpha = AttentionTile.Exp2(mOld - mNew); // 0 on the first tile (mOld = −∞)
            alpha.Store(t.Alpha + vi * 16);
            Vector512.FusedMultiplyAdd(Vector512.Load(t.L + vi * 16), alpha, sum).Store(t.L + vi * 16);
            mNew.Store(t.M + vi * 16);
        }
        if (!first)
            for (int i = 0; i < nq; i++)
            {
                Vector512<float> alpha = Vector512.Create(t.Alpha[i]);
                float* row = t.O + i * t.HsPad;
                for (int d = 0; d < t.HsPad; d += 16) (Vector512.Load(row + d) * alpha).Store(row + d);
            }
        AttentionTile.Gemm(t.O, t.HsPad, t.S, 1, Bk, v, t.HsPad, nq, nk, nvh, accumulate: !first);
    }

    /// <summary>
    /// Normalises the query tile's rows and merges each into its token's running (out, lse):
    /// with L the stored lse and L' this rectangle's, out = (e^{L−M}·out + e^{L'−M}·o')/(e^{L−M} + e^{L'−M}),
    /// M = max(L, L'); L = −∞ (no piece yet) just stores o'.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MergeRows(Args a, Tiles t, int q0, int nq)
    {
        int hs = a.Hs;
        for (int i = 0; i < nq; i++)
        {
            int token = a.QIdx[q0 + i];
            float* o = a.Output + ((nint)a.Batch * a.T + token) * a.C + a.Head * hs;
            float* lp = a.Lse + ((nint)a.Batch * a.NH + a.Head) * a.T + token;
            float inv = 1f / t.L[i];
            float lseNew = (t.M[i] + MathF.Log2(t.L[i])) * Ln2;
            var row = new ReadOnlySpan<float>(t.O + i * t.HsPad, hs);
            var dst = new Span<float>(o, hs);
            float old = *lp;
            if (float.IsNegativeInfinity(old))
            {
                TensorPrimitives.Multiply(row, inv, dst);
                *lp = lseNew;
                continue;
            }
            float max = MathF.Max(old, lseNew);
            float wOld = MathF.Exp(old - max), wNew = MathF.Exp(lseNew - max), z = wOld + wNew;
            // dst = (wOld·dst + wNew·inv·row) / z
            TensorPrimitives.Multiply(dst, wOld / z, dst);
            TensorPrimitives.MultiplyAdd(row, wNew * inv / z, dst, dst);
            *lp = max + MathF.Log(z);
        }
    }

    // ------------------------------------------------------------------ backward

    /// <summary>Adds this rectangle's part of dQ, dK, dV to dqkv.</summary>
    public static void Backward(Args a)
    {
        if (a.Sorted)
        {
            CpuParallel.For(a.Groups, g => BackwardGroup(a, g));
            // Sampled keys: partial sums added in group order, then into each draw's key row.
            int hs = a.Hs;
            float* kBase = a.Dqkv + (nint)a.Batch * a.T * 3 * a.C + a.C + a.Head * hs;
            for (int s = 0; s < a.M; s++)
            {
                float* dk = kBase + (nint)a.KIdx[a.Samples[s]] * 3 * a.C;
                for (int g = 0; g < a.Groups; g++)
                {
                    nint at = ((nint)g * a.M + s) * a.HsPad;
                    AddRow(dk, a.DKs + at, hs);
                    AddRow(dk + a.C, a.DVs + at, hs);
                }
            }
            return;
        }
        int keyChunks = (a.KeyCount + Chunk - 1) / Chunk, queryTiles = (a.QueryCount + Bk - 1) / Bk;
        CpuParallel.For(keyChunks, c => BackwardKeyChunk(a, c * Chunk, Math.Min(a.KeyCount, (c + 1) * Chunk)));
        CpuParallel.For(queryTiles, qt => BackwardQueryTile(a, qt * Bk, Math.Min(a.QueryCount, (qt + 1) * Bk)));
    }

    /// <summary>Blocks [g·nb/G, (g+1)·nb/G) of a sorted rectangle: all their gradients, the samples' into partial sums g.</summary>
    private static void BackwardGroup(Args a, int g)
    {
        Tiles t = Tiles.Get(a);
        float* dks = a.DKs + (nint)g * a.M * t.HsPad, dvs = a.DVs + (nint)g * a.M * t.HsPad;
        new Span<float>(dks, a.M * t.HsPad).Clear();
        new Span<float>(dvs, a.M * t.HsPad).Clear();
        int first = (int)((long)g * a.Blocks / a.Groups), last = (int)((long)(g + 1) * a.Blocks / a.Groups);
        float* kBase = a.KBase;
        for (int blk = first; blk < last; blk++)
        {
            int k0 = blk * a.BlockSize, nkb = Math.Min(a.BlockSize, a.KeyCount - k0);
            GatherRows(t.Kb, t.HsPad, kBase, 3 * a.C, a.KIdx + k0, nkb, a.Hs);
            GatherRows(t.Vb, t.HsPad, kBase + a.C, 3 * a.C, a.KIdx + k0, nkb, a.Hs);
            new Span<float>(t.DKb, nkb * t.HsPad).Clear();
            new Span<float>(t.DVb, nkb * t.HsPad).Clear();
            SampleBias(a, t.Bias, blk);
            int p0 = QueryStart(a, blk), p1 = QueryStart(a, blk + 1);
            for (int q0 = p0; q0 < p1; q0 += Bk)
            {
                int nq = Math.Min(Bk, p1 - q0);
                PrepareQueries(a, t, q0, nq);
                for (int j0 = 0; j0 < nkb; j0 += Bk)
                {
                    nint at = (nint)j0 * t.HsPad;
                    BackwardTile(t, nq, t.Kb + at, t.Vb + at, Math.Min(Bk, nkb - j0), null, dq: true, t.DKb + at, t.DVb + at);
                }
                for (int s0 = 0; s0 < a.M; s0 += Bk)
                {
                    nint at = (nint)s0 * t.HsPad;
                    BackwardTile(t, nq, a.Ks + at, a.Vs + at, Math.Min(Bk, a.M - s0), t.Bias + s0, dq: true, dks + at, dvs + at);
                }
                ScatterAdd(a, a.QIdx + q0, nq, t.DQ, t.HsPad, 0);
            }
            ScatterAdd(a, a.KIdx + k0, nkb, t.DKb, t.HsPad, a.C);
            ScatterAdd(a, a.KIdx + k0, nkb, t.DVb, t.HsPad, 2 * a.C);
        }
    }

    /// <summary>Exact rectangle: dK, dV of keys [k0, k1) over every query.</summary>
    private static void BackwardKeyChunk(Args a, int k0, int k1)
    {
        Tiles t = Tiles.Get(a);
        int nkc = k1 - k0;
        GatherRows(t.Kb, t.HsPad, a.KBase, 3 * a.C, a.KIdx + k0, nkc, a.Hs);
        GatherRows(t.Vb, t.HsPad, a.KBase + a.C, 3 * a.C, a.KIdx + k0, nkc, a.Hs);
        new Span<float>(t.DKb, nkc * t.HsPad).Clear();
        new Span<float>(t.DVb, nkc * t.HsPad).Clear();
        for (int q0 = 0; q0 < a.QueryCount; q0 += Bk)
        {
            int nq = Math.Min(Bk, a.QueryCount - q0);
            PrepareQueries(a, t, q0, nq);
            for (int j0 = 0; j0 < nkc; j0 += Bk)
            {
                nint at = (nint)j0 * t.HsPad;
                BackwardTile(t, nq, t.Kb + at, t.Vb + at, Math.Min(Bk, nkc - j0), null, dq: false, t.DKb + at, t.DVb + at);
            }
        }
        ScatterAdd(a, a.KIdx + k0, nkc, t.DKb, t.HsPad, a.C);
        ScatterAdd(a, a.KIdx + k0, nkc, t.DVb, t.HsPad, 2 * a.C);
    }

    /// <summary>Exact rectangle: dQ of queries [q0, q1) (at most one tile) over every key.</summary>
    private static void BackwardQueryTile(Args a, int q0, int q1)
    {
        Tiles t = Tiles.Get(a);
        int nq = q1 - q0;
        PrepareQueries(a, t, q0, nq);
        for (int j0 = 0; j0 < a.KeyCount; j0 += Bk)
        {
            int nk = Math.Min(Bk, a.KeyCount - j0);
            GatherRows(t.Kp, t.HsPad, a.KBase, 3 * a.C, a.KIdx + j0, nk, a.Hs);
            GatherRows(t.Vp, t.HsPad, a.KBase + a.C, 3 * a.C, a.KIdx + j0, nk, a.Hs);
            BackwardTile(t, nq, t.Kp, t.Vp, nk, null, dq: true, null, null);
        }
        ScatterAdd(a, a.QIdx + q0, nq, t.DQ, t.HsPad, 0);
    }

    /// <summary>
    /// Gathers one query tile: q rows and qᵀ (log2 units), dout rows and doutᵀ, lse·log2(e) and
    /// D = dout·out per row (padding lanes: lse = +∞ so P = 0, D = 0), and clears dQ.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PrepareQueries(Args a, Tiles t, int q0, int nq)
    {
        int hs = a.Hs;
        float* dBase = a.Dout + (nint)a.Batch * a.T * a.C + a.Head * hs;
        float* oBase = a.Output + (nint)a.Batch * a.T * a.C + a.Head * hs;
        GatherRows(t.Qp, t.HsPad, a.QBase, 3 * a.C, a.QIdx + q0, nq, hs);
        GatherRows(t.DOp, t.HsPad, dBase, a.C, a.QIdx + q0, nq, hs);
        Transpose(t.Qt, t.Qp, nq, t.HsPad, Log2E / MathF.Sqrt(hs));
        Transpose(t.DOt, t.DOp, nq, t.HsPad, 1f);
        float* lseRow = a.Lse + ((nint)a.Batch * a.NH + a.Head) * a.T;
        for (int i = 0; i < Bk; i++)
        {
            if (i < nq)
            {
                int token = a.QIdx[q0 + i];
                t.Lse2[i] = lseRow[token] * Log2E;
                t.D[i] = TensorPrimitives.Dot(new ReadOnlySpan<float>(t.DOp + i * t.HsPad, hs), new ReadOnlySpan<float>(oBase + (nint)token * a.C, hs));
            }
            else
            {
                t.Lse2[i] = float.PositiveInfinity;
                t.D[i] = 0;
            }
        }
        new Span<float>(t.DQ, Bk * t.HsPad).Clear();
    }

    /// <summary>
    /// One (query tile, key tile) of the backward: Sᵀ = K·Qᵀ, dPᵀ = V·doutᵀ,
    /// Pᵀ = exp2(Sᵀ + bias − lse), dSᵀ = Pᵀ∘(dPᵀ − D)/√hs; then dV += Pᵀ·dout, dK += dSᵀ·q
    /// (either skipped when null) and, with <paramref name="dq"/>, dQ += dS·K.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BackwardTile(Tiles t, int nq, float* k, float* v, int nk, float* bias, bool dq, float* dk, float* dv)
    {
        int nvh = t.HsPad / AttentionTile.W;
        AttentionTile.Gemm(t.S, Bk, k, t.HsPad, 1, t.Qt, Bk, nk, t.Hs, Nv, accumulate: false);
        AttentionTile.Gemm(t.DP, Bk, v, t.HsPad, 1, t.DOt, Bk, nk, t.Hs, Nv, accumulate: false);
        Vector512<float> scale = Vector512.Create(1f / MathF.Sqrt(t.Hs));
        for (int j = 0; j < nk; j++)
        {
            Vector512<float> bj = Vector512.Create(bias == null ? 0f : bias[j]);
            for (int vi = 0; vi < Nv; vi++)
            {
                int at = j * Bk + vi * 16;
                Vector512<float> p = AttentionTile.Exp2(Vector512.Load(t.S + at) + bj - Vector512.Load(t.Lse2 + vi * 16));
                p.Store(t.S + at);
                (p * (Vector512.Load(t.DP + at) - Vector512.Load(t.D + vi * 16)) * scale).Store(t.DP + at);
            }
        }
        if (dv != null) AttentionTile.Gemm(dv, t.HsPad, t.S, Bk, 1, t.DOp, t.HsPad, nk, nq, nvh, accumulate: true);
        if (dk != null) AttentionTile.Gemm(dk, t.HsPad, t.DP, Bk, 1, t.Qp, t.HsPad, nk, nq, nvh, accumulate: true);
        if (dq) AttentionTile.Gemm(t.DQ, t.HsPad, t.DP, 1, Bk, k, t.HsPad, nq, nk, nvh, accumulate: true);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>First sorted query of block blk (an exact rectangle has one block: all queries).</summary>
    private static int QueryStart(Args a, int blk)
        => a.Sorted ? HyperAttentionPlan.QueryBlockStart(blk, a.QueryCount, a.KeyCount, a.BlockSize) : (blk == 0 ? 0 : a.QueryCount);

    /// <summary>bias[s] = log2(n_k/m) for each sample outside block blk, −∞ for those inside (counted exactly already).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SampleBias(Args a, float* bias, int blk)
    {
        for (int s = 0; s < a.M; s++) bias[s] = a.Samples[s] / a.BlockSize == blk ? float.NegativeInfinity : a.LogW2;
    }

    /// <summary>dst[i, :hs] = the row of token idx[i] (at base + token·stride); columns hs..hsPad zeroed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GatherRows(float* dst, int hsPad, float* src, int stride, int* idx, int n, int hs)
    {
        for (int i = 0; i < n; i++)
        {
            float* from = src + (nint)idx[i] * stride, to = dst + (nint)i * hsPad;
            if (hs == hsPad && Vector512.IsHardwareAccelerated)
                for (int d = 0; d < hs; d += 16) Vector512.Load(from + d).Store(to + d);
            else
            {
                new ReadOnlySpan<float>(from, hs).CopyTo(new Span<float>(to, hs));
                new Span<float>(to + hs, hsPad - hs).Clear();
            }
        }
    }

    /// <summary>dqkv rows of tokens idx[i], channel offset <paramref name="part"/> (0 q, C k, 2C v) += src rows.</summary>
    private static void ScatterAdd(Args a, int* idx, int n, float* src, int srcStride, int part)
    {
        float* dBase = a.Dqkv + (nint)a.Batch * a.T * 3 * a.C + part + a.Head * a.Hs;
        for (int i = 0; i < n; i++) AddRow(dBase + (nint)idx[i] * 3 * a.C, src + (nint)i * srcStride, a.Hs);
    }

    private static void AddRow(float* dst, float* src, int n)
    {
        var d = new Span<float>(dst, n);
        TensorPrimitives.Add(d, new ReadOnlySpan<float>(src, n), d);
    }

    /// <summary>dst[d·Bk + i] = src[i·hsPad + d]·scale for i &lt; n, 0 for n ≤ i &lt; Bk, d &lt; hsPad.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose(float* dst, float* src, int n, int hsPad, float scale)
    {
        if (Avx512F.IsSupported)
        {
            for (int d0 = 0; d0 < hsPad; d0 += 16)
                for (int i0 = 0; i0 < Bk; i0 += 16)
                    AttentionTile.Transpose16(dst + d0 * Bk + i0, Bk, src + i0 * hsPad + d0, hsPad, Math.Clamp(n - i0, 0, 16), scale);
            return;
        }
        for (int d = 0; d < hsPad; d++)
            for (int i = 0; i < Bk; i++)
                dst[d * Bk + i] = i < n ? src[i * hsPad + d] * scale : 0f;
    }

    /// <summary>One thread's tiles, carved from its scratch (shapes beside each).</summary>
    private readonly struct Tiles
    {
        public readonly int Hs, HsPad;
        public readonly float* Qp;    // q rows                    [Bk, hsPad]
        public readonly float* DOp;   // dout rows                 [Bk, hsPad]
        public readonly float* DQ;    // dq of the query tile      [Bk, hsPad]
        public readonly float* O;     // unnormalised output       [Bk, hsPad]
        public readonly float* Kp;    // one gathered key tile     [Bk, hsPad]
        public readonly float* Vp;    // and its values            [Bk, hsPad]
        public readonly float* Qt;    // qᵀ·log2(e)/√hs            [hsPad, Bk]
        public readonly float* DOt;   // doutᵀ                     [hsPad, Bk]
        public readonly float* S;     // Sᵀ then Pᵀ                [Bk keys, Bk queries]
        public readonly float* DP;    // dPᵀ then dSᵀ              [Bk keys, Bk queries]
        public readonly float* M;     // running max (log2)        [Bk]
        public readonly float* L;     // running Σ exp2            [Bk]
        public readonly float* Alpha; // rescale factors           [Bk]
        public readonly float* Lse2;  // lse·log2(e)               [Bk]
        public readonly float* D;     // dout·out                  [Bk]
        public readonly float* Bias;  // per-sample bias (log2)    [M]
        public readonly float* Kb;    // a block's / chunk's k rows [KB, hsPad]
        public readonly float* Vb;    // and v rows                [KB, hsPad]
        public readonly float* DKb;   // their dk                  [KB, hsPad]
        public readonly float* DVb;   // and dv                    [KB, hsPad]

        private Tiles(int hs, int hsPad, int mPad, int kb, float* p)
        {
            Hs = hs; HsPad = hsPad;
            Qp = p; p += Bk * hsPad;
            DOp = p; p += Bk * hsPad;
            DQ = p; p += Bk * hsPad;
            O = p; p += Bk * hsPad;
            Kp = p; p += Bk * hsPad;
            Vp = p; p += Bk * hsPad;
            Qt = p; p += hsPad * Bk;
            DOt = p; p += hsPad * Bk;
            S = p; p += Bk * Bk;
            DP = p; p += Bk * Bk;
            M = p; p += Bk;
            L = p; p += Bk;
            Alpha = p; p += Bk;
            Lse2 = p; p += Bk;
            D = p; p += Bk;
            Bias = p; p += mPad;
            Kb = p; p += kb * hsPad;
            Vb = p; p += kb * hsPad;
            DKb = p; p += kb * hsPad;
            DVb = p;
        }

        public static Tiles Get(Args a)
        {
            int mPad = (a.M + 15) / 16 * 16;
            int kb = a.Sorted ? Math.Min(a.BlockSize, a.KeyCount) : Math.Min(Chunk, a.KeyCount);
            int floats = 8 * Bk * a.HsPad + 2 * Bk * Bk + 5 * Bk + mPad + 4 * kb * a.HsPad;
            return new Tiles(a.Hs, a.HsPad, mPad, kb, AttentionScratch.Get(floats));
        }
    }
}
