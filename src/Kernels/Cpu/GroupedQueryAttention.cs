using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Causal grouped-query attention on the CPU. Same contract and layouts as
/// <see cref="Reference.GroupedQueryAttention"/>: q/out[B,T,NH,hs], k/v[B,T,NKV,hs], lse[B,NH,T],
/// caches [B,maxT,NKV,hs]; query head h reads key/value head h / (NH/NKV).
/// <para>
/// Training (forward and backward) reuses the flash kernels of <see cref="Attention"/>: q, k and v
/// are packed into one qkv[B,T,3C] scratch (C = NH·hs, each key/value head repeated for its group),
/// and the backward's dk and dv are summed over each group on the way out. The packing is
/// O(B·T·C) copies against the O(B·T²·C) attention, and the flash kernels are the tuned ones.
/// </para>
/// <para>
/// Decoding (<see cref="KvForward"/>) has its own kernel, as the cache holds only the NKV heads:
/// one work item per (query row, key/value head), which walks that head's cached rows once for all
/// NH/NKV query heads of its group (scores, then the weighted sum of values), so the cache is read
/// once per step and nothing but the new tokens' k and v is copied. Few items (batch-1 decoding)
/// split their keys into chunks (flash-decoding) whose max, sum and unnormalised output are merged
/// in chunk order, so every core reads part of the cache. The split depends on the shape only, so
/// results are the same bits run after run.
/// </para>
/// </summary>
public static unsafe class GroupedQueryAttention
{
    /// <summary>Keys per chunk when a row's keys are split (as <see cref="Attention"/>'s decoding: 64).</summary>
    private const int KvChunk = 64;

    /// <summary>With fewer (query row, key/value head) items than this, keys are split into chunks.</summary>
    private const int KvSplitItems = 8;

    /// <summary>Below this many multiply-adds (q·k and p·v over all heads) the items run on the calling thread.</summary>
    private const long KvSerialWork = 1L << 16;

    // Below this many floats of packing a second thread costs more to wake than it saves.
    private const int MinPackWork = 1 << 15;

    // Per-thread partial results of decoding items ([item][G·hs + 2G]), grown on demand and kept.
    [ThreadStatic] private static float[]? t_partials;

    /// <summary>out[B,T,NH,hs] and lse[B,NH,T] (both overwritten): causal softmax(q·kᵀ/√hs)·v per query head.</summary>
    public static void Forward(Span<float> output, Span<float> lse, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        int B, int T, int NH, int NKV, int hs)
    {
        CheckShapes(output.Length, lse.Length, q.Length, k.Length, v.Length, B, T, NH, NKV, hs);
        if (B == 0 || T == 0) return;
        int C = NH * hs;
        float[] qkv = ArrayPool<float>.Shared.Rent(B * T * 3 * C);
        try
        {
            Pack(qkv, q, k, v, B * T, NH, NKV, hs);
            // out[B,T,NH,hs] is out[B,T,C], and lse[B,NH,T] is the same in both contracts.
            Attention.Forward(AttentionVariant.Flash, output, lse, qkv.AsSpan(0, B * T * 3 * C), B, T, C, NH, causal: true);
        }
        finally { ArrayPool<float>.Shared.Return(qkv); }
    }

    /// <summary>dq, dk, dv += the attention gradients (accumulates), the query heads of a group adding into their shared dk, dv.</summary>
    public static void Backward(Span<float> dq, Span<float> dk, Span<float> dv, ReadOnlySpan<float> dout,
        ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, ReadOnlySpan<float> output, ReadOnlySpan<float> lse,
        int B, int T, int NH, int NKV, int hs)
    {
        CheckShapes(output.Length, lse.Length, q.Length, k.Length, v.Length, B, T, NH, NKV, hs);
        CheckShapes(dout.Length, lse.Length, dq.Length, dk.Length, dv.Length, B, T, NH, NKV, hs);
        if (B == 0 || T == 0) return;
        int C = NH * hs, n = B * T * 3 * C;
        float[] qkv = ArrayPool<float>.Shared.Rent(n), dqkv = ArrayPool<float>.Shared.Rent(n);
        try
        {
            Pack(qkv, q, k, v, B * T, NH, NKV, hs);
            dqkv.AsSpan(0, n).Clear();
            Attention.Backward(dqkv.AsSpan(0, n), dout, qkv.AsSpan(0, n), output, lse, B, T, C, NH, causal: true);
            Unpack(dq, dk, dv, dqkv, B * T, NH, NKV, hs);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(qkv);
            ArrayPool<float>.Shared.Return(dqkv);
        }
    }

