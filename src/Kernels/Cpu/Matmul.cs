using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The fully connected layer on the CPU, same contract as <see cref="Reference.Matmul"/>:
/// out[N,OC] = inp[N,C] · weight[OC,C]ᵀ + bias[OC], and its accumulating backward. The default
/// variant maps every product onto one packed <see cref="Gemm"/> call:
/// <list type="bullet">
/// <item>forward: out = inp · weightᵀ (+ bias fused into the first write of each tile);</item>
/// <item>dinp += dout · weight;</item>
/// <item>dweight += doutᵀ · inp (the transposes are absorbed by the packing);</item>
/// <item>dbias += column sums of dout, each worker owning whole columns so the sum order is fixed.</item>
/// </list>
/// </summary>
public static class Matmul
{
    /// <summary>
    /// out[N,OC] = inp[N,C] · weight[OC,C]ᵀ + bias[OC] with the default (blocked) variant, or with
    /// <see cref="MatmulGemv"/> for at most <see cref="MatmulGemv.MaxRows"/> rows. An empty
    /// <paramref name="bias"/> means no bias; <paramref name="output"/> is overwritten.
    /// </summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, int N, int C, int OC)
    {
        // A few rows (decoding) are a matrix-vector product: stream the weights once, unpacked.
        if (N <= MatmulGemv.MaxRows) MatmulGemv.Forward(output, input, weight, bias, N, C, OC);
        else Forward(MatmulVariant.Blocked, output, input, weight, bias, N, C, OC);
    }

    /// <summary>The forward with a chosen <paramref name="variant"/> (the kernel lab).</summary>
    public static void Forward(MatmulVariant variant, Span<float> output, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int N, int C, int OC)
    {
        Reference.Matmul.CheckShapes(output.Length, input.Length, weight.Length, bias.Length, N, C, OC);
        switch (variant)
        {
            case MatmulVariant.Naive:
                MatmulNaive.Forward(output, input, weight, bias, N, C, OC);
                break;
            case MatmulVariant.Tiled:
                MatmulTiled.Forward(output, input, weight, bias, N, C, OC);
                break;
            case MatmulVariant.Blocked:
                // C = A·Bᵀ with A = inp [N,C] and B = weight [OC,C] read transposed.
                Gemm.Run(transA: false, transB: true, N, OC, C, input, C, weight, C, output, OC, accumulate: false, bias);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(variant), variant, "unknown matmul variant");
        }
    }

    /// <summary>
    /// Accumulates dinp[N,C] += dout[N,OC] · weight[OC,C]; dweight[OC,C] += doutᵀ · inp;
    /// dbias[OC] += Σₙ dout[n,:] with the default (blocked) variant. Empty <paramref name="dbias"/> or
    /// <paramref name="dinp"/> skips that gradient.
    /// </summary>
    public static void Backward(Span<float> dinp, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> dout,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int N, int C, int OC)
        => Backward(MatmulVariant.Blocked, dinp, dweight, dbias, dout, input, weight, N, C, OC);

    /// <summary>The backward with a chosen <paramref name="variant"/> (the kernel lab).</summary>
    public static void Backward(MatmulVariant variant, Span<float> dinp, Span<float> dweight, Span<float> dbias,
        ReadOnlySpan<float> dout, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int N, int C, int OC)
    {
        Reference.Matmul.CheckBackwardShapes(dinp.Length, dweight.Length, dbias.Length, dout.Length, input.Length, weight.Length, N, C, OC);
        switch (variant)
        {
            case MatmulVariant.Naive:
                MatmulNaive.Backward(dinp, dweight, dout, input, weight, N, C, OC);
                break;
            case MatmulVariant.Tiled:
                MatmulTiled.Backward(dinp, dweight, dout, input, weight, N, C, OC);
                break;
            case MatmulVariant.Blocked:
                // dinp[N,C] += dout[N,OC] · weight[OC,C]: plain A·B, K = OC.
                if (dinp.Length != 0)
                    Gemm.Run(transA: false, transB: false, N, C, OC, dout, OC, weight, C, dinp, C, accumulate: true);
                // dweight[OC,C] += doutᵀ · inp: A = dout read transposed, K = N.
                Gemm.Run(transA: true, transB: false, OC, C, N, dout, OC, input, C, dweight, C, accumulate: true);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(variant), variant, "unknown matmul variant");
        }
        if (dbias.Length != 0) BiasBackward(dbias, dout, N, OC);
    }

    /// <summary>
    /// dbias[OC] += Σₙ dout[n,:]. Workers own contiguous column ranges, and every column is summed
    /// over n in order (one lane per column, whatever the vector width), so the result does not
    /// depend on timing or hardware. Vector512 takes four vectors of columns at a time, so each row
    /// contributes whole cache lines; Vector256 and scalar loops take the rest.
    /// </summary>
    internal static unsafe void BiasBackward(Span<float> dbias, ReadOnlySpan<float> dout, int N, int OC)
    {
        fixed (float* pdb = dbias, pg = dout)
        {
            float* db = pdb, g = pg;
            // At least 64 columns (and ~64K elements) per worker: fewer is not worth a fork.
            int minCols = Math.Max(64, 65536 / Math.Max(1, N));
            CpuParallel.ForRange(OC, minCols, (o0, o1) =>
            {
                int o = o0;
                if (Vector512.IsHardwareAccelerated)
                    o = BiasColumns512(db, g, N, OC, o0, o1);
                for (; o + 8 <= o1; o += 8)
                {
                    Vector256<float> s = default;
                    for (int n = 0; n < N; n++) s += Vector256.Load(g + (nint)n * OC + o);
                    Vector256.Store(Vector256.Load(db + o) + s, db + o);
                }
                for (; o < o1; o++)
                {
                    float s = 0;
                    for (int n = 0; n < N; n++) s += g[(nint)n * OC + o];
                    db[o] += s;
                }
            });
        }
    }

    /// <summary>Columns [o0, o1) of the bias gradient in Vector512 blocks; returns where the vector part stopped.</summary>
    private static unsafe int BiasColumns512(float* db, float* g, int N, int OC, int o0, int o1)
    {
        int o = o0;
        for (; o + 64 <= o1; o += 64)
        {
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (int n = 0; n < N; n++)
            {
                float* row = g + (nint)n * OC + o;
                s0 += Vector512.Load(row);
                s1 += Vector512.Load(row + 16);
                s2 += Vector512.Load(row + 32);
                s3 += Vector512.Load(row + 48);
            }
            Vector512.Store(Vector512.Load(db + o) + s0, db + o);
            Vector512.Store(Vector512.Load(db + o + 16) + s1, db + o + 16);
            Vector512.Store(Vector512.Load(db + o + 32) + s2, db + o + 32);
            Vector512.Store(Vector512.Load(db + o + 48) + s3, db + o + 48);
        }
        for (; o + 16 <= o1; o += 16)
        {
            Vector512<float> s = default;
            for (int n = 0; n < N; n++) s += Vector512.Load(g + (nint)n * OC + o);
            Vector512.Store(Vector512.Load(db + o) + s, db + o);
        }
        return o;
    }
}
