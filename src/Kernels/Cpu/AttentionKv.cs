using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Kernels.Cpu;

// Attention for incremental decoding over a key/value cache (same contract as
// Reference.Attention.KvForward).
//
// A decode step has one query per (b, h), so the work is reading the cache: pos+1 rows of keys
// and of values, each row C floats with every head side by side. One query row is therefore
// handled for all heads at once, walking the cache rows in storage order (one stream for the keys,
// one for the values, prefetched during the keys' pass) instead of once per head through C-strided
// 64-float pieces, which measured about twice as slow on the 10M model's decode steps once the
// weights streamed past had pushed the cache out of L3. Scores of 16 rows at a time are reduced
// together (ScoreBlock), which cut the in-cache time of that model's attention from ~80 to ~60 µs
// per token. Long caches are cut into chunks of keys (flash-decoding) so a single row still uses
// every core: each chunk keeps per-head max, sum and unnormalised output, merged afterwards in
// chunk order.
public static unsafe partial class Attention
{
    /// <summary>
    /// Keys per work item when rows are split: 192 KiB of keys and values at C = 384, the 10M model's
    /// 288-token cache in 5 items. Measured on its decode steps: 16 keys 150 µs of attention per
    /// token, 32 keys 111 µs, 64 keys 102 µs, 128 keys 105 µs (shorter runs of rows restart the
    /// hardware prefetcher more often; longer ones balance worse over two threads).
    /// </summary>
    private const int KvChunk = 64;

    /// <summary>Fewest chunks a split row's keys go into once they are at least <see cref="KvMinChunk"/> each: two per core of two.</summary>
    private const int KvMinSplits = 4;

    /// <summary>Fewest keys in a chunk (the 16 rows of one ScoreBlock).</summary>
    private const int KvMinChunk = 16;

    /// <summary>
    /// How many equal chunks a split row's <paramref name="keys"/> go into: one per <see cref="KvChunk"/> keys, but at least
    /// <see cref="KvMinSplits"/> while each keeps <see cref="KvMinChunk"/> keys. With 64-key chunks alone gpt2's first 64
    /// decode steps ran their attention on one thread, and the next 64 in a 64-key and a short chunk.
    /// </summary>
    private static int KvSplits(int keys) => Math.Clamp(keys / KvMinChunk, 1, Math.Max(KvMinSplits, (keys + KvChunk - 1) / KvChunk));

    /// <summary>
    /// With fewer query rows (B·Tq) than this, rows are split into key chunks; with more (a prefill)
    /// the rows alone keep every core busy. The split depends on the shape only, never on the thread
    /// count, so results are reproducible.
    /// </summary>
    private const int KvSplitRows = 8;

    /// <summary>Below this many multiply-adds (q·k and p·v over all heads) the items run on the calling thread.</summary>
    private const long KvSerialWork = 1L << 16;

    private const float KvLog2E = 1.44269504088896341f;

    // Per-thread partial results of split rows ([item][C + 2·NH]), owned by the calling thread,
    // grown on demand and kept: a decode step allocates nothing.
    [ThreadStatic] private static float[]? t_kvPartials;

    /// <summary>
    /// Appends the Tq new tokens' k and v (from qkv[B,Tq,3C]) to kCache[B,maxT,C] and
    /// vCache[B,maxT,C] at positions pos..pos+Tq−1, then writes out[B,Tq,C] = causal attention of
    /// their queries over cached keys 0..pos+t (scale 1/√hs). Same contract as
    /// <see cref="Ref.Attention.KvForward{TNum}"/>.
    /// </summary>
    public static void KvForward(Span<float> output, Span<float> kCache, Span<float> vCache, ReadOnlySpan<float> qkv,
        int B, int Tq, int pos, int maxT, int C, int NH)
    {
        Ref.Attention.CheckKvShapes(output.Length, kCache.Length, vCache.Length, qkv.Length, B, Tq, pos, maxT, C, NH);
        if (B == 0 || Tq == 0) return;
        fixed (float* o = output, kc = kCache, vc = vCache, x = qkv)
        {
            long bytes = (long)C * sizeof(float);
            for (int b = 0; b < B; b++)
                for (int t = 0; t < Tq; t++)
                {
                    float* row = x + (long)(b * Tq + t) * 3 * C;
                    long slot = ((long)b * maxT + pos + t) * C;
                    Buffer.MemoryCopy(row + C, kc + slot, bytes, bytes);
                    Buffer.MemoryCopy(row + 2 * C, vc + slot, bytes, bytes);
                }
            KvAttend(o, kc, vc, x, B, Tq, pos, maxT, C, NH);
        }
    }