    /// <summary>
    /// Decoding: writes the Tq new tokens' k and v [B,Tq,NKV,hs] into kCache/vCache[B,maxT,NKV,hs] at
    /// pos..pos+Tq−1, then out[B,Tq,NH,hs] = causal attention of the new queries over cached positions
    /// 0..pos+t. Cache rows past pos+Tq−1 are not touched.
    /// </summary>
    public static void KvForward(Span<float> output, Span<float> kCache, Span<float> vCache, ReadOnlySpan<float> q,
        ReadOnlySpan<float> k, ReadOnlySpan<float> v, int B, int Tq, int pos, int maxT, int NH, int NKV, int hs)
    {
        if (B < 0 || Tq < 0 || pos < 0 || hs <= 0 || NKV <= 0 || NH % NKV != 0 || pos + Tq > maxT)
            throw new ArgumentOutOfRangeException(nameof(pos),
                $"attention kv: bad dimensions (B={B}, Tq={Tq}, pos={pos}, maxT={maxT}, NH={NH}, NKV={NKV}, hs={hs})");
        int kvw = NKV * hs;
        if (kCache.Length != (long)B * maxT * kvw || vCache.Length != kCache.Length || k.Length != (long)B * Tq * kvw || v.Length != k.Length
            || q.Length != (long)B * Tq * NH * hs || output.Length != q.Length)
            throw new ArgumentException("attention kv: buffer lengths do not fit the dimensions");
        if (B == 0 || Tq == 0) return;
        for (int b = 0; b < B; b++)
        {
            k.Slice(b * Tq * kvw, Tq * kvw).CopyTo(kCache.Slice((b * maxT + pos) * kvw));
            v.Slice(b * Tq * kvw, Tq * kvw).CopyTo(vCache.Slice((b * maxT + pos) * kvw));
        }
        fixed (float* o = output, kc = kCache, vc = vCache, pq = q)
            KvAttend(o, kc, vc, pq, B, Tq, pos, maxT, NH, NKV, hs);
    }

    private static void KvAttend(float* output, float* kCache, float* vCache, float* q, int B, int Tq, int pos, int maxT, int NH, int NKV, int hs)
    {
        int G = NH / NKV, kvw = NKV * hs, rows = B * Tq, heads = rows * NKV;
        int splits = heads < KvSplitItems ? (pos + Tq + KvChunk - 1) / KvChunk : 1;
        int stride = G * hs + 2 * G, items = heads * splits;
        float qScale = 1.44269504088896341f / MathF.Sqrt(hs); // scores in log2 units
        float[] partials = t_partials is { } kept && kept.Length >= (long)items * stride
            ? kept : t_partials = GC.AllocateUninitializedArray<float>(items * stride, pinned: true);
        float* part0 = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(partials));
        nint pp = (nint)part0, pk = (nint)kCache, pv = (nint)vCache, pqn = (nint)q;

