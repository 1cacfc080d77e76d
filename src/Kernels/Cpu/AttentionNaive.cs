namespace Hyper.Kernels.Cpu;

/// <summary>
/// The naive CPU attention forward (<see cref="AttentionVariant.Naive"/>): the reference
/// algorithm in float, one materialised score row per query, plain scalar loops, rows spread
/// over the cores. The baseline the flash kernel is measured against.
/// </summary>
internal static unsafe class AttentionNaive
{
    /// <summary>Rows per parallel item: enough to amortise the item, few enough to balance causal rows of unequal length.</summary>
    private const int RowsPerItem = 16;

    /// <summary>Forward; same contract as <see cref="Attention.Forward(Span{float}, Span{float}, ReadOnlySpan{float}, int, int, int, int, bool)"/>.</summary>
    public static void Forward(float* output, float* lse, float* qkv, int B, int T, int C, int NH, bool causal)
    {
        int hs = C / NH, C3 = 3 * C;
        int chunks = (T + RowsPerItem - 1) / RowsPerItem;
        float scale = 1f / MathF.Sqrt(hs);
        nint po = (nint)output, pl = (nint)lse, pq = (nint)qkv;
        CpuParallel.For(B * NH * chunks, item =>
        {
            float* outp = (float*)po, lsep = (float*)pl, qkvp = (float*)pq;
            int bh = item / chunks, b = bh / NH, h = bh % NH;
            int start = item % chunks * RowsPerItem, end = Math.Min(T, start + RowsPerItem);
            var score = new float[T]; // one score row [T]
            for (int i = start; i < end; i++)
            {
                float* q = qkvp + (b * T + i) * C3 + h * hs;
                int visible = causal ? i + 1 : T;
                float max = float.NegativeInfinity;
                for (int j = 0; j < visible; j++)
                {
                    float* k = qkvp + (b * T + j) * C3 + C + h * hs;
                    float s = 0;
                    for (int d = 0; d < hs; d++) s += q[d] * k[d];
                    s *= scale;
                    score[j] = s;
                    if (s > max) max = s;
                }
                float sum = 0;
                for (int j = 0; j < visible; j++)
                {
                    score[j] = MathF.Exp(score[j] - max);
                    sum += score[j];
                }
                float inv = 1f / sum;
                float* o = outp + (b * T + i) * C + h * hs;
                for (int d = 0; d < hs; d++) o[d] = 0;
                for (int j = 0; j < visible; j++)
                {
                    float* v = qkvp + (b * T + j) * C3 + 2 * C + h * hs;
                    float p = score[j] * inv;
                    for (int d = 0; d < hs; d++) o[d] += p * v[d];
                }
                lsep[(b * NH + h) * T + i] = max + MathF.Log(sum);
            }
        });
    }
}