    private static void KvAttend(float* output, float* kCache, float* vCache, float* qkv, int B, int Tq, int pos, int maxT, int C, int NH)
    {
        int rows = B * Tq, longest = pos + Tq;
        float qScale = KvLog2E / MathF.Sqrt(C / NH);
        // Σ over query rows of (keys seen)·C, twice (scores, then the weighted sum of values).
        long work = 2L * B * C * ((long)Tq * pos + (long)Tq * (Tq + 1) / 2);
        nint po = (nint)output, pk = (nint)kCache, pv = (nint)vCache, pq = (nint)qkv;

        int splits = rows < KvSplitRows ? KvSplits(longest) : 1, span = (longest + splits - 1) / splits;
        if (splits == 1)
        {
            Action<int> row = r =>
            {
                // The last queries of a prefill see the most keys: they go first.
                int bt = rows - 1 - r, b = bt / Tq, t = bt % Tq;
                long cache = (long)b * maxT * C;
                KvRows((float*)po + (long)bt * C, null, (float*)pq + (long)bt * 3 * C, (float*)pk + cache, (float*)pv + cache,
                    0, pos + t + 1, C, NH, qScale);
            };
            if (work < KvSerialWork) for (int r = 0; r < rows; r++) row(r);
            else CpuWorkers.For(rows, row);
            return;
        }

        // partials[row, split] = [unnormalised output (C) | per-head max, log2 units (NH) | per-head Σ exp2 (NH)].
        int stride = C + 2 * NH, items = rows * splits;
        float[] partials = t_kvPartials is { } kept && kept.Length >= (long)items * stride
            ? kept : t_kvPartials = GC.AllocateUninitializedArray<float>(items * stride, pinned: true);
        float* part0 = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(partials));
        nint pp = (nint)part0;
        Action<int> chunk = item =>
        {
            int bt = item / splits, s = item % splits, b = bt / Tq, t = bt % Tq;
            int j0 = s * span, j1 = Math.Min(pos + t + 1, j0 + span);
            float* part = (float*)pp + (long)item * stride;
            if (j0 >= j1)
            {
                // Past this row's last key (a prefill's early rows): an empty chunk, weight 0.
                new Span<float>(part + C, NH).Fill(float.NegativeInfinity);
                new Span<float>(part + C + NH, NH).Clear();
                return;
            }
            long cache = (long)b * maxT * C;
            KvRows(part, part + C, (float*)pq + (long)bt * 3 * C, (float*)pk + cache, (float*)pv + cache, j0, j1, C, NH, qScale);
        };
        if (work < KvSerialWork) for (int i = 0; i < items; i++) chunk(i);
        else CpuWorkers.For(items, chunk);