        Action<int> body = item =>
        {
            int hd = item / splits, sp = item % splits, bt = hd / NKV, g = hd % NKV, b = bt / Tq, t = bt % Tq;
            int visible = pos + t + 1;
            int j0 = splits == 1 ? 0 : sp * KvChunk, j1 = splits == 1 ? visible : Math.Min(visible, j0 + KvChunk);
            float* part = (float*)pp + (long)item * stride;
            if (j0 >= j1)
            {
                // Past this row's last key (a prefill's early rows): an empty chunk, weight 0.
                new Span<float>(part + G * hs, G).Fill(float.NegativeInfinity);
                new Span<float>(part + G * hs + G, G).Clear();
                return;
            }
            long cache = (long)b * maxT * kvw + g * hs;
            GroupRows(part, part + G * hs, (float*)pqn + ((long)bt * NH + g * G) * hs, (float*)pk + cache, (float*)pv + cache,
                kvw, j0, j1, G, hs, qScale);
        };
        long work = 2L * B * NH * hs * ((long)Tq * pos + (long)Tq * (Tq + 1) / 2);
        if (work < KvSerialWork) for (int i = 0; i < items; i++) body(i);
        else CpuWorkers.For(items, body);

        // Merge the chunks of each query head in chunk order: o = Σ wₛ·oₛ / Σ wₛ·lₛ, wₛ = 2^(mₛ − max m).
        for (int bt = 0; bt < rows; bt++)
            for (int h = 0; h < NH; h++)
            {
                int g = h / G, gq = h % G;
                float* first = part0 + (long)(bt * NKV + g) * splits * stride;
                float m = float.NegativeInfinity;
                for (int s = 0; s < splits; s++) m = MathF.Max(m, first[s * stride + G * hs + gq]);
                var o = new Span<float>(output + ((long)bt * NH + h) * hs, hs);
                o.Clear();
                float l = 0f;
                for (int s = 0; s < splits; s++)
                {
                    float* part = first + s * stride;
                    float sum = part[G * hs + G + gq];
                    if (sum == 0f) continue; // an empty chunk
                    float w = float.Exp2(part[G * hs + gq] - m);
                    l += w * sum;
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(part + gq * hs, hs), w, o, o);
                }
                TensorPrimitives.Multiply(o, 1f / l, o);
            }
    }

    /// <summary>
    /// The G query heads q[G, hs] of one key/value head against its cached rows [j0, j1) (k and v point
    /// at row 0 of that head; rows are <paramref name="kvw"/> apart): o[G, hs] = Σⱼ 2^(sⱼ − m)·vⱼ
    /// unnormalised, stats[gq] = m (the max score) and stats[G + gq] = Σⱼ 2^(sⱼ − m), scores in log2
    /// units (<paramref name="qScale"/> = log2(e)/√hs), so each probability is one exp2. Each cached row
    /// is read once for the whole group. The loops are <see cref="Attention"/>'s decoding ones
    /// (16 key rows per <see cref="Attention.ScoreBlock"/>, no horizontal sum per score; two value
    /// rows per load and store of o): in SmolLM-135M's decode profile 1.37 -> ~0.7 ms per token against
    /// one dot product and one axpy per row (1.15x alone on caches flushed from L3).
    /// </summary>
    private static void GroupRows(float* o, float* stats, float* q, float* k, float* v, int kvw, int j0, int j1, int G, int hs, float qScale)
    {
        const int W = 16;
        int n = j1 - j0, nPad = (n + W - 1) / W * W;
        float* s = AttentionScratch.Get(G * nPad + G * hs); // scores, then probabilities [G, nPad]
        float* qs = s + G * nPad;                            // scaled queries [G, hs]
        TensorPrimitives.Multiply(new ReadOnlySpan<float>(q, G * hs), qScale, new Span<float>(qs, G * hs));

        // Scores: whole blocks of 16 rows through ScoreBlock (meanwhile asking for the value rows the
        // next pass reads), the rest row by row.
        int jBlocks = hs % W == 0 && Avx512F.IsSupported ? n / W * W : 0;
        for (int j = 0; j < jBlocks; j += W)
        {
            float* kb = k + (long)(j0 + j) * kvw, vb = v + (long)(j0 + j) * kvw;
            for (int r = 0; r < W; r++)
                for (int d = 0; d < hs; d += W) Sse.Prefetch1(vb + (long)r * kvw + d);
            for (int gq = 0; gq < G; gq++)
                Attention.ScoreBlock(qs + gq * hs, kb, kvw, hs).Store(s + gq * nPad + j);
        }
        for (int j = jBlocks; j < n; j++)
        {
            float* kr = k + (long)(j0 + j) * kvw;
            for (int gq = 0; gq < G; gq++) s[gq * nPad + j] = Dot(qs + gq * hs, kr, hs);
        }

        // Softmax numerators per query head; padding scores of −∞ give exactly 0.
        for (int gq = 0; gq < G; gq++)
        {
            var sg = new Span<float>(s + gq * nPad, nPad);
            sg[n..].Fill(float.NegativeInfinity);
            float m = TensorPrimitives.Max(sg[..n]);
            float sum = 0f;
            int j = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var vm = Vector512.Create(m);
                var vsum = Vector512<float>.Zero;
                for (; j < nPad; j += W)
                {
                    var p = AttentionTile.Exp2(Vector512.Load(s + gq * nPad + j) - vm);
                    p.Store(s + gq * nPad + j);
                    vsum += p;
                }
                sum = Vector512.Sum(vsum);
            }
            for (; j < n; j++) sum += sg[j] = float.Exp2(sg[j] - m);
            stats[gq] = m;
            stats[G + gq] = sum;
        }

        // Values: o[gq, :] += p[gq, j]·v[j, :], two rows at a time so each load and store of o carries two FMAs.
        new Span<float>(o, G * hs).Clear();
        int jj = 0;
        for (; jj + 1 < n; jj += 2)
        {
            float* va = v + (long)(j0 + jj) * kvw, vb = va + kvw;
            for (int gq = 0; gq < G; gq++)
                Axpy2(o + gq * hs, s[gq * nPad + jj], va, s[gq * nPad + jj + 1], vb, hs);
        }
        if (jj < n)
        {
            float* va = v + (long)(j0 + jj) * kvw;
            for (int gq = 0; gq < G; gq++) Axpy(o + gq * hs, s[gq * nPad + jj], va, hs);
        }
    }

    /// <summary>y[n] += a·x[n] + b·z[n].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy2(float* y, float a, float* x, float b, float* z, int n)
    {
        int d = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            var vb = Vector512.Create(b);
            for (; d <= n - 16; d += 16)
                Vector512.FusedMultiplyAdd(vb, Vector512.Load(z + d), Vector512.FusedMultiplyAdd(va, Vector512.Load(x + d), Vector512.Load(y + d))).Store(y + d);
        }
        for (; d < n; d++) y[d] += a * x[d] + b * z[d];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(float* a, float* b, int n)
    {
        float dot = 0;
        int d = 0;
        if (Vector512.IsHardwareAccelerated && n >= 16)
        {
            var acc = Vector512.Load(a) * Vector512.Load(b);
            for (d = 16; d <= n - 16; d += 16) acc = Vector512.FusedMultiplyAdd(Vector512.Load(a + d), Vector512.Load(b + d), acc);
            dot = Vector512.Sum(acc);
        }
        else if (Vector256.IsHardwareAccelerated && n >= 8)
        {
            var acc = Vector256.Load(a) * Vector256.Load(b);
            for (d = 8; d <= n - 8; d += 8) acc = Vector256.FusedMultiplyAdd(Vector256.Load(a + d), Vector256.Load(b + d), acc);
            dot = Vector256.Sum(acc);
        }
        for (; d < n; d++) dot += a[d] * b[d];
        return dot;
    }

    /// <summary>y[n] += a·x[n].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Axpy(float* y, float a, float* x, int n)
    {
        int d = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var va = Vector512.Create(a);
            for (; d <= n - 16; d += 16) Vector512.FusedMultiplyAdd(va, Vector512.Load(x + d), Vector512.Load(y + d)).Store(y + d);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var va = Vector256.Create(a);
            for (; d <= n - 8; d += 8) Vector256.FusedMultiplyAdd(va, Vector256.Load(x + d), Vector256.Load(y + d)).Store(y + d);
        }
        for (; d < n; d++) y[d] += a * x[d];
    }

    /// <summary>qkv[rows, 3C] = [q row | k heads, each repeated for its group | v heads likewise].</summary>
    private static void Pack(float[] qkv, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int rows, int NH, int NKV, int hs)
    {
        int C = NH * hs, G = NH / NKV, kvw = NKV * hs;
        fixed (float* pOut = qkv, pq = q, pk = k, pv = v)
        {
            float* x = pOut, qq = pq, kk = pk, vv = pv;
            CpuParallel.ForRange(rows, Math.Max(1, MinPackWork / (3 * C)), (start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    float* row = x + (long)r * 3 * C;
                    new ReadOnlySpan<float>(qq + (long)r * C, C).CopyTo(new Span<float>(row, C));
                    for (int h = 0; h < NH; h++)
                    {
                        long src = (long)r * kvw + h / G * hs;
                        new ReadOnlySpan<float>(kk + src, hs).CopyTo(new Span<float>(row + C + h * hs, hs));
                        new ReadOnlySpan<float>(vv + src, hs).CopyTo(new Span<float>(row + 2 * C + h * hs, hs));
                    }
                }
            });
        }
    }

    /// <summary>dq += dqkv's q part; dk, dv += dqkv's k, v parts summed over each group's query heads (in head order).</summary>
    private static void Unpack(Span<float> dq, Span<float> dk, Span<float> dv, float[] dqkv, int rows, int NH, int NKV, int hs)
    {
        int C = NH * hs, G = NH / NKV, kvw = NKV * hs;
        fixed (float* pq = dq, pk = dk, pv = dv, px = dqkv)
        {
            float* gq = pq, gk = pk, gv = pv, x = px;
            CpuParallel.ForRange(rows, Math.Max(1, MinPackWork / (3 * C)), (start, end) =>
            {
                for (int r = start; r < end; r++)
                {
                    float* row = x + (long)r * 3 * C;
                    var q = new Span<float>(gq + (long)r * C, C);
                    TensorPrimitives.Add(q, new ReadOnlySpan<float>(row, C), q);
                    for (int h = 0; h < NH; h++)
                    {
                        long dst = (long)r * kvw + h / G * hs;
                        var k = new Span<float>(gk + dst, hs);
                        var v = new Span<float>(gv + dst, hs);
                        TensorPrimitives.Add(k, new ReadOnlySpan<float>(row + C + h * hs, hs), k);
                        TensorPrimitives.Add(v, new ReadOnlySpan<float>(row + 2 * C + h * hs, hs), v);
                    }
                }
            });
        }
    }

    // The kernels index through pointers, so every length is checked up front.
    private static void CheckShapes(int output, int lse, int q, int k, int v, int B, int T, int NH, int NKV, int hs)
    {
        if (B < 0 || T < 0 || NH <= 0 || NKV <= 0 || hs <= 0)
            throw new ArgumentOutOfRangeException(nameof(NH), $"attention: bad dimensions (B={B}, T={T}, NH={NH}, NKV={NKV}, hs={hs})");
        if (NH % NKV != 0)
            throw new ArgumentException($"attention: NH={NH} query heads do not split into NKV={NKV} key/value groups", nameof(NKV));
        long qn = (long)B * T * NH * hs, kn = (long)B * T * NKV * hs;
        if (output != qn || q != qn || k != kn || v != kn || lse != (long)B * NH * T)
            throw new ArgumentException($"attention: buffers of {output}, {lse}, {q}, {k}, {v} elements do not fit B={B}, T={T}, NH={NH}, NKV={NKV}, hs={hs}");
    }
}
