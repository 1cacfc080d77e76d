using ILGPU;

namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// Exact attention as ILGPU kernels, flash-style: a group of Br threads owns Br query rows of
/// one (batch, head), one row per thread, and walks the keys in tiles of Br rows staged in shared
/// memory, keeping a running max, a running sum and a running output per row (online softmax).
/// No score matrix exists anywhere; the forward keeps each row's log-sum-exp, from which the
/// backward recomputes every probability. Semantics as <see cref="Reference.Attention"/>; the
/// layouts are described by <see cref="AttentionShape"/>.
/// <para>
/// Launch: grid (⌈Rows/Br⌉, B·NH) as (X, Y), group Br, dynamic shared memory of
/// <see cref="ForwardSharedFloats"/> floats. Threads past the last row still load tiles and meet
/// every barrier; they just compute nothing.
/// </para>
/// </summary>
public static partial class Attention
{
    /// <summary>Dynamic shared floats of <see cref="Forward"/>: q, k, v and output tiles of Br rows of hs.</summary>
    public static int ForwardSharedFloats(int br, int hs) => 4 * br * hs;

    /// <summary>out = softmax(q·kᵀ·scale [+ mask])·v for the group's query rows; lse when asked.</summary>
    public static void Forward(ArrayView<float> output, ArrayView<float> lse, ArrayView<float> q, ArrayView<float> k, ArrayView<float> v,
        AttentionShape s)
    {
        var shared = SharedMemory.GetDynamic<float>();
        int br = Group.DimX, tid = Group.IdxX, hs = s.HeadSize, mine = tid * hs;
        var qTile = shared.SubView(0, br * hs);
        var kTile = shared.SubView(br * hs, br * hs);
        var vTile = shared.SubView(2 * br * hs, br * hs);
        var acc = shared.SubView(3 * br * hs, br * hs);
        int b = Grid.IdxY / s.Heads, h = Grid.IdxY % s.Heads;
        int first = Grid.IdxX * br, i = first + tid;
        bool active = i < s.Rows;
        int visible = active ? s.Visible(i) : 0;
        int groupKeys = s.Visible(Math.Min(first + br, s.Rows) - 1); // what the group's last row sees
        int qOff = b * s.QBatch + i * s.QRow + h * hs;
        for (int d = 0; d < hs; d++)
        {
            qTile[mine + d] = active ? q[qOff + d] : 0f;
            acc[mine + d] = 0f;
        }
        float max = float.NegativeInfinity, sum = 0f;
        for (int j0 = 0; j0 < groupKeys; j0 += br)
        {
            LoadRows(kTile, vTile, k, v, s, b, h / s.Group, j0 + tid, mine);
            Group.Barrier();
            int count = Math.Min(br, visible - j0);
            for (int jj = 0; jj < count; jj++)
            {
                float score = 0f;
                for (int d = 0; d < hs; d++) score += qTile[mine + d] * kTile[jj * hs + d];
                score *= s.Scale;
                if (score > max)
                {
                    // A new row max: rescale what was summed against the old one.
                    float correction = MathF.Exp(max - score);
                    sum *= correction;
                    for (int d = 0; d < hs; d++) acc[mine + d] *= correction;
                    max = score;
                }
                float p = MathF.Exp(score - max);
                sum += p;
                for (int d = 0; d < hs; d++) acc[mine + d] += p * vTile[jj * hs + d];
            }
            Group.Barrier();
        }
        if (!active) return;
        int oOff = b * s.OBatch + i * s.ORow + h * hs;
        for (int d = 0; d < hs; d++) output[oOff + d] = acc[mine + d] / sum;
        if (s.WriteLse != 0) lse[(b * s.Heads + h) * s.Rows + i] = max + MathF.Log(sum);
    }

    /// <summary>
    /// Decoding's cache append: kCache[b,pos+t,:] = k of new token t, vCache likewise, from
    /// qkv[B,Tq,3C]; a grid-stride loop over B·Tq·C.
    /// </summary>
    public static void AppendKv(ArrayView<float> kCache, ArrayView<float> vCache, ArrayView<float> qkv, int Tq, int pos, int maxT, int C)
    {
        for (int index = Grid.GlobalIndex.X; index < qkv.IntLength / 3; index += GridStride.Step)
        {
            int c = index % C, bt = index / C, b = bt / Tq, t = bt % Tq;
            int slot = (b * maxT + pos + t) * C + c, row = bt * 3 * C + c;
            kCache[slot] = qkv[row + C];
            vCache[slot] = qkv[row + 2 * C];
        }
    }

    /// <summary>Key row j and value row j (key/value head g of batch b) into this thread's rows of the tiles, zeros past the last key.</summary>
    private static void LoadRows(ArrayView<float> kTile, ArrayView<float> vTile, ArrayView<float> k, ArrayView<float> v,
        AttentionShape s, int b, int g, int j, int mine)
    {
        int off = b * s.KBatch + j * s.KRow + g * s.HeadSize;
        bool inside = j < s.Keys;
        for (int d = 0; d < s.HeadSize; d++)
        {
            kTile[mine + d] = inside ? k[off + d] : 0f;
            vTile[mine + d] = inside ? v[off + d] : 0f;
        }
    }
}
