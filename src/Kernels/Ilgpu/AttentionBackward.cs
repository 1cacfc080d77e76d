using ILGPU;

namespace Hyper.Kernels.Ilgpu;

// The attention backward in FlashAttention-2's form (see Reference.Attention.Backward for the
// formulas), split so that no two threads ever add to the same gradient row: one kernel owns key
// rows and accumulates dk and dv over the queries that see them (under grouped-query attention,
// over the queries of every head of the key/value head's group), another owns query rows and
// accumulates dq over their keys. Both recompute pᵢⱼ = exp(sᵢⱼ − lseᵢ) from the forward's lse.
public static partial class Attention
{
    /// <summary>Dynamic shared floats of <see cref="BackwardKeys"/>: six tiles of Br rows of hs, and Br lse and D values.</summary>
    public static int BackwardKeysSharedFloats(int br, int hs) => 6 * br * hs + 2 * br;

    /// <summary>Dynamic shared floats of <see cref="BackwardQueries"/>: five tiles of Br rows of hs.</summary>
    public static int BackwardQueriesSharedFloats(int br, int hs) => 5 * br * hs;

    /// <summary>
    /// delta[b,h,i] = Dᵢ = doutᵢ·outᵢ over the head's channels (the softmax Jacobian's diagonal
    /// term, computed once per row instead of once per key); a grid-stride loop over delta, which
    /// has lse's layout [B,NH,Rows].
    /// </summary>
    public static void BackwardDelta(ArrayView<float> delta, ArrayView<float> dout, ArrayView<float> output, AttentionShape s)
    {
        for (int index = Grid.GlobalIndex.X; index < delta.IntLength; index += GridStride.Step)
        {
            int i = index % s.Rows, bh = index / s.Rows, b = bh / s.Heads, h = bh % s.Heads;
            int off = b * s.OBatch + i * s.ORow + h * s.HeadSize;
            float sum = 0f;
            for (int d = 0; d < s.HeadSize; d++) sum += dout[off + d] * output[off + d];
            delta[index] = sum;
        }
    }

