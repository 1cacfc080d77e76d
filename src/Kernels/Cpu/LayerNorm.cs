using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Layer normalisation on the CPU: one row at a time in Vector512 or Vector256 with FMA (scalar
/// tail), rows split over the cores. Layouts and formulas as <see cref="Reference.LayerNorm"/>:
/// input/out/dinp[N,C], weight/bias/dweight/dbias[C], mean/rstd[N].
/// <para>
/// A row (C floats, 1.5 KB at C = 384) stays in L1 across its passes, so the two-pass
/// mean/variance costs no extra memory traffic. Sums are vectorised (16 or 8 partial sums, then
/// a horizontal add), so they round differently from the reference's sequential sums: agreement
/// is to ~1e-6 relative, not bit-for-bit.
/// </para>
/// </summary>
public static class LayerNorm
{
    // Below this many floats of work a second thread costs more to wake than it saves.
    private const int MinWork = 1 << 15;

    // Backward: rows per chunk are ⌈ChunkWork / C⌉ — fixed by C alone, never by the thread
    // count, so the dweight/dbias partial sums (one pair per chunk, added in chunk order) give
    // the same bits run after run and with any number of threads.
    private const int ChunkWork = 1 << 14;

    /// <summary>out[n,:] = (inp[n,:] − mean[n])·rstd[n]·weight + bias; mean and rstd are stored (all overwritten).</summary>
    public static unsafe void Forward(Span<float> output, Span<float> mean, Span<float> rstd, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, int N, int C, float eps)
    {
        CheckShapes(output.Length, input.Length, mean.Length, rstd.Length, weight.Length, bias.Length, N, C);
        if (N == 0 || C == 0) return;
        fixed (float* pOut = output, pMean = mean, pRstd = rstd, pIn = input, pW = weight, pB = bias)
        {
            float* o = pOut, mu = pMean, rs = pRstd, x = pIn, w = pW, b = pB;
            CpuParallel.ForRange(N, Math.Max(1, MinWork / C), (start, end) =>
            {
                for (int n = start; n < end; n++)
                    ForwardRow(o + (long)n * C, out mu[n], out rs[n], x + (long)n * C, w, b, C, eps);
            });
        }
    }

    /// <summary>
    /// dinp[N,C], dweight[C], dbias[C] += the layernorm gradients (accumulates). dweight and dbias
    /// are reduced over rows in fixed chunks whose partial sums are added in chunk order, so the
    /// result is deterministic.
    /// </summary>
    public static unsafe void Backward(Span<float> dinp, Span<float> dweight, Span<float> dbias, ReadOnlySpan<float> dout,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> mean, ReadOnlySpan<float> rstd, int N, int C)
    {
        CheckShapes(dinp.Length, input.Length, mean.Length, rstd.Length, weight.Length, dweight.Length, N, C);
        ArgumentOutOfRangeException.ThrowIfLessThan(dout.Length, (long)N * C, nameof(dout));
        ArgumentOutOfRangeException.ThrowIfLessThan(dbias.Length, C, nameof(dbias));
        if (N == 0 || C == 0) return;
        int rowsPerChunk = Math.Max(1, (ChunkWork + C - 1) / C);
        int chunks = (N + rowsPerChunk - 1) / rowsPerChunk;
        // partials[k] = [dbias partial (C) | dweight partial (C)] for chunk k.
        float[] partials = ArrayPool<float>.Shared.Rent(chunks * 2 * C);
        try
        {
            fixed (float* pDinp = dinp, pDout = dout, pIn = input, pW = weight, pMean = mean, pRstd = rstd, pPart = partials)
            {
                float* gi = pDinp, g = pDout, x = pIn, w = pW, mu = pMean, rs = pRstd, part = pPart;
                Action<int> chunk = k =>
                {
                    float* db = part + (long)k * 2 * C, dw = db + C;
                    new Span<float>(db, 2 * C).Clear();
                    int end = Math.Min(N, (k + 1) * rowsPerChunk);
                    for (int n = k * rowsPerChunk; n < end; n++)
                        BackwardRow(gi + (long)n * C, dw, db, g + (long)n * C, x + (long)n * C, w, mu[n], rs[n], C);
                };
                if ((long)N * C >= MinWork) CpuParallel.For(chunks, chunk);
                else for (int k = 0; k < chunks; k++) chunk(k);
            }
            for (int k = 0; k < chunks; k++)
            {
                TensorPrimitives.Add(dbias[..C], partials.AsSpan(k * 2 * C, C), dbias[..C]);
                TensorPrimitives.Add(dweight[..C], partials.AsSpan(k * 2 * C + C, C), dweight[..C]);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(partials);
        }
    }

    private static unsafe void ForwardRow(float* output, out float mean, out float rstd, float* x, float* weight, float* bias, int C, float eps)
    {
        float m = Sum(x, C) / C;
        float s = 1f / MathF.Sqrt(SumSquaredDeviation(x, m, C) / C + eps);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vm = Vector512.Create(m);
            var vs = Vector512.Create(s);
            for (; i <= C - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var xhat = (Vector512.Load(x + i) - vm) * vs;
                Vector512.FusedMultiplyAdd(xhat, Vector512.Load(weight + i), Vector512.Load(bias + i)).Store(output + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vm = Vector256.Create(m);
            var vs = Vector256.Create(s);
            for (; i <= C - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var xhat = (Vector256.Load(x + i) - vm) * vs;
                Vector256.FusedMultiplyAdd(xhat, Vector256.Load(weight + i), Vector256.Load(bias + i)).Store(output + i);
            }
        }
        for (; i < C; i++) output[i] = (x[i] - m) * s * weight[i] + bias[i];
        mean = m;
        rstd = s;
    }

    private static unsafe void BackwardRow(float* dinp, float* dweight, float* dbias, float* dout, float* x, float* weight,
        float mean, float rstd, int C)
    {
        // Pass 1: Σ g and Σ g·x̂ with g = weight·dout.
        float gSum = 0, gxSum = 0;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            const int W = 16;
            Vector512<float> vm = Vector512.Create(mean), vs = Vector512.Create(rstd);
            Vector512<float> accG0 = default, accG1 = default, accGx0 = default, accGx1 = default;
            for (; i <= C - 2 * W; i += 2 * W) // two chains per sum, as in Sum
            {
                var g0 = Vector512.Load(weight + i) * Vector512.Load(dout + i);
                var g1 = Vector512.Load(weight + i + W) * Vector512.Load(dout + i + W);
                accG0 += g0;
                accG1 += g1;
                accGx0 = Vector512.FusedMultiplyAdd(g0, (Vector512.Load(x + i) - vm) * vs, accGx0);
                accGx1 = Vector512.FusedMultiplyAdd(g1, (Vector512.Load(x + i + W) - vm) * vs, accGx1);
            }
            for (; i <= C - W; i += W)
            {
                var g = Vector512.Load(weight + i) * Vector512.Load(dout + i);
                accG0 += g;
                accGx0 = Vector512.FusedMultiplyAdd(g, (Vector512.Load(x + i) - vm) * vs, accGx0);
            }
            gSum = Vector512.Sum(accG0 + accG1);
            gxSum = Vector512.Sum(accGx0 + accGx1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            const int W = 8;
            Vector256<float> vm = Vector256.Create(mean), vs = Vector256.Create(rstd);
            Vector256<float> accG0 = default, accG1 = default, accGx0 = default, accGx1 = default;
            for (; i <= C - 2 * W; i += 2 * W)
            {
                var g0 = Vector256.Load(weight + i) * Vector256.Load(dout + i);
                var g1 = Vector256.Load(weight + i + W) * Vector256.Load(dout + i + W);
                accG0 += g0;
                accG1 += g1;
                accGx0 = Vector256.FusedMultiplyAdd(g0, (Vector256.Load(x + i) - vm) * vs, accGx0);
                accGx1 = Vector256.FusedMultiplyAdd(g1, (Vector256.Load(x + i + W) - vm) * vs, accGx1);
            }
            for (; i <= C - W; i += W)
            {
                var g = Vector256.Load(weight + i) * Vector256.Load(dout + i);
                accG0 += g;
                accGx0 = Vector256.FusedMultiplyAdd(g, (Vector256.Load(x + i) - vm) * vs, accGx0);
            }
            gSum = Vector256.Sum(accG0 + accG1);
            gxSum = Vector256.Sum(accGx0 + accGx1);
        }
        for (; i < C; i++)
        {
            float g = weight[i] * dout[i];
            gSum += g;
            gxSum += g * ((x[i] - mean) * rstd);
        }
        float gMean = gSum / C, gxMean = gxSum / C;

        // Pass 2: dinp += rstd·(g − mean(g) − x̂·mean(g·x̂)); the row's dweight/dbias terms into the chunk's partials.
        i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> vm = Vector512.Create(mean), vs = Vector512.Create(rstd);
            Vector512<float> vgMean = Vector512.Create(gMean), vgxMean = Vector512.Create(gxMean);
            for (; i <= C - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var dy = Vector512.Load(dout + i);
                var xhat = (Vector512.Load(x + i) - vm) * vs;
                var g = Vector512.Load(weight + i) * dy;
                (Vector512.Load(dbias + i) + dy).Store(dbias + i);
                Vector512.FusedMultiplyAdd(xhat, dy, Vector512.Load(dweight + i)).Store(dweight + i);
                var t = Vector512.FusedMultiplyAdd(-xhat, vgxMean, g - vgMean);
                Vector512.FusedMultiplyAdd(t, vs, Vector512.Load(dinp + i)).Store(dinp + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vm = Vector256.Create(mean), vs = Vector256.Create(rstd);
            Vector256<float> vgMean = Vector256.Create(gMean), vgxMean = Vector256.Create(gxMean);
            for (; i <= C - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var dy = Vector256.Load(dout + i);
                var xhat = (Vector256.Load(x + i) - vm) * vs;
                var g = Vector256.Load(weight + i) * dy;
                (Vector256.Load(dbias + i) + dy).Store(dbias + i);
                Vector256.FusedMultiplyAdd(xhat, dy, Vector256.Load(dweight + i)).Store(dweight + i);
                var t = Vector256.FusedMultiplyAdd(-xhat, vgxMean, g - vgMean);
                Vector256.FusedMultiplyAdd(t, vs, Vector256.Load(dinp + i)).Store(dinp + i);
            }
        }
        for (; i < C; i++)
        {
            float dy = dout[i];
            float xhat = (x[i] - mean) * rstd;
            dbias[i] += dy;
            dweight[i] += xhat * dy;
            dinp[i] += (weight[i] * dy - gMean - xhat * gxMean) * rstd;
        }
    }

    // The row sums use four independent accumulators: with one, each 24-vector row (C = 384)
    // would wait on a chain of 24 dependent adds (~100 cycles), which made the forward twice
    // as slow as its memory traffic.
    private static unsafe float Sum(float* x, int C)
    {
        float sum = 0;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            const int W = 16;
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= C - 4 * W; i += 4 * W)
            {
                a0 += Vector512.Load(x + i);
                a1 += Vector512.Load(x + i + W);
                a2 += Vector512.Load(x + i + 2 * W);
                a3 += Vector512.Load(x + i + 3 * W);
            }
            for (; i <= C - W; i += W) a0 += Vector512.Load(x + i);
            sum = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            const int W = 8;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= C - 4 * W; i += 4 * W)
            {
                a0 += Vector256.Load(x + i);
                a1 += Vector256.Load(x + i + W);
                a2 += Vector256.Load(x + i + 2 * W);
                a3 += Vector256.Load(x + i + 3 * W);
            }
            for (; i <= C - W; i += W) a0 += Vector256.Load(x + i);
            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < C; i++) sum += x[i];
        return sum;
    }

    private static unsafe float SumSquaredDeviation(float* x, float mean, int C)
    {
        float sum = 0;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            const int W = 16;
            var vm = Vector512.Create(mean);
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= C - 4 * W; i += 4 * W)
            {
                var d0 = Vector512.Load(x + i) - vm;
                var d1 = Vector512.Load(x + i + W) - vm;
                var d2 = Vector512.Load(x + i + 2 * W) - vm;
                var d3 = Vector512.Load(x + i + 3 * W) - vm;
                a0 = Vector512.FusedMultiplyAdd(d0, d0, a0);
                a1 = Vector512.FusedMultiplyAdd(d1, d1, a1);
                a2 = Vector512.FusedMultiplyAdd(d2, d2, a2);
                a3 = Vector512.FusedMultiplyAdd(d3, d3, a3);
            }
            for (; i <= C - W; i += W)
            {
                var d = Vector512.Load(x + i) - vm;
                a0 = Vector512.FusedMultiplyAdd(d, d, a0);
            }
            sum = Vector512.Sum((a0 + a1) + (a2 + a3));
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            const int W = 8;
            var vm = Vector256.Create(mean);
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
            for (; i <= C - 4 * W; i += 4 * W)
            {
                var d0 = Vector256.Load(x + i) - vm;
                var d1 = Vector256.Load(x + i + W) - vm;
                var d2 = Vector256.Load(x + i + 2 * W) - vm;
                var d3 = Vector256.Load(x + i + 3 * W) - vm;
                a0 = Vector256.FusedMultiplyAdd(d0, d0, a0);
                a1 = Vector256.FusedMultiplyAdd(d1, d1, a1);
                a2 = Vector256.FusedMultiplyAdd(d2, d2, a2);
                a3 = Vector256.FusedMultiplyAdd(d3, d3, a3);
            }
            for (; i <= C - W; i += W)
            {
                var d = Vector256.Load(x + i) - vm;
                a0 = Vector256.FusedMultiplyAdd(d, d, a0);
            }
            sum = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < C; i++)
        {
            float d = x[i] - mean;
            sum += d * d;
        }
        return sum;
    }

    // The kernels index through pointers, so every length is checked up front.
    private static void CheckShapes(int rowsOut, int rowsIn, int meanLength, int rstdLength, int weightLength, int channelOut, int N, int C)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(N);
        ArgumentOutOfRangeException.ThrowIfNegative(C);
        long NC = (long)N * C;
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsOut, NC, "output/dinp");
        ArgumentOutOfRangeException.ThrowIfLessThan(rowsIn, NC, "input");
        ArgumentOutOfRangeException.ThrowIfLessThan(meanLength, N, "mean");
        ArgumentOutOfRangeException.ThrowIfLessThan(rstdLength, N, "rstd");
        ArgumentOutOfRangeException.ThrowIfLessThan(weightLength, C, "weight");
        ArgumentOutOfRangeException.ThrowIfLessThan(channelOut, C, "bias/dweight");
    }
}