        int hs = C / NH;
        for (int bt = 0; bt < rows; bt++)
        {
            float* first = part0 + (long)bt * splits * stride;
            float* o = output + (long)bt * C;
            for (int h = 0; h < NH; h++)
            {
                float m = float.NegativeInfinity;
                for (int s = 0; s < splits; s++) m = MathF.Max(m, first[s * stride + C + h]);
                float* oh = o + h * hs;
                new Span<float>(oh, hs).Clear();
                float l = 0f;
                for (int s = 0; s < splits; s++)
                {
                    float* part = first + s * stride;
                    if (part[C + NH + h] == 0f) continue; // an empty chunk
                    float w = float.Exp2(part[C + h] - m);
                    l += w * part[C + NH + h];
                    for (int d = 0; d < hs; d++) oh[d] += w * part[h * hs + d];
                }
                float inv = 1f / l;
                for (int d = 0; d < hs; d++) oh[d] *= inv;
            }
        }
    }

    /// <summary>
    /// One query row (all heads) against keys [j0, j1) (k and v point at cache row 0 of its batch
    /// row; rows are C apart). With <paramref name="stats"/> null, o[C] = the normalised output;
    /// otherwise o[C] = Σⱼ pⱼ·vⱼ unnormalised per head, stats[h] = head h's max score and
    /// stats[NH + h] = its Σⱼ pⱼ. Scores are in log2 units (q is pre-scaled by log2(e)/√hs), so each
    /// probability is one exp2.
    /// </summary>
    private static void KvRows(float* o, float* stats, float* q, float* k, float* v, int j0, int j1, int C, int NH, float qScale)
    {
        const int W = 16;
        int hs = C / NH, n = j1 - j0, nPad = (n + W - 1) / W * W, hsV = hs / W * W;
        float* s = AttentionScratch.Get(NH * nPad + C);   // scores, then probabilities [NH, nPad]
        float* qs = s + NH * nPad;                          // scaled query [C]
        for (int c = 0; c < C; c++) qs[c] = q[c] * qScale;

        // Scores: one pass over the key rows, meanwhile prefetching the value rows the next pass
        // reads. Whole blocks of 16 rows go head by head through ScoreBlock (no horizontal sums);
        // the rest row by row, every head of a row before the next row.
        int jBlocks = hs == hsV && Avx512F.IsSupported ? n / W * W : 0;
        for (int j = 0; j < jBlocks; j += W)
        {
            float* kb = k + (long)(j0 + j) * C;
            float* vb = v + (long)(j0 + j) * C;
            for (int r = 0; r < W; r++)
                for (int c = 0; c < C; c += W) Sse.Prefetch1(vb + (long)r * C + c);
            for (int h = 0; h < NH; h++)
                ScoreBlock(qs + h * hs, kb + h * hs, C, hs).Store(s + h * nPad + j);
        }
        for (int j = jBlocks; j < n; j++)
        {
            float* kr = k + (long)(j0 + j) * C;
            if (Sse.IsSupported)
            {
                float* vr = v + (long)(j0 + j) * C;
                for (int c = 0; c < C; c += W) Sse.Prefetch0(vr + c);
            }
            for (int h = 0; h < NH; h++)
            {
                float* qh = qs + h * hs, kh = kr + h * hs;
                float dot = 0f;
                int d = 0;
                if (hsV > 0)
                {
                    var acc = Vector512.Load(qh) * Vector512.Load(kh);
                    for (d = W; d < hsV; d += W) acc = Vector512.FusedMultiplyAdd(Vector512.Load(qh + d), Vector512.Load(kh + d), acc);
                    dot = Vector512.Sum(acc);
                }
                for (; d < hs; d++) dot += qh[d] * kh[d];
                s[h * nPad + j] = dot;
            }
        }

        // Softmax numerators per head; padding scores of −∞ give exactly 0, so the exp runs on whole vectors.
        for (int h = 0; h < NH; h++)
        {
            float* sh = s + h * nPad;
            for (int j = n; j < nPad; j++) sh[j] = float.NegativeInfinity;
            var vmax = Vector512.Create(float.NegativeInfinity);
            for (int j = 0; j < nPad; j += W) vmax = Vector512.Max(vmax, Vector512.Load(sh + j));
            float max = MaxAcross(Vector256.Max(vmax.GetLower(), vmax.GetUpper()));
            var vm = Vector512.Create(max);
            var vsum = Vector512<float>.Zero;
            for (int j = 0; j < nPad; j += W)
            {
                var p = AttentionTile.Exp2(Vector512.Load(sh + j) - vm);
                p.Store(sh + j);
                vsum += p;
            }
            if (stats != null)
            {
                stats[h] = max;
                stats[NH + h] = Vector512.Sum(vsum);
            }
            else
            {
                // Normalise the probabilities now, so the values pass writes the final output.
                var inv = Vector512.Create(1f / Vector512.Sum(vsum));
                for (int j = 0; j < nPad; j += W) (Vector512.Load(sh + j) * inv).Store(sh + j);
            }
        }

        // Values: one pass over the value rows, o[h·hs + d] += p[h, j]·v[j, h·hs + d], two rows at a time
        // so each load and store of o carries two FMAs.
        new Span<float>(o, C).Clear();
        float* vr0 = v + (long)j0 * C;
        int jj = 0;
        for (; jj + 1 < n; jj += 2)
        {
            float* va = vr0 + (long)jj * C, vb = va + C;
            for (int h = 0; h < NH; h++)
            {
                float pa = s[h * nPad + jj], pb = s[h * nPad + jj + 1];
                int c = h * hs, cv = c + hsV, ce = c + hs;
                var ppa = Vector512.Create(pa);
                var ppb = Vector512.Create(pb);
                for (; c < cv; c += W)
                {
                    var acc = Vector512.FusedMultiplyAdd(ppa, Vector512.Load(va + c), Vector512.Load(o + c));
                    Vector512.FusedMultiplyAdd(ppb, Vector512.Load(vb + c), acc).Store(o + c);
                }
                for (; c < ce; c++) o[c] += pa * va[c] + pb * vb[c];
            }
        }
        if (jj < n)
        {
            float* va = vr0 + (long)jj * C;
            for (int h = 0; h < NH; h++)
            {
                float pa = s[h * nPad + jj];
                int c = h * hs, cv = c + hsV, ce = c + hs;
                var ppa = Vector512.Create(pa);
                for (; c < cv; c += W) Vector512.FusedMultiplyAdd(ppa, Vector512.Load(va + c), Vector512.Load(o + c)).Store(o + c);
                for (; c < ce; c++) o[c] += pa * va[c];
            }
        }
    }

    /// <summary>
    /// The scores of 16 consecutive key rows (k, k + C, ..., k + 15C, each hs floats, hs a multiple
    /// of 16) against q[hs]: sixteen FMA chains, then a transpose-and-add tree (45 shuffles and adds
    /// for all 16 instead of a horizontal sum each) that leaves score r in lane r.
    /// </summary>
    internal static Vector512<float> ScoreBlock(float* q, float* k, int C, int hs)
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> a8 = default, a9 = default, a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        long c1 = C, c2 = 2L * C, c3 = 3L * C;
        float* k4 = k + 4L * C, k8 = k + 8L * C, k12 = k + 12L * C;
        for (int d = 0; d < hs; d += 16)
        {
            var qv = Vector512.Load(q + d);
            a0 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k + d), a0);
            a1 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k + c1 + d), a1);
            a2 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k + c2 + d), a2);
            a3 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k + c3 + d), a3);
            a4 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k4 + d), a4);
            a5 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k4 + c1 + d), a5);
            a6 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k4 + c2 + d), a6);
            a7 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k4 + c3 + d), a7);
            a8 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k8 + d), a8);
            a9 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k8 + c1 + d), a9);
            a10 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k8 + c2 + d), a10);
            a11 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k8 + c3 + d), a11);
            a12 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k12 + d), a12);
            a13 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k12 + c1 + d), a13);
            a14 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k12 + c2 + d), a14);
            a15 = Vector512.FusedMultiplyAdd(qv, Vector512.Load(k12 + c3 + d), a15);
        }
        // Pairs of rows: per 128-bit lane [x0+x2, y0+y2, x1+x3, y1+y3].
        var b0 = Pair(a0, a1); var b1 = Pair(a2, a3); var b2 = Pair(a4, a5); var b3 = Pair(a6, a7);
        var b4 = Pair(a8, a9); var b5 = Pair(a10, a11); var b6 = Pair(a12, a13); var b7 = Pair(a14, a15);
        // Quads: per lane the partial sums of rows 4i..4i+3 in order.
        var e0 = Quad(b0, b1); var e1 = Quad(b2, b3); var e2 = Quad(b4, b5); var e3 = Quad(b6, b7);
        // Sum the four lanes: lane i of the result ends up with rows 4i..4i+3.
        var f0 = Avx512F.Shuffle4x128(e0, e1, 0x88) + Avx512F.Shuffle4x128(e0, e1, 0xDD);
        var f1 = Avx512F.Shuffle4x128(e2, e3, 0x88) + Avx512F.Shuffle4x128(e2, e3, 0xDD);
        return Avx512F.Shuffle4x128(f0, f1, 0x88) + Avx512F.Shuffle4x128(f0, f1, 0xDD);

        static Vector512<float> Pair(Vector512<float> x, Vector512<float> y) => Avx512F.UnpackLow(x, y) + Avx512F.UnpackHigh(x, y);
        static Vector512<float> Quad(Vector512<float> x, Vector512<float> y) =>
            Avx512F.UnpackLow(x.AsDouble(), y.AsDouble()).AsSingle() + Avx512F.UnpackHigh(x.AsDouble(), y.AsDouble()).AsSingle();
    }

    private static float MaxAcross(Vector256<float> v)
    {
        var m = Vector128.Max(v.GetLower(), v.GetUpper());
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(2, 3, 0, 1)));
        m = Vector128.Max(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2)));
        return m.ToScalar();
    }
}
