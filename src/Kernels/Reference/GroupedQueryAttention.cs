using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// Causal scaled dot-product attention with fewer key/value heads than query heads (grouped-query
/// attention, Llama 2 70B onwards; NKV = NH is plain multi-head attention, NKV = 1 multi-query).
/// Query head h reads key/value head h / (NH/NKV), as Hugging Face's <c>repeat_kv</c> lays the
/// groups out. The readable truth for faster kernels, one query row at a time, O(T) scratch.
/// <para>
/// Layouts: q/out[B,T,NH,hs], k/v[B,T,NKV,hs] (a token's heads side by side; separate buffers
/// because each is its own projection); lse[B,NH,T] = log Σⱼ exp(sᵢⱼ), sᵢⱼ = qᵢ·kⱼ/√hs, kept so
/// the backward recomputes probabilities without a T×T matrix. Key j is visible to query i iff j ≤ i.
/// </para>
/// </summary>
public static class GroupedQueryAttention
{
    /// <summary>out and lse (overwritten) = causal softmax(q·kᵀ/√hs)·v per query head.</summary>
    public static void Forward<TNum>(Span<TNum> output, Span<TNum> lse, ReadOnlySpan<TNum> q, ReadOnlySpan<TNum> k, ReadOnlySpan<TNum> v,
        int B, int T, int NH, int NKV, int hs) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        CheckShapes(output.Length, lse.Length, q.Length, k.Length, v.Length, B, T, NH, NKV, hs);
        TNum scale = TNum.One / TNum.Sqrt(TNum.CreateChecked(hs));
        int group = NH / NKV;
        var score = new TNum[T];
        int kvw = NKV * hs;
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < T; i++)
                {
                    // Key/value rows of batch b, head h's group, from position 0 on, kvw apart.
                    int kv0 = b * T * kvw + h / group * hs;
                    int at = ((b * T + i) * NH + h) * hs;
                    lse[(b * NH + h) * T + i] = AttendRow(output.Slice(at, hs), q.Slice(at, hs), k.Slice(kv0), v.Slice(kv0), kvw, i + 1, scale, score);
                }
    }

    /// <summary>
    /// dq, dk, dv += the attention gradients (accumulates), FlashAttention-2's form as in
    /// <see cref="Attention.Backward{TNum}"/>; the query heads of a group all add into their shared dk, dv.
    /// </summary>
    public static void Backward<TNum>(Span<TNum> dq, Span<TNum> dk, Span<TNum> dv, ReadOnlySpan<TNum> dout,
        ReadOnlySpan<TNum> q, ReadOnlySpan<TNum> k, ReadOnlySpan<TNum> v, ReadOnlySpan<TNum> output, ReadOnlySpan<TNum> lse,
        int B, int T, int NH, int NKV, int hs) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        CheckShapes(output.Length, lse.Length, q.Length, k.Length, v.Length, B, T, NH, NKV, hs);
        CheckShapes(dout.Length, lse.Length, dq.Length, dk.Length, dv.Length, B, T, NH, NKV, hs);
        TNum scale = TNum.One / TNum.Sqrt(TNum.CreateChecked(hs));
        int group = NH / NKV;
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
            {
                int kvh = h / group;
                for (int i = 0; i < T; i++)
                {
                    int qOff = ((b * T + i) * NH + h) * hs;
                    ReadOnlySpan<TNum> qi = q.Slice(qOff, hs), g = dout.Slice(qOff, hs), o = output.Slice(qOff, hs);
                    Span<TNum> dqi = dq.Slice(qOff, hs);
                    TNum rowLse = lse[(b * NH + h) * T + i];
                    TNum D = TNum.Zero;
                    for (int d = 0; d < hs; d++) D += g[d] * o[d];
                    for (int j = 0; j <= i; j++)
                    {
                        int kOff = ((b * T + j) * NKV + kvh) * hs;
                        ReadOnlySpan<TNum> kj = k.Slice(kOff, hs), vj = v.Slice(kOff, hs);
                        Span<TNum> dkj = dk.Slice(kOff, hs), dvj = dv.Slice(kOff, hs);
                        TNum s = TNum.Zero, dp = TNum.Zero;
                        for (int d = 0; d < hs; d++)
                        {
                            s += qi[d] * kj[d];
                            dp += g[d] * vj[d];
                        }
                        TNum p = TNum.Exp(s * scale - rowLse);
                        TNum ds = p * (dp - D) * scale;
                        for (int d = 0; d < hs; d++)
                        {
                            dvj[d] += p * g[d];
                            dqi[d] += ds * kj[d];
                            dkj[d] += ds * qi[d];
                        }
                    }
                }
            }
    }

    /// <summary>
    /// Decoding: writes the Tq new tokens' k and v [B,Tq,NKV,hs] into kCache/vCache[B,maxT,NKV,hs]
    /// at positions pos..pos+Tq−1 (the cache holds only the key/value heads), then out[B,Tq,NH,hs] =
    /// causal attention of the new queries over cached positions 0..pos+t.
    /// </summary>
    public static void KvForward<TNum>(Span<TNum> output, Span<TNum> kCache, Span<TNum> vCache, ReadOnlySpan<TNum> q,
        ReadOnlySpan<TNum> k, ReadOnlySpan<TNum> v, int B, int Tq, int pos, int maxT, int NH, int NKV, int hs)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        if (pos < 0 || Tq < 0 || pos + Tq > maxT)
            throw new ArgumentOutOfRangeException(nameof(pos), $"attention kv: positions {pos}..{pos + Tq - 1} do not fit a cache of {maxT}");
        if (NKV <= 0 || NH % NKV != 0) throw new ArgumentException($"attention kv: NH={NH} is not a multiple of NKV={NKV}");
        int kvw = NKV * hs;
        if (kCache.Length != (long)B * maxT * kvw || vCache.Length != kCache.Length || k.Length != B * Tq * kvw || v.Length != k.Length
            || q.Length != B * Tq * NH * hs || output.Length != q.Length)
            throw new ArgumentException("attention kv: buffer lengths do not fit the dimensions");
        for (int b = 0; b < B; b++)
        {
            k.Slice(b * Tq * kvw, Tq * kvw).CopyTo(kCache.Slice((b * maxT + pos) * kvw));
            v.Slice(b * Tq * kvw, Tq * kvw).CopyTo(vCache.Slice((b * maxT + pos) * kvw));
        }
        TNum scale = TNum.One / TNum.Sqrt(TNum.CreateChecked(hs));
        int group = NH / NKV;
        var score = new TNum[pos + Tq];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Tq; t++)
                for (int h = 0; h < NH; h++)
                {
                    int kv0 = b * maxT * kvw + h / group * hs;
                    int at = ((b * Tq + t) * NH + h) * hs;
                    AttendRow(output.Slice(at, hs), q.Slice(at, hs), kCache.Slice(kv0), vCache.Slice(kv0), kvw, pos + t + 1, scale, score);
                }
    }

    /// <summary>
    /// One query row: o = softmax(q·kⱼ·scale over j &lt; visible)·v, with key/value row j at
    /// offset j·stride of <paramref name="k"/> and <paramref name="v"/>; returns the row's log-sum-exp.
    /// The one softmax row of the training forward and of decoding.
    /// </summary>
    private static TNum AttendRow<TNum>(Span<TNum> o, ReadOnlySpan<TNum> q, ReadOnlySpan<TNum> k, ReadOnlySpan<TNum> v,
        int stride, int visible, TNum scale, Span<TNum> score) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        int hs = q.Length;
        TNum max = TNum.NegativeInfinity;
        for (int j = 0; j < visible; j++)
        {
            ReadOnlySpan<TNum> kj = k.Slice(j * stride, hs);
            TNum s = TNum.Zero;
            for (int d = 0; d < hs; d++) s += q[d] * kj[d];
            score[j] = s * scale;
            if (score[j] > max) max = score[j];
        }
        // Subtracting the row max keeps exp from overflowing; it cancels in the ratio.
        TNum sum = TNum.Zero;
        for (int j = 0; j < visible; j++)
        {
            score[j] = TNum.Exp(score[j] - max);
            sum += score[j];
        }
        o.Clear();
        for (int j = 0; j < visible; j++)
        {
            ReadOnlySpan<TNum> vj = v.Slice(j * stride, hs);
            TNum p = score[j] / sum;
            for (int d = 0; d < hs; d++) o[d] += p * vj[d];
        }
        return max + TNum.Log(sum);
    }

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
