namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// Where the attention kernels find their rows. Query row i of batch b, head h starts at
/// q[b·QBatch + i·QRow + h·HeadSize] (and likewise out/dout with OBatch/ORow, key j in k with
/// KBatch/KRow, value j in v with the same strides as k). Training passes views of qkv[B,T,3C]
/// offset by 0, C and 2C (row stride 3C); decoding passes the key/value cache (row stride C).
/// Query i sits at position QueryPos + i; under the causal mask it sees keys 0..QueryPos+i.
/// lse[B,NH,Rows] is written only when <see cref="WriteLse"/> is 1.
/// </summary>
/// <param name="Rows">Query rows per batch entry (T, or Tq when decoding).</param>
/// <param name="Keys">Keys per batch entry.</param>
/// <param name="Heads">NH.</param>
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
public readonly record struct AttentionShape(int Rows, int Keys, int Heads, int HeadSize, int QBatch, int QRow, int KBatch, int KRow,
    int OBatch, int ORow, int QueryPos, int Causal, int WriteLse, float Scale)
{
    /// <summary>Self-attention over qkv[B,T,3C] with out[B,T,C] (training).</summary>
    public static AttentionShape SelfAttention(int T, int C, int NH, bool causal)
        => new(T, T, NH, C / NH, T * 3 * C, 3 * C, T * 3 * C, 3 * C, T * C, C, 0, causal ? 1 : 0, 1, 1f / MathF.Sqrt(C / NH));

    /// <summary>Tq new queries from qkv[B,Tq,3C] over caches [B,maxT,C] holding pos + Tq keys (decoding).</summary>
    public static AttentionShape KvCache(int Tq, int pos, int maxT, int C, int NH)
        => new(Tq, pos + Tq, NH, C / NH, Tq * 3 * C, 3 * C, maxT * C, C, Tq * C, C, pos, 1, 0, 1f / MathF.Sqrt(C / NH));

    /// <summary>Keys visible to query row i (all of them without the mask).</summary>
    public int Visible(int i) => Causal != 0 ? Math.Min(Keys, QueryPos + i + 1) : Keys;
}
