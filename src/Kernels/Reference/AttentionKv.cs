using System.Numerics;

namespace Hyper.Kernels.Reference;

// Attention for incremental decoding: the Tq new tokens' keys and values go into a cache that
// holds every earlier token's, and their queries attend over the cache.
public static partial class Attention
{
    /// <summary>
    /// Attention of Tq new tokens over a key/value cache. First writes each new token's k and v
    /// (from qkv[B,Tq,3C], laid out as in <see cref="Forward{TNum}"/>) into kCache[B,maxT,C] and
    /// vCache[B,maxT,C] at positions pos..pos+Tq−1; then, for the query of new token t (position
    /// pos+t), out[b,t,:] = softmax(q·kⱼ/√hs over j = 0..pos+t) · v per head (causal: a token sees
    /// the cache before it and itself). Cache rows beyond pos+Tq−1 are neither read nor written;
    /// out[B,Tq,C] is overwritten. No log-sum-exp is kept: this path has no backward.
    /// </summary>
    public static void KvForward<TNum>(Span<TNum> output, Span<TNum> kCache, Span<TNum> vCache, ReadOnlySpan<TNum> qkv,
        int B, int Tq, int pos, int maxT, int C, int NH) where TNum : unmanaged, IFloatingPointIeee754<TNum>
    {
        CheckKvShapes(output.Length, kCache.Length, vCache.Length, qkv.Length, B, Tq, pos, maxT, C, NH);
        int hs = C / NH;
        TNum scale = TNum.One / TNum.Sqrt(TNum.CreateChecked(hs));
        WriteKv(kCache, vCache, qkv, B, Tq, pos, maxT, C);
        var score = new TNum[pos + Tq]; // one row of scores, then of exp(score - max)
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int t = 0; t < Tq; t++)
                {
                    ReadOnlySpan<TNum> q = qkv.Slice((b * Tq + t) * 3 * C + h * hs, hs);
                    int visible = pos + t + 1;
                    TNum max = TNum.NegativeInfinity;
                    for (int j = 0; j < visible; j++)
                    {
                        ReadOnlySpan<TNum> k = kCache.Slice((b * maxT + j) * C + h * hs, hs);
                        TNum s = TNum.Zero;
                        for (int d = 0; d < hs; d++) s += q[d] * k[d];
                        score[j] = s * scale;
                        if (score[j] > max) max = score[j];
                    }
                    TNum sum = TNum.Zero;
                    for (int j = 0; j < visible; j++)
                    {
                        score[j] = TNum.Exp(score[j] - max);
                        sum += score[j];
                    }
                    Span<TNum> o = output.Slice((b * Tq + t) * C + h * hs, hs);
                    o.Clear();
                    for (int j = 0; j < visible; j++)
                    {
                        ReadOnlySpan<TNum> v = vCache.Slice((b * maxT + j) * C + h * hs, hs);
                        TNum p = score[j] / sum;
                        for (int d = 0; d < hs; d++) o[d] += p * v[d];
                    }
                }
    }

    /// <summary>Throws unless the KV-cache attention's buffers and positions fit B, Tq, pos, maxT, C and NH.</summary>
    /// <summary>Copies the Tq new tokens' k and v (from qkv[B,Tq,3C]) into kCache/vCache[B,maxT,C] at positions pos..pos+Tq−1.</summary>
    public static void WriteKv<TNum>(Span<TNum> kCache, Span<TNum> vCache, ReadOnlySpan<TNum> qkv, int B, int Tq, int pos, int maxT, int C)
    {
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Tq; t++)
            {
                int row = (b * Tq + t) * 3 * C, slot = (b * maxT + pos + t) * C;
                qkv.Slice(row + C, C).CopyTo(kCache.Slice(slot, C));
                qkv.Slice(row + 2 * C, C).CopyTo(vCache.Slice(slot, C));
            }
    }

    internal static void CheckKvShapes(int output, int kCache, int vCache, int qkv, int B, int Tq, int pos, int maxT, int C, int NH)
    {
        if (B < 0 || Tq < 0 || pos < 0 || maxT < 0 || C <= 0 || NH <= 0)
            throw new ArgumentOutOfRangeException(nameof(B), $"attention (kv): bad dimensions (B={B}, Tq={Tq}, pos={pos}, maxT={maxT}, C={C}, NH={NH})");
        if (C % NH != 0)
            throw new ArgumentException($"attention (kv): C={C} is not divisible by NH={NH}", nameof(NH));
        if ((long)pos + Tq > maxT)
            throw new ArgumentOutOfRangeException(nameof(pos), $"attention (kv): tokens {pos}..{pos + Tq - 1} do not fit a cache of {maxT} positions");
        Expect(nameof(output), output, (long)B * Tq * C);
        Expect(nameof(kCache), kCache, (long)B * maxT * C);
        Expect(nameof(vCache), vCache, (long)B * maxT * C);
        Expect(nameof(qkv), qkv, (long)B * Tq * 3 * C);
    }
}
