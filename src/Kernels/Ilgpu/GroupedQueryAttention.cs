using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// Grouped-query attention on ILGPU (semantics and layouts as <see cref="Reference.GroupedQueryAttention"/>:
/// q/out[B,T,NH,hs], k/v[B,T,NKV,hs], lse[B,NH,T]). The attention itself runs
/// <see cref="Attention"/>'s kernels under <see cref="AttentionShape.GroupedQuery"/> and
/// <see cref="AttentionShape.GroupedQueryKvCache"/>: their <see cref="AttentionShape.Group"/>
/// sends query head h to key/value head h / Group, and <see cref="Attention.BackwardKeys"/> then
/// runs one group per key/value head and sums the whole group's queries, so every dk and dv row
/// keeps one writer. What is grouped-query attention's own is decoding's cache append from its
/// separate k and v buffers.
/// </summary>
public static class GroupedQueryAttention
{
    /// <summary>
    /// kCache[b,pos+t,:] = k[b,t,:] and vCache likewise, rows of kvw = NKV·hs floats: the new
    /// tokens' key/value heads from k, v[B,Tq,NKV,hs] into the caches [B,maxT,NKV,hs]; a
    /// grid-stride loop over B·Tq·kvw.
    /// </summary>
    public static void AppendKv(ArrayView<float> kCache, ArrayView<float> vCache, ArrayView<float> k, ArrayView<float> v,
        int Tq, int pos, int maxT, int kvw)
    {
        for (int index = Grid.GlobalIndex.X; index < k.IntLength; index += GridStride.Step)
        {
            int c = index % kvw, bt = index / kvw, b = bt / Tq, t = bt % Tq;
            int slot = (b * maxT + pos + t) * kvw + c;
            kCache[slot] = k[index];
            vCache[slot] = v[index];
        }
    }
}
