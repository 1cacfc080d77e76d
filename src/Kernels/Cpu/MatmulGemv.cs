using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The fully connected layer for a few rows (decoding: N = B rows of one token each):
/// out[n,o] = weight[o,:]·inp[n,:] + bias[o], same contract as <see cref="Reference.Matmul"/>.
/// <para>
/// With N this small the layer is a matrix-vector product bound by reading the weights (OC·C
/// floats, once), not by arithmetic, so the packed GEMM's copy of the weights into panels would
/// triple the memory traffic. Here each block of <see cref="Rows"/> weight rows is read from
/// memory once, straight from where it lies, and dotted with every input row while it sits in L1
/// (the inputs, N·C floats, stay in L1/L2 throughout). Dot products are Vector512 FMA chains, one
/// per weight row of the block so the chains overlap, reduced horizontally at the end, with a
/// scalar tail for C not a multiple of 16. Output channels are split into contiguous ranges over
/// the cores; each output is computed by one thread in a fixed order, so results do not depend on
/// the thread count.
/// </para>
/// </summary>
internal static unsafe class MatmulGemv
{
    /// <summary>
    /// The most rows <see cref="Matmul.Forward(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int)"/>
    /// sends here instead of to the packed GEMM (measured crossover on the decoding shapes).
    /// </summary>
    public const int MaxRows = 4;

    /// <summary>Weight rows per block: four independent FMA chains, four sequential read streams.</summary>
    private const int Rows = 4;

    /// <summary>Below this many weight floats (256 KiB) one thread reads them faster than a fork/join costs.</summary>
    private const long SerialFloats = 1L << 16;

    /// <summary>out[N,OC] = inp[N,C] · weight[OC,C]ᵀ + bias[OC] (bias may be empty); overwrites out.</summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int N, int C, int OC)
    {
        Reference.Matmul.CheckShapes(output.Length, input.Length, weight.Length, bias.Length, N, C, OC);
        if (N == 0 || OC == 0) return;
        fixed (float* po = output, px = input, pw = weight, pb = bias)
        {
            nint o = (nint)po, x = (nint)px, w = (nint)pw, b = bias.Length != 0 ? (nint)pb : 0;
            int minChunk = (int)Math.Max(Rows, SerialFloats / Math.Max(1, C));
            CpuParallel.ForRange(OC, minChunk, (o0, o1) => Range((float*)o, (float*)x, (float*)w, (float*)b, N, C, OC, o0, o1));
        }
    }

    /// <summary>Output channels [o0, o1) for every row.</summary>
    private static void Range(float* output, float* input, float* weight, float* bias, int N, int C, int OC, int o0, int o1)
    {
        int o = o0;
        for (; o + Rows <= o1; o += Rows)
        {
            float* w = weight + (long)o * C;
            for (int n = 0; n < N; n++)
            {
                var (s0, s1, s2, s3) = Dot4(w, input + (long)n * C, C);
                float* y = output + (long)n * OC + o;
                if (bias != null)
                {
                    s0 += bias[o];
                    s1 += bias[o + 1];
                    s2 += bias[o + 2];
                    s3 += bias[o + 3];
                }
                y[0] = s0;
                y[1] = s1;
                y[2] = s2;
                y[3] = s3;
            }
        }
        for (; o < o1; o++)
        {
            float* w = weight + (long)o * C;
            for (int n = 0; n < N; n++)
                output[(long)n * OC + o] = Dot1(w, input + (long)n * C, C) + (bias != null ? bias[o] : 0f);
        }
    }

    /// <summary>The dot products of four consecutive weight rows (w, w + C, w + 2C, w + 3C) with x[C].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float, float, float, float) Dot4(float* w, float* x, int C)
    {
        const int W = 16;
        float* w1 = w + C, w2 = w1 + C, w3 = w2 + C;
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        int c = 0;
        for (; c + W <= C; c += W)
        {
            var xv = Vector512.Load(x + c);
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w + c), xv, a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + c), xv, a1);
            a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w2 + c), xv, a2);
            a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + c), xv, a3);
        }
        float s0 = Vector512.Sum(a0), s1 = Vector512.Sum(a1), s2 = Vector512.Sum(a2), s3 = Vector512.Sum(a3);
        for (; c < C; c++)
        {
            float xc = x[c];
            s0 += w[c] * xc;
            s1 += w1[c] * xc;
            s2 += w2[c] * xc;
            s3 += w3[c] * xc;
        }
        return (s0, s1, s2, s3);
    }

    /// <summary>w[C]·x[C], for the last rows of a range.</summary>
    private static float Dot1(float* w, float* x, int C)
    {
        const int W = 16;
        Vector512<float> a0 = default, a1 = default;
        int c = 0;
        for (; c + 2 * W <= C; c += 2 * W)
        {
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w + c), Vector512.Load(x + c), a0);
            a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w + c + W), Vector512.Load(x + c + W), a1);
        }
        if (c + W <= C)
        {
            a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w + c), Vector512.Load(x + c), a0);
            c += W;
        }
        float s = Vector512.Sum(a0 + a1);
        for (; c < C; c++) s += w[c] * x[c];
        return s;
    }
}
