using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Models;

/// <summary>
/// Grouped-query attention seen as multi-head attention, for the ops that know only the latter
/// (HyperAttention): every key/value head is repeated for the NH/NKV query heads of its group,
/// into the qkv[N,3Q] layout of <see cref="IBackend.AttentionForward"/> (q, k, v side by side,
/// NH heads of hd inside each); the backward sums each group's key/value gradients back onto its head.
/// <para>
/// Written with <see cref="IBackend.Copy"/> and <see cref="IBackend.ResidualForward"/> on views, so it
/// runs on any backend; that is N·(1 + 2·NH) small ops per call, little beside the attention they feed.
/// Repeating the heads costs NH/NKV times the memory of k and v, and lets the hashing and the
/// sampled keys see exactly what exact grouped-query attention sees.
/// </para>
/// </summary>
internal static class GroupedHeads
{
    /// <summary>qkv[N,3Q] = (q[N,Q], k[N,KV] and v[N,KV] with head j repeated as heads j·G..j·G+G−1), G = NH/NKV.</summary>
    public static void Expand(IBackend be, TensorView qkv, TensorView q, TensorView k, TensorView v, int N, int NH, int NKV, int hd)
    {
        int G = NH / NKV;
        long Q = (long)NH * hd, KV = (long)NKV * hd, row = 3 * Q;
        Check(qkv, q, k, v, N, NH, NKV, hd);
        for (long n = 0; n < N; n++)
        {
            be.Copy(q.Slice(n * Q, Q), qkv.Slice(n * row, Q));
            for (int h = 0; h < NH; h++)
            {
                long from = n * KV + (long)(h / G) * hd;
                be.Copy(k.Slice(from, hd), qkv.Slice(n * row + Q + (long)h * hd, hd));
                be.Copy(v.Slice(from, hd), qkv.Slice(n * row + 2 * Q + (long)h * hd, hd));
            }
        }
    }

    /// <summary>dq[N,Q] += dqkv's q part; dk, dv[N,KV] += the sum of their group's heads in dqkv's k and v parts (the transpose of <see cref="Expand"/>).</summary>
    public static void Reduce(IBackend be, TensorView dq, TensorView dk, TensorView dv, TensorView dqkv, int N, int NH, int NKV, int hd)
    {
        int G = NH / NKV;
        long Q = (long)NH * hd, KV = (long)NKV * hd, row = 3 * Q;
        Check(dqkv, dq, dk, dv, N, NH, NKV, hd);
        for (long n = 0; n < N; n++)
        {
            var dqn = dq.Slice(n * Q, Q);
            be.ResidualForward(dqn, dqn, dqkv.Slice(n * row, Q), (int)Q);
            for (int h = 0; h < NH; h++)
            {
                long to = n * KV + (long)(h / G) * hd;
                TensorView dkh = dk.Slice(to, hd), dvh = dv.Slice(to, hd);
                be.ResidualForward(dkh, dkh, dqkv.Slice(n * row + Q + (long)h * hd, hd), hd);
                be.ResidualForward(dvh, dvh, dqkv.Slice(n * row + 2 * Q + (long)h * hd, hd), hd);
            }
        }
    }

    private static void Check(TensorView qkv, TensorView q, TensorView k, TensorView v, int N, int NH, int NKV, int hd)
    {
        if (NKV < 1 || NH % NKV != 0)
            throw new ArgumentException($"grouped heads: {NH} query heads are not a multiple of {NKV} key/value heads");
        long Q = (long)NH * hd, KV = (long)NKV * hd;
        if (qkv.Length < 3 * N * Q || q.Length < N * Q || k.Length < N * KV || v.Length < N * KV)
            throw new ArgumentException($"grouped heads: views of {qkv.Length}, {q.Length}, {k.Length}, {v.Length} floats do not hold N={N} rows of 3·{Q}, {Q}, {KV}, {KV}");
    }
}
