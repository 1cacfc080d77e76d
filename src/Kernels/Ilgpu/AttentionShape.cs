namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// Where the attention kernels find their rows. Query row i of batch b, head h starts at
/// q[b·QBatch + i·QRow + h·HeadSize] (and likewise out/dout with OBatch/ORow); query head h reads
/// key/value head h / Group, whose key j starts at k[b·KBatch + j·KRow + (h / Group)·HeadSize]
/// (value j in v with the same strides as k). Training passes views of qkv[B,T,3C] offset by 0,
/// C and 2C (row stride 3C, Group 1); decoding passes the key/value cache (row stride C).
/// Grouped-query attention passes its separate q[B,T,NH,hs] and k, v[B,T,NKV,hs] (or caches of
/// NKV heads), Group = NH/NKV.
/// Query i sits at position QueryPos + i; under the causal mask it sees keys 0..QueryPos+i.
/// lse[B,NH,Rows] is written only when <see cref="WriteLse"/> is 1.
/// </summary>
/// <param name="Rows">Query rows per batch entry (T, or Tq when decoding).</param>
/// <param name="Keys">Keys per batch entry.</param>
/// <param name="Heads">NH, the query heads.</param>
/// <param name="Group">Query heads per key/value head: 1 for multi-head attention, NH/NKV for grouped-query.</param>
/// <param name="HeadSize">hs = C/NH.</param>
/// <param name="QBatch">Stride of q between batch entries.</param>
/// <param name="QRow">Stride of q between rows.</param>
/// <param name="KBatch">Stride of k and v between batch entries.</param>
/// <param name="KRow">Stride of k and v between rows.</param>
/// <param name="OBatch">Stride of out (and dout) between batch entries.</param>
/// <param name="ORow">Stride of out (and dout) between rows.</param>
/// <param name="QueryPos">Position of query row 0 among the keys.</param>
/// <param name="Causal">1 for the causal mask.</param>
/// <param name="WriteLse">1 to store each row's log-sum-exp.</param>
/// <param name="Scale">1/√hs.</param>
public readonly record struct AttentionShape(int Rows, int Keys, int Heads, int Group, int HeadSize, int QBatch, int QRow, int KBatch, int KRow,
    int OBatch, int ORow, int QueryPos, int Causal, int WriteLse, float Scale)
{
    /// <summary>Self-attention over qkv[B,T,3C] with out[B,T,C] (training).</summary>
    public static AttentionShape SelfAttention(int T, int C, int NH, bool causal)
        => new(T, T, NH, 1, C / NH, T * 3 * C, 3 * C, T * 3 * C, 3 * C, T * C, C, 0, causal ? 1 : 0, 1, 1f / MathF.Sqrt(C / NH));

    /// <summary>Tq new queries from qkv[B,Tq,3C] over caches [B,maxT,C] holding pos + Tq keys (decoding).</summary>
    public static AttentionShape KvCache(int Tq, int pos, int maxT, int C, int NH)
        => new(Tq, pos + Tq, NH, 1, C / NH, Tq * 3 * C, 3 * C, maxT * C, C, Tq * C, C, pos, 1, 0, 1f / MathF.Sqrt(C / NH));

    /// <summary>Causal grouped-query attention over q/out[B,T,NH,hs] and k/v[B,T,NKV,hs] (training).</summary>
    public static AttentionShape GroupedQuery(int T, int NH, int NKV, int hs)
        => new(T, T, NH, NH / NKV, hs, T * NH * hs, NH * hs, T * NKV * hs, NKV * hs, T * NH * hs, NH * hs, 0, 1, 1, 1f / MathF.Sqrt(hs));

    /// <summary>Tq new grouped queries q[B,Tq,NH,hs] over caches [B,maxT,NKV,hs] holding pos + Tq keys (decoding).</summary>
    public static AttentionShape GroupedQueryKvCache(int Tq, int pos, int maxT, int NH, int NKV, int hs)
        => new(Tq, pos + Tq, NH, NH / NKV, hs, Tq * NH * hs, NH * hs, maxT * NKV * hs, NKV * hs, Tq * NH * hs, NH * hs, pos, 1, 0, 1f / MathF.Sqrt(hs));

    /// <summary>Key/value heads, NH / Group.</summary>
    public int KvHeads => Heads / Group;

    /// <summary>Keys visible to query row i (all of them without the mask).</summary>
    public int Visible(int i) => Causal != 0 ? Math.Min(Keys, QueryPos + i + 1) : Keys;
}
