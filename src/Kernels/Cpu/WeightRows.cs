using System.Numerics.Tensors;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The driver shared by the low-precision matmuls (<see cref="MatmulBf16"/>, <see cref="MatmulQ8"/>):
/// out[n,o] = bias[o] + weight[o,:]·x[n,:] for every input row n, output channels split into
/// contiguous ranges over the cores as in <see cref="MatmulGemv"/>. Weight row o is read from memory
/// once for all N input rows. Up to <see cref="FusedRows"/> rows each row's dot product converts the
/// weights in registers (<see cref="IRows.Dot"/>); beyond, converting the same row again per input
/// row cost more than the memory it saves (gpt2 at B = 16: 0.32x fp32's tokens/s fused, 0.57x widened),
/// so the row is widened once into an fp32 scratch row in L1 and dotted with every input row from
/// there. At B = 4 fusing was faster (bf16 1.43x fp32 fused, 0.63x widened: the widened path pays a
/// TensorPrimitives.Dot call per row pair), hence the threshold. A plain per-row dot either way, not
/// a blocked GEMM: correct and memory-light.
/// </summary>
internal static unsafe class WeightRows
{
    /// <summary>Below this many weights one thread reads them faster than a fork/join costs (as the fp32 GEMV).</summary>
    private const long SerialWeights = 1L << 16;

    /// <summary>The most input rows that convert the weights in the dot product itself.</summary>
    public const int FusedRows = 8;

    /// <summary>One format's weight rows against the input rows it prepared.</summary>
    internal interface IRows
    {
        /// <summary>weight[o,:]·x[n,:] over C.</summary>
        float Dot(int o, int n);

        /// <summary>Weight row o widened to fp32, in storage order, into row[C].</summary>
        void Widen(int o, float* row);
    }

    /// <summary>
    /// y[N,OC] = every input row dotted with every weight row, plus bias (null: none). plain[N,C] is the
    /// input in fp32 as the format multiplies it (for q8 its rounded values), for the widened path.
    /// </summary>
    public static void Run<TRows>(TRows rows, float* y, float* plain, float* bias, int N, int C, int OC)
        where TRows : struct, IRows
    {
        if (N == 0 || OC == 0) return;
        nint py = (nint)y, px = (nint)plain, pb = (nint)bias;
        Action<int, int> range = (o0, o1) =>
        {
            float* yy = (float*)py, bb = (float*)pb;
            float[]? scratch = N > FusedRows ? new float[C] : null;
            for (int o = o0; o < o1; o++)
            {
                float b = bb != null ? bb[o] : 0f;
                if (scratch is null)
                {
                    for (int n = 0; n < N; n++) yy[(long)n * OC + o] = b + rows.Dot(o, n);
                    continue;
                }
                fixed (float* row = scratch) rows.Widen(o, row);
                for (int n = 0; n < N; n++)
                    yy[(long)n * OC + o] = b + TensorPrimitives.Dot<float>(scratch, new ReadOnlySpan<float>((float*)px + (long)n * C, C));
            }
        };
        CpuWorkers.ForRange(OC, (int)Math.Max(1, SerialWeights / Math.Max(1, C)), range);
    }
}
