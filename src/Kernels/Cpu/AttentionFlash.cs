using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Flash attention on the CPU (FlashAttention-2's schedule): query blocks × key blocks of
/// <see cref="AttentionTile.Block"/>, an online softmax that rescales the accumulator when the
/// running max grows, only the per-row log-sum-exp kept, and a backward that recomputes each
/// probability tile from it. Scratch per thread is a few Block×hs tiles whatever T is.
/// <para>
/// Tiles are stored transposed, Sᵀ[j, i] with the 64 queries of a block contiguous, so every
/// softmax step is a vector op over 16 queries (see <see cref="AttentionTile"/>). Scores are
/// kept in log2 units (q is pre-scaled by log2(e)/√hs) so each probability is one exp2.
/// </para>
/// </summary>
internal static unsafe class AttentionFlash
{
    private const int Bk = AttentionTile.Block;
    private const int Nv = Bk / AttentionTile.W;
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2 = 0.693147180559945309f;

    /// <summary>
    /// With at least this many (b, h) heads the backward gives each head to one thread whole
    /// (dQ, dK and dV from one pass over the tiles); with fewer it splits each head into key
    /// blocks (dK, dV) and then query blocks (dQ) so long sequences still use every core, at
    /// the price of computing S and dP twice. The choice depends on the shape only, so results
    /// are reproducible.
    /// </summary>
    public const int FusedMinHeads = 16;

    /// <summary>Forward over all (b, h, query block) in parallel; see <see cref="Attention.Forward(Span{float}, Span{float}, ReadOnlySpan{float}, int, int, int, int, bool)"/>.</summary>
    public static void Forward(float* output, float* lse, float* qkv, int B, int T, int C, int NH, bool causal)
    {
        int nb = (T + Bk - 1) / Bk;
        nint po = (nint)output, pl = (nint)lse, pq = (nint)qkv;
        CpuParallel.For(B * NH * nb, item =>
        {
            // Last query block first: under the causal mask it has the most key blocks, and
            // starting the long items early evens out the end of the parallel loop.
            int qb = nb - 1 - item % nb, bh = item / nb;
            ForwardQueryBlock((float*)po, (float*)pl, (float*)pq, bh / NH, bh % NH, qb, T, C, NH, causal);
        });
    }

    private static void ForwardQueryBlock(float* output, float* lse, float* qkv, int b, int h, int qb, int T, int C, int NH, bool causal)
    {
        int hs = C / NH, hsPad = RoundUp(hs), nvh = hsPad / AttentionTile.W, C3 = 3 * C;
        int i0 = qb * Bk, nq = Math.Min(Bk, T - i0);
        bool direct = hs == hsPad;
        float* qt = AttentionScratch.Get(hs * Bk + Bk * Bk + 3 * Bk + (direct ? 0 : 2 * Bk * hsPad));
        float* s = qt + hs * Bk;         // Sᵀ, then Pᵀ              [Bk keys, Bk queries]
        float* m = s + Bk * Bk;          // running max (log2 units) [Bk]
        float* l = m + Bk;               // running Σ exp2           [Bk]
        float* alpha = l + Bk;           // exp2(m_old − m_new)      [Bk]
        float* vp = alpha + Bk;          // v rows, padded           [Bk, hsPad] (hs not a multiple of 16 only)
        float* op = vp + Bk * hsPad;     // unnormalised output      [Bk, hsPad] (ditto)

        // qt [hs, Bk queries]: q scaled by log2(e)/√hs, zero columns past the last query.
        PackTransposed(qt, qkv + (b * T + i0) * C3 + h * hs, C3, nq, hs, Log2E / MathF.Sqrt(hs));
        new Span<float>(m, Bk).Fill(float.NegativeInfinity);
        new Span<float>(l, Bk).Clear();
        // With whole vectors per head row the unnormalised output accumulates in place in
        // output[B,T,C], and v is read where it lies; otherwise both go through padded tiles.
        float* o = direct ? output + (b * T + i0) * C + h * hs : op;
        int os = direct ? C : hsPad;

        int kEnd = causal ? i0 + nq : T;
        for (int j0 = 0; j0 < kEnd; j0 += Bk)
        {
            int nk = Math.Min(Bk, kEnd - j0);
            float* k = qkv + (b * T + j0) * C3 + C + h * hs;
            // Blocks are aligned, so only the last key block (j0 = i0, nk = nq) straddles the
            // diagonal; there, key rows [16s, 16s+16) are invisible to query vectors before s
            // and those products are skipped (10 of 16 sub-tiles remain).
            bool diagonal = causal && j0 == i0;
            if (diagonal)
                for (int r0 = 0; r0 < nk; r0 += 16)
                    AttentionTile.Gemm(s + r0 * Bk + r0, Bk, k + r0 * C3, C3, 1, qt + r0, Bk, Math.Min(16, nk - r0), hs, Nv - r0 / 16, accumulate: false);
            else
                AttentionTile.Gemm(s, Bk, k, C3, 1, qt, Bk, nk, hs, Nv, accumulate: false);
            if (diagonal) MaskCausal(s, nk, 0); // also writes −∞ over the skipped sub-tiles
            OnlineSoftmax(s, nk, m, l, alpha);
            if (j0 > 0) ScaleRows(o, os, nq, nvh, alpha);
            float* v = k + C;
            int vs = C3;
            if (!direct)
            {
                PackRows(vp, hsPad, v, C3, nk, hs);
                v = vp;
                vs = hsPad;
            }
            // o[i, :] (+)= Σⱼ P[i, j]·v[j, :], P read from Pᵀ (row stride 1, inner stride Bk);
            // on the diagonal, query rows [16s, 16s+16) stop at key 16s+15.
            if (diagonal)
                for (int r0 = 0; r0 < nq; r0 += 16)
                    AttentionTile.Gemm(o + r0 * os, os, s + r0, 1, Bk, v, vs, Math.Min(16, nq - r0), Math.Min(nk, r0 + 16), nvh, accumulate: j0 > 0);
            else
                AttentionTile.Gemm(o, os, s, 1, Bk, v, vs, nq, nk, nvh, accumulate: j0 > 0);
        }

        for (int i = 0; i < nq; i++)
        {
            // Every row has seen at least one visible key (key 0, or key i itself), so l > 0.
            if (direct) ScaleRows(o + i * os, os, 1, nvh, 1f / l[i]);
            else TensorPrimitives.Multiply(new ReadOnlySpan<float>(o + i * os, hs), 1f / l[i], new Span<float>(output + (b * T + i0 + i) * C + h * hs, hs));
            lse[(b * NH + h) * T + i0 + i] = (m[i] + MathF.Log2(l[i])) * Ln2;
        }
    }

    /// <summary>o[i, :] *= alpha[i] for i &lt; n, rows of nv vectors: the online softmax's rescale when the running max grows.</summary>
    private static void ScaleRows(float* o, int os, int n, int nv, float* alpha)
    {
        for (int i = 0; i < n; i++) ScaleRows(o + i * os, os, 1, nv, alpha[i]);
    }

    /// <summary>o[i, :] *= a for i &lt; n, rows of nv vectors.</summary>
    private static void ScaleRows(float* o, int os, int n, int nv, float a)
    {
        Vector512<float> va = Vector512.Create(a);
        for (int i = 0; i < n; i++)
        {
            float* row = o + i * os;
            for (int v = 0; v < nv; v++) (Vector512.Load(row + v * 16) * va).Store(row + v * 16);
        }
    }

    /// <summary>
    /// One key block of the online softmax for all Bk queries: new max per query, the factor
    /// exp2(m_old − m_new) that rescales what was accumulated so far, Pᵀ = exp2(Sᵀ − m_new) in place.
    /// </summary>
    private static void OnlineSoftmax(float* s, int nk, float* m, float* l, float* alpha)
    {
        for (int v = 0; v < Nv; v++)
        {
            float* sv = s + v * 16;
            Vector512<float> mOld = Vector512.Load(m + v * 16), mNew = mOld;
            for (int j = 0; j < nk; j++) mNew = Vector512.Max(mNew, Vector512.Load(sv + j * Bk));
            Vector512<float> sum = Vector512<float>.Zero;
            for (int j = 0; j < nk; j++)
            {
                Vector512<float> p = AttentionTile.Exp2(Vector512.Load(sv + j * Bk) - mNew);
                p.Store(sv + j * Bk);
                sum += p;
            }
            // m_old = −∞ on the first block gives a = 0, which clears nothing that was not zero.
            Vector512<float> a = AttentionTile.Exp2(mOld - mNew);
            a.Store(alpha + v * 16);
            Vector512.FusedMultiplyAdd(Vector512.Load(l + v * 16), a, sum).Store(l + v * 16);
            mNew.Store(m + v * 16);
        }
    }

    /// <summary>
    /// Sets Sᵀ[j, i] = −∞ where key j0 + j is after query i0 + i; <paramref name="offset"/> = j0 − i0.
    /// Only blocks that straddle the diagonal call this.
    /// </summary>
    private static void MaskCausal(float* s, int nk, int offset)
    {
        Vector512<int> lane = Vector512<int>.Indices;
        Vector512<float> minusInf = Vector512.Create(float.NegativeInfinity);
        for (int j = 0; j < nk; j++)
        {
            int limit = offset + j; // queries i < limit cannot see this key
            for (int v = 0; v < Nv && v * 16 < limit; v++)
            {
                float* p = s + j * Bk + v * 16;
                Vector512<float> masked = Vector512.LessThan(lane + Vector512.Create(v * 16), Vector512.Create(limit)).AsSingle();
                Vector512.ConditionalSelect(masked, minusInf, Vector512.Load(p)).Store(p);
            }
        }
    }

    /// <summary>Backward; see <see cref="Attention.Backward(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int, int, bool)"/>.</summary>
    public static void Backward(float* dqkv, float* dout, float* qkv, float* output, float* lse,
        int B, int T, int C, int NH, bool causal, bool fused)
    {
        var a = new Args
        {
            Dqkv = dqkv,
            Dout = dout,
            Qkv = qkv,
            Output = output,
            Lse = lse,
            B = B,
            T = T,
            C = C,
            NH = NH,
            Causal = causal,
        };
        int nb = (T + Bk - 1) / Bk;
        if (fused)
        {
            CpuParallel.For(B * NH, bh => BackwardHead(a, bh / NH, bh % NH));
            return;
        }
        // Each item owns the dK, dV rows of one key block, then the dQ rows of one query block:
        // every gradient element is written by one item, in a fixed order.
        CpuParallel.For(B * NH * nb, item => BackwardKeyBlock(a, item / nb / NH, item / nb % NH, nb - 1 - item % nb));
        CpuParallel.For(B * NH * nb, item => BackwardQueryBlock(a, item / nb / NH, item / nb % NH, nb - 1 - item % nb));
    }

    /// <summary>One head whole: per query block, per visible key block, all three gradients.</summary>
    private static void BackwardHead(Args a, int b, int h)
    {
        Tiles t = Tiles.Get(a);
        int nb = (a.T + Bk - 1) / Bk;
        for (int qb = 0; qb < nb; qb++)
        {
            int i0 = qb * Bk, nq = Math.Min(Bk, a.T - i0);
            PrepareQueries(a, t, b, h, i0, nq, rowMajor: true);
            Operand dq = GradRows(a, t, t.DQ, b, h, i0, 0);
            if (!t.Direct) new Span<float>(t.DQ, Bk * t.HsPad).Clear();
            int kEnd = a.Causal ? i0 + nq : a.T;
            for (int j0 = 0; j0 < kEnd; j0 += Bk)
            {
                int nk = Math.Min(Bk, kEnd - j0);
                Operand k = PrepareKeys(a, t, b, h, j0, nk);
                Operand dk = GradRows(a, t, t.DK, b, h, j0, a.C), dv = GradRows(a, t, t.DV, b, h, j0, 2 * a.C);
                Tile(a, t, b, h, i0, nq, j0, nk, k, dq, dk, dv, dkdvAccumulate: t.Direct);
                if (!t.Direct)
                {
                    AddRows(a, t, t.DK, b, h, j0, nk, a.C);
                    AddRows(a, t, t.DV, b, h, j0, nk, 2 * a.C);
                }
            }
            if (!t.Direct) AddRows(a, t, t.DQ, b, h, i0, nq, 0);
        }
    }

    /// <summary>dK and dV of one key block, over every query block that sees it.</summary>
    private static void BackwardKeyBlock(Args a, int b, int h, int kb)
    {
        Tiles t = Tiles.Get(a);
        int nb = (a.T + Bk - 1) / Bk;
        int j0 = kb * Bk, nk = Math.Min(Bk, a.T - j0);
        Operand k = PrepareKeys(a, t, b, h, j0, nk);
        Operand dk = GradRows(a, t, t.DK, b, h, j0, a.C), dv = GradRows(a, t, t.DV, b, h, j0, 2 * a.C);
        // Query and key blocks are aligned and equal, so under the mask the first query block
        // that sees key j0 is block kb.
        int first = a.Causal ? kb : 0;
        for (int qb = first; qb < nb; qb++)
        {
            int i0 = qb * Bk, nq = Math.Min(Bk, a.T - i0);
            PrepareQueries(a, t, b, h, i0, nq, rowMajor: true);
            Tile(a, t, b, h, i0, nq, j0, nk, k, default, dk, dv, dkdvAccumulate: t.Direct || qb != first);
        }
        if (!t.Direct)
        {
            AddRows(a, t, t.DK, b, h, j0, nk, a.C);
            AddRows(a, t, t.DV, b, h, j0, nk, 2 * a.C);
        }
    }

    /// <summary>dQ of one query block, over every key block it sees.</summary>
    private static void BackwardQueryBlock(Args a, int b, int h, int qb)
    {
        Tiles t = Tiles.Get(a);
        int i0 = qb * Bk, nq = Math.Min(Bk, a.T - i0);
        PrepareQueries(a, t, b, h, i0, nq, rowMajor: false);
        Operand dq = GradRows(a, t, t.DQ, b, h, i0, 0);
        if (!t.Direct) new Span<float>(t.DQ, Bk * t.HsPad).Clear();
        int kEnd = a.Causal ? i0 + nq : a.T;
        for (int j0 = 0; j0 < kEnd; j0 += Bk)
        {
            int nk = Math.Min(Bk, kEnd - j0);
            Operand k = PrepareKeys(a, t, b, h, j0, nk);
            Tile(a, t, b, h, i0, nq, j0, nk, k, dq, default, default, dkdvAccumulate: false);
        }
        if (!t.Direct) AddRows(a, t, t.DQ, b, h, i0, nq, 0);
    }

    /// <summary>
    /// Packs what the tiles need from one query block: qᵀ (scaled to log2 units) and doutᵀ with
    /// queries contiguous; when the head size is not whole vectors, also padded q and dout rows
    /// (for dK = dSᵀ·q and dV = Pᵀ·dout); lse in log2 units and D = dout·out per row. Padding
    /// queries get lse = +∞ (so P = 0) and zero dout and D (so dS = 0): they contribute nothing.
    /// </summary>
    private static void PrepareQueries(Args a, Tiles t, int b, int h, int i0, int nq, bool rowMajor)
    {
        int hs = t.Hs, C3 = 3 * a.C;
        float* q = a.Qkv + (b * a.T + i0) * C3 + h * hs;
        float* g = a.Dout + (b * a.T + i0) * a.C + h * hs;
        float* o = a.Output + (b * a.T + i0) * a.C + h * hs;
        PackTransposed(t.Qt, q, C3, nq, hs, Log2E / MathF.Sqrt(hs));
        PackTransposed(t.DOt, g, a.C, nq, hs, 1f);
        if (rowMajor && !t.Direct)
        {
            PackRows(t.Qp, t.HsPad, q, C3, nq, hs);
            PackRows(t.DOp, t.HsPad, g, a.C, nq, hs);
        }
        float* lseRow = a.Lse + (b * a.NH + h) * a.T + i0;
        for (int i = 0; i < Bk; i++)
        {
            if (i < nq)
            {
                t.Lse2[i] = lseRow[i] * Log2E;
                t.D[i] = Dot(g + i * a.C, o + i * a.C, hs);
            }
            else
            {
                t.Lse2[i] = float.PositiveInfinity;
                t.D[i] = 0;
            }
        }
    }

    /// <summary>The k rows of one key block: in place in qkv, or copied to padded rows.</summary>
    private static Operand PrepareKeys(Args a, Tiles t, int b, int h, int j0, int nk)
    {
        float* k = a.Qkv + (b * a.T + j0) * 3 * a.C + a.C + h * t.Hs;
        if (t.Direct) return new Operand(k, 3 * a.C);
        PackRows(t.Kp, t.HsPad, k, 3 * a.C, nk, t.Hs);
        return new Operand(t.Kp, t.HsPad);
    }

    /// <summary>Where a block's gradient rows accumulate: dqkv itself (part at channel offset <paramref name="part"/>), or a padded tile.</summary>
    private static Operand GradRows(Args a, Tiles t, float* tile, int b, int h, int r0, int part)
        => t.Direct ? new Operand(a.Dqkv + (b * a.T + r0) * 3 * a.C + part + h * t.Hs, 3 * a.C) : new Operand(tile, t.HsPad);

    /// <summary>Adds n rows of a padded gradient tile into dqkv's part at channel offset <paramref name="part"/>.</summary>
    private static void AddRows(Args a, Tiles t, float* tile, int b, int h, int r0, int n, int part)
    {
        float* dst = a.Dqkv + (b * a.T + r0) * 3 * a.C + part + h * t.Hs;
        for (int i = 0; i < n; i++)
        {
            var row = new Span<float>(dst + i * 3 * a.C, t.Hs);
            TensorPrimitives.Add(row, new ReadOnlySpan<float>(tile + i * t.HsPad, t.Hs), row);
        }
    }

    /// <summary>
    /// One (query block, key block) tile of the backward: Sᵀ = K·qᵀ and dPᵀ = V·doutᵀ,
    /// Pᵀ = exp2(Sᵀ − lse), dSᵀ = Pᵀ∘(dPᵀ − D)/√hs, then dV (+)= Pᵀ·dout, dK (+)= dSᵀ·q,
    /// dQ += dS·K. A default (null) gradient operand skips that product.
    /// </summary>
    private static void Tile(Args a, Tiles t, int b, int h, int i0, int nq, int j0, int nk,
        Operand k, Operand dq, Operand dk, Operand dv, bool dkdvAccumulate)
    {
        int hs = t.Hs, nvh = t.HsPad / AttentionTile.W, C3 = 3 * a.C;
        float* v = a.Qkv + (b * a.T + j0) * C3 + 2 * a.C + h * hs;
        // Aligned blocks: only i0 = j0 straddles the diagonal (then nk = nq), and there key rows
        // [16s, 16s+16) meet only query vectors s.., query rows [16s, 16s+16) only keys ..16s+15;
        // the sub-tiles before that are never computed nor read (10 of 16 remain).
        bool diagonal = a.Causal && j0 == i0;
        for (int r0 = 0; r0 < nk; r0 += 16)
        {
            int c0 = diagonal ? r0 : 0, nr = diagonal ? Math.Min(16, nk - r0) : nk;
            AttentionTile.Gemm(t.S + r0 * Bk + c0, Bk, k.P + r0 * k.Stride, k.Stride, 1, t.Qt + c0, Bk, nr, hs, Nv - c0 / 16, accumulate: false);
            AttentionTile.Gemm(t.DP + r0 * Bk + c0, Bk, v + r0 * C3, C3, 1, t.DOt + c0, Bk, nr, hs, Nv - c0 / 16, accumulate: false);
            if (!diagonal) break;
        }
        Vector512<int> lane = Vector512<int>.Indices;
        Vector512<float> minusInf = Vector512.Create(float.NegativeInfinity);
        Vector512<float> scale = Vector512.Create(1f / MathF.Sqrt(hs));
        for (int j = 0; j < nk; j++)
        {
            // On the diagonal, queries i < j cannot see key j: vector j/16 is partly masked.
            int first = diagonal ? j / 16 : 0;
            for (int vi = first; vi < Nv; vi++)
            {
                int at = j * Bk + vi * 16;
                Vector512<float> sv = Vector512.Load(t.S + at);
                if (diagonal && vi == first)
                    sv = Vector512.ConditionalSelect(Vector512.LessThan(lane + Vector512.Create(vi * 16), Vector512.Create(j)).AsSingle(), minusInf, sv);
                Vector512<float> p = AttentionTile.Exp2(sv - Vector512.Load(t.Lse2 + vi * 16));
                p.Store(t.S + at);
                (p * (Vector512.Load(t.DP + at) - Vector512.Load(t.D + vi * 16)) * scale).Store(t.DP + at);
            }
        }
        Operand g = t.Direct ? new Operand(a.Dout + (b * a.T + i0) * a.C + h * hs, a.C) : new Operand(t.DOp, t.HsPad);
        Operand q = t.Direct ? new Operand(a.Qkv + (b * a.T + i0) * C3 + h * hs, C3) : new Operand(t.Qp, t.HsPad);
        for (int r0 = 0; r0 < Math.Max(nk, nq); r0 += 16)
        {
            int c0 = diagonal ? r0 : 0;
            if (r0 < nk)
            {
                // Key rows r0..: dV (+)= Pᵀ·dout and dK (+)= dSᵀ·q over queries c0..nq.
                int nr = diagonal ? Math.Min(16, nk - r0) : nk;
                if (dv.P != null)
                    AttentionTile.Gemm(dv.P + r0 * dv.Stride, dv.Stride, t.S + r0 * Bk + c0, Bk, 1, g.P + c0 * g.Stride, g.Stride, nr, nq - c0, nvh, dkdvAccumulate);
                if (dk.P != null)
                    AttentionTile.Gemm(dk.P + r0 * dk.Stride, dk.Stride, t.DP + r0 * Bk + c0, Bk, 1, q.P + c0 * q.Stride, q.Stride, nr, nq - c0, nvh, dkdvAccumulate);
            }
            if (r0 < nq && dq.P != null)
            {
                // Query rows r0..: dQ += dS·k over keys ..min(nk, r0 + 16) on the diagonal.
                int nr = diagonal ? Math.Min(16, nq - r0) : nq;
                AttentionTile.Gemm(dq.P + r0 * dq.Stride, dq.Stride, t.DP + r0, 1, Bk, k.P, k.Stride, nr, diagonal ? Math.Min(nk, r0 + 16) : nk, nvh, accumulate: true);
            }
            if (!diagonal) break;
        }
    }

    /// <summary>dst[d·Bk + i] = src[i·stride + d]·scale for i &lt; n, and 0 for n ≤ i &lt; Bk.</summary>
    private static void PackTransposed(float* dst, float* src, int stride, int n, int hs, float scale)
    {
        int d0 = 0;
        if (Avx512F.IsSupported)
            for (; d0 + 16 <= hs; d0 += 16)
                for (int i0 = 0; i0 < Bk; i0 += 16)
                    AttentionTile.Transpose16(dst + d0 * Bk + i0, Bk, src + i0 * stride + d0, stride, Math.Clamp(n - i0, 0, 16), scale);
        if (d0 == hs) return;
        for (int i = 0; i < n; i++)
        {
            float* row = src + i * stride;
            for (int d = d0; d < hs; d++) dst[d * Bk + i] = row[d] * scale;
        }
        if (n < Bk)
            for (int d = d0; d < hs; d++) new Span<float>(dst + d * Bk + n, Bk - n).Clear();
    }

    /// <summary>Copies n rows of hs floats into rows of dstStride floats, zero-filling the rest of each row.</summary>
    private static void PackRows(float* dst, int dstStride, float* src, int srcStride, int n, int hs)
    {
        for (int i = 0; i < n; i++)
        {
            new ReadOnlySpan<float>(src + i * srcStride, hs).CopyTo(new Span<float>(dst + i * dstStride, hs));
            if (dstStride > hs) new Span<float>(dst + i * dstStride + hs, dstStride - hs).Clear();
        }
        if (n < Bk) new Span<float>(dst + n * dstStride, (Bk - n) * dstStride).Clear();
    }

    /// <summary>Σ a[d]·b[d] for d &lt; n: inline for whole vectors (hundreds of rows per call), else TensorPrimitives.</summary>
    private static float Dot(float* a, float* b, int n)
    {
        if (n % 16 != 0 || !Vector512.IsHardwareAccelerated)
            return TensorPrimitives.Dot(new ReadOnlySpan<float>(a, n), new ReadOnlySpan<float>(b, n));
        Vector512<float> acc = Vector512<float>.Zero;
        for (int d = 0; d < n; d += 16) acc = Vector512.FusedMultiplyAdd(Vector512.Load(a + d), Vector512.Load(b + d), acc);
        return Vector512.Sum(acc);
    }

    private static int RoundUp(int hs) => (hs + AttentionTile.W - 1) / AttentionTile.W * AttentionTile.W;

    /// <summary>The backward's buffers and dimensions, captured once by the parallel loops.</summary>
    private sealed class Args
    {
        public float* Dqkv, Dout, Qkv, Output, Lse;
        public int B, T, C, NH;
        public bool Causal;
    }

    /// <summary>Rows of hs (or hsPad) floats at a pointer with a row stride: an operand read or accumulated in place.</summary>
    private readonly struct Operand(float* p, int stride)
    {
        public readonly float* P = p;
        public readonly int Stride = stride;
    }

    /// <summary>One thread's backward tiles, carved from its scratch (shapes beside each).</summary>
    private readonly struct Tiles
    {
        public readonly int Hs, HsPad;
        /// <summary>hs is whole vectors: q, k, dout are read and dq, dk, dv accumulated in place, and the padded row tiles go unused.</summary>
        public readonly bool Direct;
        public readonly float* Qt;   // qᵀ·log2(e)/√hs      [hs, Bk]
        public readonly float* DOt;  // doutᵀ               [hs, Bk]
        public readonly float* Qp;   // q                   [Bk, hsPad]
        public readonly float* DOp;  // dout                [Bk, hsPad]
        public readonly float* Kp;   // k                   [Bk, hsPad]
        public readonly float* DQ;   // dq of a query block [Bk, hsPad]
        public readonly float* DK;   // dk of a key block   [Bk, hsPad]
        public readonly float* DV;   // dv of a key block   [Bk, hsPad]
        public readonly float* S;    // Sᵀ then Pᵀ          [Bk keys, Bk queries]
        public readonly float* DP;   // dPᵀ then dSᵀ        [Bk keys, Bk queries]
        public readonly float* Lse2; // lse·log2(e)         [Bk]
        public readonly float* D;    // dout·out            [Bk]

        private Tiles(int hs, int hsPad, float* p)
        {
            Hs = hs; HsPad = hsPad; Direct = hs == hsPad;
            Qt = p; p += hs * Bk;
            DOt = p; p += hs * Bk;
            Qp = p; p += Bk * hsPad;
            DOp = p; p += Bk * hsPad;
            Kp = p; p += Bk * hsPad;
            DQ = p; p += Bk * hsPad;
            DK = p; p += Bk * hsPad;
            DV = p; p += Bk * hsPad;
            S = p; p += Bk * Bk;
            DP = p; p += Bk * Bk;
            Lse2 = p; p += Bk;
            D = p;
        }

        public static Tiles Get(Args a)
        {
            int hs = a.C / a.NH, hsPad = RoundUp(hs);
            return new Tiles(hs, hsPad, AttentionScratch.Get(2 * hs * Bk + 6 * Bk * hsPad + 2 * Bk * Bk + 2 * Bk));
        }
    }
}
