using System.Numerics;

namespace Hyper.Kernels.Reference;

/// <summary>
/// Exact multi-head scaled dot-product attention, one query row at a time: scores for the row,
/// softmax, weighted sum of values. The readable truth for every faster attention (the test
/// oracle in float, the finite-difference subject in double). Scratch is one score row, O(T).
/// <para>
/// Layouts: qkv[B,T,3C] holds, for token (b,t), q (C values), then k (C), then v (C); head h
/// uses channels [h·hs, (h+1)·hs) of each, hs = C/NH. out[B,T,C] has the heads side by side.
/// lse[B,NH,T] = log Σⱼ exp(sᵢⱼ) per query row, sᵢⱼ = qᵢ·kⱼ/√hs: with it the backward
/// recomputes every probability pᵢⱼ = exp(sᵢⱼ − lseᵢ) without storing a T×T matrix.
/// Causal: key j is visible to query i iff j ≤ i.
/// </para>
/// <para>
/// The type parameter is <c>TNum</c>, not llm.c's <c>T</c>, because <c>T</c> is the sequence length.
/// </para>
/// </summary>
public static partial class Attention
{
    /// <summary>
    /// out[B,T,C] = softmax(q·kᵀ/√hs [+ causal mask]) · v per head; lse[B,NH,T] = each row's log-sum-exp.
    /// Both outputs are overwritten.
    /// </summary>
    public static void Forward<TNum>(Span<TNum> output, Span<TNum> lse, ReadOnlySpan<TNum> qkv,
        int B, int T, int C, int NH, bool causal) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        CheckShapes(output.Length, lse.Length, qkv.Length, B, T, C, NH);
        int hs = C / NH;
        TNum scale = TNum.One / TNum.Sqrt(TNum.CreateChecked(hs));
        var score = new TNum[T]; // one row of scores, then of exp(score - max)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < T; i++)
                {
                    ReadOnlySpan<TNum> q = qkv.Slice((b * T + i) * 3 * C + h * hs, hs);
                    int visible = causal ? i + 1 : T;
                    TNum max = TNum.NegativeInfinity;
                    for (int j = 0; j < visible; j++)
                    {
                        ReadOnlySpan<TNum> k = qkv.Slice((b * T + j) * 3 * C + C + h * hs, hs);
                        TNum s = TNum.Zero;
                        for (int d = 0; d < hs; d++) s += q[d] * k[d];
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
                    Span<TNum> o = output.Slice((b * T + i) * C + h * hs, hs);
                    o.Clear();
                    for (int j = 0; j < visible; j++)
                    {
                        ReadOnlySpan<TNum> v = qkv.Slice((b * T + j) * 3 * C + 2 * C + h * hs, hs);
                        TNum p = score[j] / sum;
                        for (int d = 0; d < hs; d++) o[d] += p * v[d];
                    }
                    lse[(b * NH + h) * T + i] = max + TNum.Log(sum);
                }
    }

    /// <summary>
    /// dqkv[B,T,3C] += the gradients of the attention output with respect to q, k and v, given
    /// dout[B,T,C], the forward's inputs and its outputs out[B,T,C] and lse[B,NH,T].
    /// <para>
    /// FlashAttention-2's form: pᵢⱼ = exp(sᵢⱼ − lseᵢ); dvⱼ += Σᵢ pᵢⱼ·doutᵢ; dpᵢⱼ = doutᵢ·vⱼ;
    /// Dᵢ = doutᵢ·outᵢ (= Σⱼ pᵢⱼ·dpᵢⱼ, the softmax Jacobian's diagonal correction);
    /// dsᵢⱼ = pᵢⱼ·(dpᵢⱼ − Dᵢ); dqᵢ += Σⱼ dsᵢⱼ·kⱼ/√hs; dkⱼ += Σᵢ dsᵢⱼ·qᵢ/√hs.
    /// </para>
    /// </summary>
    public static void Backward<TNum>(Span<TNum> dqkv, ReadOnlySpan<TNum> dout, ReadOnlySpan<TNum> qkv,
        ReadOnlySpan<TNum> output, ReadOnlySpan<TNum> lse, int B, int T, int C, int NH, bool causal)
        where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        CheckShapes(output.Length, lse.Length, qkv.Length, B, T, C, NH);
        CheckBackwardShapes(dqkv.Length, dout.Length, B, T, C);
        int hs = C / NH;
        TNum scale = TNum.One / TNum.Sqrt(TNum.CreateChecked(hs));
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
                    int visible = causal ? i + 1 : T;
                    for (int j = 0; j < visible; j++)
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
                        TNum p = TNum.Exp(s * scale - rowLse);
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

    /// <summary>Throws unless the buffers have the lengths B, T, C and NH imply (C divisible by NH).</summary>
    internal static void CheckShapes(int output, int lse, int qkv, int B, int T, int C, int NH)
    {
        if (B < 0 || T < 0 || C <= 0 || NH <= 0)
            throw new ArgumentOutOfRangeException(nameof(B), $"attention: bad dimensions (B={B}, T={T}, C={C}, NH={NH})");
        if (C % NH != 0)
            throw new ArgumentException($"attention: C={C} is not divisible by NH={NH}", nameof(NH));
        Expect(nameof(output), output, (long)B * T * C);
        Expect(nameof(lse), lse, (long)B * NH * T);
        Expect(nameof(qkv), qkv, (long)B * T * 3 * C);
    }

    /// <summary>Throws unless the backward's extra buffers have the right lengths.</summary>
    internal static void CheckBackwardShapes(int dqkv, int dout, int B, int T, int C)
    {
        Expect(nameof(dqkv), dqkv, (long)B * T * 3 * C);
        Expect(nameof(dout), dout, (long)B * T * C);
    }

    private static void Expect(string name, int actual, long expected)
    {
        if (actual != expected)
            throw new ArgumentException($"attention: {name} has {actual} elements, expected {expected}", name);
    }
}