    /// <summary>
    /// dk[j] += Σₕ Σᵢ dsᵢⱼ·qᵢ and dv[j] += Σₕ Σᵢ pᵢⱼ·doutᵢ for the group's Br key rows of one
    /// key/value head, walking the query rows that can see them in tiles, for each of the
    /// <see cref="AttentionShape.Group"/> query heads h that read it in head order (one head
    /// without grouping). Grid (⌈Keys/Br⌉, B·KvHeads), group Br,
    /// <see cref="BackwardKeysSharedFloats"/> dynamic shared floats.
    /// </summary>
    public static void BackwardKeys(ArrayView<float> dk, ArrayView<float> dv, ArrayView<float> dout, ArrayView<float> q,
        ArrayView<float> k, ArrayView<float> v, ArrayView<float> lse, ArrayView<float> delta, AttentionShape s)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int br = Group.DimX, tid = Group.IdxX, hs = s.HeadSize, mine = tid * hs, tile = br * hs;
        var kTile = shared.SubView(0, tile);
        var vTile = shared.SubView(tile, tile);
        var dkAcc = shared.SubView(2 * tile, tile);
        var dvAcc = shared.SubView(3 * tile, tile);
        var qTile = shared.SubView(4 * tile, tile);
        var gTile = shared.SubView(5 * tile, tile); // dout rows
        var lseTile = shared.SubView(6 * tile, br);
        var deltaTile = shared.SubView(6 * tile + br, br);
        int b = Grid.IdxY / s.KvHeads, g = Grid.IdxY % s.KvHeads;
        int first = Grid.IdxX * br, j = first + tid;
        bool active = j < s.Keys;
        LoadRows(kTile, vTile, k, v, s, b, g, j, mine);
        for (int d = 0; d < hs; d++)
        {
            dkAcc[mine + d] = 0f;
            dvAcc[mine + d] = 0f;
        }
        // Under the mask key j is seen by queries i ≥ j − QueryPos: skip the tiles before the group's first key.
        int iStart = s.Causal != 0 ? Math.Max(0, first - s.QueryPos) : 0;
        for (int h = g * s.Group; h < (g + 1) * s.Group; h++)
        {
            for (int i0 = iStart; i0 < s.Rows; i0 += br)
            {
                int i = i0 + tid;
                bool inside = i < s.Rows;
                int qOff = b * s.QBatch + i * s.QRow + h * hs, oOff = b * s.OBatch + i * s.ORow + h * hs;
                for (int d = 0; d < hs; d++)
                {
                    qTile[mine + d] = inside ? q[qOff + d] : 0f;
                    gTile[mine + d] = inside ? dout[oOff + d] : 0f;
                }
                int row = (b * s.Heads + h) * s.Rows + i;
                lseTile[tid] = inside ? lse[row] : 0f;
                deltaTile[tid] = inside ? delta[row] : 0f;
                Group.Barrier();
                int count = active ? Math.Min(br, s.Rows - i0) : 0;
                for (int ii = 0; ii < count; ii++)
                {
                    if (s.Causal != 0 && j > s.QueryPos + i0 + ii) continue;
                    float score = 0f, dp = 0f;
                    for (int d = 0; d < hs; d++)
                    {
                        score += qTile[ii * hs + d] * kTile[mine + d];
                        dp += gTile[ii * hs + d] * vTile[mine + d];
                    }
                    float p = MathF.Exp(score * s.Scale - lseTile[ii]);
                    float ds = p * (dp - deltaTile[ii]) * s.Scale;
                    for (int d = 0; d < hs; d++)
                    {
                        dvAcc[mine + d] += p * gTile[ii * hs + d];
                        dkAcc[mine + d] += ds * qTile[ii * hs + d];
                    }
                }
                Group.Barrier();
            }
        }
        if (!active) return;
        int kOff = b * s.KBatch + j * s.KRow + g * hs;
        for (int d = 0; d < hs; d++)
        {
            dk[kOff + d] += dkAcc[mine + d];
            dv[kOff + d] += dvAcc[mine + d];
        }
    }

    /// <summary>
    /// dq[i] += Σⱼ dsᵢⱼ·kⱼ for the group's Br query rows, walking their visible keys in tiles.
    /// Grid (⌈Rows/Br⌉, B·NH), group Br, <see cref="BackwardQueriesSharedFloats"/> dynamic shared floats.
    /// </summary>
    public static void BackwardQueries(ArrayView<float> dq, ArrayView<float> dout, ArrayView<float> q, ArrayView<float> k,
        ArrayView<float> v, ArrayView<float> lse, ArrayView<float> delta, AttentionShape s)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int br = Group.DimX, tid = Group.IdxX, hs = s.HeadSize, mine = tid * hs, tile = br * hs;
        var qTile = shared.SubView(0, tile);
        var gTile = shared.SubView(tile, tile); // dout rows
        var dqAcc = shared.SubView(2 * tile, tile);
        var kTile = shared.SubView(3 * tile, tile);
        var vTile = shared.SubView(4 * tile, tile);
        int b = Grid.IdxY / s.Heads, h = Grid.IdxY % s.Heads;
        int first = Grid.IdxX * br, i = first + tid;
        bool active = i < s.Rows;
        int visible = active ? s.Visible(i) : 0;
        int groupKeys = s.Visible(Math.Min(first + br, s.Rows) - 1);
        int qOff = b * s.QBatch + i * s.QRow + h * hs, oOff = b * s.OBatch + i * s.ORow + h * hs;
        for (int d = 0; d < hs; d++)
        {
            qTile[mine + d] = active ? q[qOff + d] : 0f;
            gTile[mine + d] = active ? dout[oOff + d] : 0f;
            dqAcc[mine + d] = 0f;
        }
        int row = (b * s.Heads + h) * s.Rows + i;
        float rowLse = active ? lse[row] : 0f, rowDelta = active ? delta[row] : 0f;
        for (int j0 = 0; j0 < groupKeys; j0 += br)
        {
            LoadRows(kTile, vTile, k, v, s, b, h / s.Group, j0 + tid, mine);
            Group.Barrier();
            int count = Math.Min(br, visible - j0);
            for (int jj = 0; jj < count; jj++)
            {
                float score = 0f, dp = 0f;
                for (int d = 0; d < hs; d++)
                {
                    score += qTile[mine + d] * kTile[jj * hs + d];
                    dp += gTile[mine + d] * vTile[jj * hs + d];
                }
                float p = MathF.Exp(score * s.Scale - rowLse);
                float ds = p * (dp - rowDelta) * s.Scale;
                for (int d = 0; d < hs; d++) dqAcc[mine + d] += ds * kTile[jj * hs + d];
            }
            Group.Barrier();
        }
        if (!active) return;
        for (int d = 0; d < hs; d++) dq[qOff + d] += dqAcc[mine + d];
    }
}
