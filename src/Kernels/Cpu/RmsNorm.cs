using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// RMS normalisation on the CPU: one row at a time, the sum of squares and the dot product by
/// TensorPrimitives (several vector accumulators), the per-element pass in Vector512 or Vector256
/// with FMA (scalar tail), rows split over the cores. Layouts and formulas as
/// <see cref="Reference.RmsNorm"/>: input/out/dinp[N,C], weight/dweight[C], rstd[N].
/// <para>
/// Sums are vectorised, so they round differently from the reference's sequential sums: agreement
/// is to ~1e-6 relative, not bit-for-bit. The backward's dweight is reduced in fixed chunks of rows
/// added in chunk order (as <see cref="LayerNorm"/>'s), so results are the same bits run after run.
/// </para>
/// </summary>
public static class RmsNorm
{
    // Below this many floats of work a second thread costs more to wake than it saves.
    private const int MinWork = 1 << 15;

    // Backward: rows per chunk are ⌈ChunkWork / C⌉, fixed by C alone (see LayerNorm).
    private const int ChunkWork = 1 << 14;

    /// <summary>out[n,:] = inp[n,:]·rstd[n]·weight; rstd is stored (both overwritten; out may be inp).</summary>
    public static unsafe void Forward(Span<float> output, Span<float> rstd, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        int N, int C, float eps)
    {
        CheckShapes(output.Length, input.Length, rstd.Length, weight.Length, weight.Length, N, C);
        if (N == 0) return;
        fixed (float* pOut = output, pRstd = rstd, pIn = input, pW = weight)
        {
            float* o = pOut, rs = pRstd, x = pIn, w = pW;
            CpuParallel.ForRange(N, Math.Max(1, MinWork / C), (start, end) =>
            {
                for (int n = start; n < end; n++)
                {
                    float* xr = x + (long)n * C;
                    float s = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(new ReadOnlySpan<float>(xr, C)) / C + eps);
                    ForwardRow(o + (long)n * C, xr, w, s, C);
                    rs[n] = s;
                }
            });
        }
    }

    /// <summary>
    /// dinp[N,C], dweight[C] += the RMSNorm gradients (accumulates): with x̂ = x·rstd and g =
    /// weight·dout, dinp = rstd·(g − x̂·mean(g·x̂)), dweight = Σₙ dout·x̂. dinp must not overlap the inputs.
    /// </summary>
    public static unsafe void Backward(Span<float> dinp, Span<float> dweight, ReadOnlySpan<float> dout, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> rstd, int N, int C)
    {
        CheckShapes(dinp.Length, input.Length, rstd.Length, weight.Length, dweight.Length, N, C);
        ArgumentOutOfRangeException.ThrowIfLessThan(dout.Length, (long)N * C, nameof(dout));
        if (N == 0) return;
        int rowsPerChunk = Math.Max(1, (ChunkWork + C - 1) / C);
        int chunks = (N + rowsPerChunk - 1) / rowsPerChunk;
        float[] partials = ArrayPool<float>.Shared.Rent(chunks * C); // [chunk, C] dweight partials
        try
        {
            fixed (float* pDinp = dinp, pDout = dout, pIn = input, pW = weight, pRstd = rstd, pPart = partials)
            {
                float* gi = pDinp, g = pDout, x = pIn, w = pW, rs = pRstd, part = pPart;
                Action<int> chunk = k =>
                {
                    float* dw = part + (long)k * C;
                    new Span<float>(dw, C).Clear();
                    int end = Math.Min(N, (k + 1) * rowsPerChunk);
                    for (int n = k * rowsPerChunk; n < end; n++)
                    {
                        long row = (long)n * C;
                        BackwardRow(gi + row, dw, g + row, x + row, w, rs[n], C);
                    }
                };
                if ((long)N * C >= MinWork) CpuParallel.For(chunks, chunk);
                else for (int k = 0; k < chunks; k++) chunk(k);
            }
            for (int k = 0; k < chunks; k++) TensorPrimitives.Add(dweight[..C], partials.AsSpan(k * C, C), dweight[..C]);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(partials);
        }
    }

    // (x·s)·w in the reference's order, so only rstd's sum differs from it.
    private static unsafe void ForwardRow(float* output, float* x, float* weight, float s, int C)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vs = Vector512.Create(s);
            for (; i <= C - Vector512<float>.Count; i += Vector512<float>.Count)
                (Vector512.Load(x + i) * vs * Vector512.Load(weight + i)).Store(output + i);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(s);
            for (; i <= C - Vector256<float>.Count; i += Vector256<float>.Count)
                (Vector256.Load(x + i) * vs * Vector256.Load(weight + i)).Store(output + i);
        }
        for (; i < C; i++) output[i] = x[i] * s * weight[i];
    }

    private static unsafe void BackwardRow(float* dinp, float* dweight, float* dout, float* x, float* weight, float s, int C)
    {
        // mean(g·x̂) = rstd·Σ weight·dout·x / C; the three-way product is summed in two dot products' worth of work.
        float gx = 0;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            const int W = 16;
            Vector512<float> a0 = default, a1 = default;
            for (; i <= C - 2 * W; i += 2 * W) // two chains, so the adds do not wait on each other
            {
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(weight + i) * Vector512.Load(dout + i), Vector512.Load(x + i), a0);
                a1 = Vector512.FusedMultiplyAdd(Vector512.Load(weight + i + W) * Vector512.Load(dout + i + W), Vector512.Load(x + i + W), a1);
            }
            for (; i <= C - W; i += W)
                a0 = Vector512.FusedMultiplyAdd(Vector512.Load(weight + i) * Vector512.Load(dout + i), Vector512.Load(x + i), a0);
            gx = Vector512.Sum(a0 + a1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            const int W = 8;
            Vector256<float> a0 = default, a1 = default;
            for (; i <= C - 2 * W; i += 2 * W)
            {
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(weight + i) * Vector256.Load(dout + i), Vector256.Load(x + i), a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Load(weight + i + W) * Vector256.Load(dout + i + W), Vector256.Load(x + i + W), a1);
            }
            for (; i <= C - W; i += W)
                a0 = Vector256.FusedMultiplyAdd(Vector256.Load(weight + i) * Vector256.Load(dout + i), Vector256.Load(x + i), a0);
            gx = Vector256.Sum(a0 + a1);
        }
        for (; i < C; i++) gx += weight[i] * dout[i] * x[i];
        gx *= s / C;

        i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> vs = Vector512.Create(s), vgx = Vector512.Create(gx);
            for (; i <= C - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var dy = Vector512.Load(dout + i);
                var xhat = Vector512.Load(x + i) * vs;
                Vector512.FusedMultiplyAdd(dy, xhat, Vector512.Load(dweight + i)).Store(dweight + i);
                var t = Vector512.FusedMultiplyAdd(-xhat, vgx, Vector512.Load(weight + i) * dy);
                Vector512.FusedMultiplyAdd(t, vs, Vector512.Load(dinp + i)).Store(dinp + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vs = Vector256.Create(s), vgx = Vector256.Create(gx);
            for (; i <= C - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var dy = Vector256.Load(dout + i);
                var xhat = Vector256.Load(x + i) * vs;
                Vector256.FusedMultiplyAdd(dy, xhat, Vector256.Load(dweight + i)).Store(dweight + i);
                var t = Vector256.FusedMultiplyAdd(-xhat, vgx, Vector256.Load(weight + i) * dy);
                Vector256.FusedMultiplyAdd(t, vs, Vector256.Load(dinp + i)).Store(dinp + i);
            }
        }
        for (; i < C; i++)
        {
            float dy = dout[i], xhat = x[i] * s;
            dweight[i] += dy * xhat;
            dinp[i] += (weight[i] * dy - xhat * gx) * s;
        }
    }

    // The kernels index through pointers, so every length is checked up front.
    private static void CheckShapes(int rows, int input, int rstd, int weight, int channelOut, int N, int C)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(C);
        long NC = (long)N * C;
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, NC, "output/dinp");
        ArgumentOutOfRangeException.ThrowIfLessThan(input, NC, "input");
        ArgumentOutOfRangeException.ThrowIfLessThan(rstd, N, "rstd");
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, C, "weight");
        ArgumentOutOfRangeException.ThrowIfLessThan(channelOut, C, "dweight");
    }
}
