namespace Hyper.Kernels.Cpu;

/// <summary>
/// The driver shared by the low-precision matmuls (<see cref="MatmulBf16"/>, <see cref="MatmulQ8"/>):
/// out[n,o] = bias[o] + rows.Dot(o, x_n) for every input row n, output channels split into
/// contiguous ranges over the cores as in <see cref="MatmulGemv"/>. Weight row o is read from memory
/// once and then stays in L1 for the other input rows, so N &gt; 1 (prefill, batched decoding) reads
/// the weights once too; it is a plain per-row dot, not a blocked GEMM: correct, memory-light, and
/// about N times the arithmetic of one token.
/// </summary>
internal static unsafe class WeightRows
{
    /// <summary>Below this many weights one thread reads them faster than a fork/join costs (as the fp32 GEMV).</summary>
    private const long SerialWeights = 1L << 16;

    /// <summary>One format's dot product of weight row o with input row n (in the layout the format prepared).</summary>
    internal interface IRows
    {
        /// <summary>weight[o,:]·x[n,:] over C.</summary>
        float Dot(int o, int n);
    }

    /// <summary>y[N,OC] = every input row dotted with every weight row, plus bias (null: none).</summary>
    public static void Run<TRows>(TRows rows, float* y, float* bias, int N, int C, int OC)
        where TRows : struct, IRows
    {
        if (N == 0 || OC == 0) return;
        nint py = (nint)y, pb = (nint)bias;
        Action<int, int> range = (o0, o1) =>
        {
            float* yy = (float*)py, bb = (float*)pb;
            for (int o = o0; o < o1; o++)
            {
                float b = bb != null ? bb[o] : 0f;
                for (int n = 0; n < N; n++) yy[(long)n * OC + o] = b + rows.Dot(o, n);
            }
        };
        CpuWorkers.ForRange(OC, (int)Math.Max(1, SerialWeights / Math.Max(1, C)), range);
    }
}
