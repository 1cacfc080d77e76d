using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The fully connected layer for a few rows (decoding: N = B rows of one token each):
/// out[n,o] = weight[o,:]·inp[n,:] + bias[o], same contract as <see cref="Reference.Matmul"/>.
/// <para>
/// With N this small the layer is a matrix-vector product bound by reading the weights (OC·C
/// floats), not by arithmetic, and the packed GEMM's copy of the weights into panels would
/// triple the memory traffic. Here the weights are read once, straight from where they lie, in
/// storage order: one whole row at a time, each vector of it multiplied into every input row
/// (up to <see cref="Group"/> at once; the inputs, N·C floats, stay in L1). Reading rows in order
/// is what the hardware prefetcher streams best: interleaving four rows (four short streams that
/// restart every 4·C floats) measured 30% slower on the 10M model's decode step, while one row at
/// a time matched a plain sum of the same memory (~20 GB/s on one Zen 4 core). The decoders back
/// the weights with 2 MiB pages (<c>HugePages.Advise</c>), and there software prefetching only
/// costs: on SmolLM-135M's 538 MB of decode GEMVs (Zen 5, two threads, variants interleaved in
/// random order, 20 rounds) a prefetcht1 per cache line 8 KiB ahead took 14.8 ms median (13.9
/// min), one per four lines 13.9 (12.3), none 13.2 (11.2), against 12.0 (10.2) for a plain sum of
/// the same bytes. (On 4 KiB pages and Zen 4 the prefetch had been 10% faster than none: the
/// hardware prefetcher stops at every page boundary there.)
/// </para>
/// <para>
/// Each dot product is four Vector512 FMA chains over the row (64 floats per step), then a
/// horizontal add and a scalar tail for C not a multiple of 16; without fast Vector512, two
/// Vector256 chains (16 floats per step, <see cref="Range256{TN}"/>). Output channels are split into
/// contiguous ranges over the cores through <see cref="CpuWorkers"/> (a decode step runs ~25 of
/// these, too many for Parallel.For's fork/join); every output is computed by one thread in a
/// fixed order, so results do not depend on the thread count.
/// </para>
/// </summary>
internal static unsafe class MatmulGemv
{
    /// <summary>
    /// The most rows <see cref="Matmul.Forward(Span{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, int, int, int)"/>
    /// sends here instead of to the packed GEMM. With AVX-512, 12: measured on the `small` model's four
    /// layer shapes (C = 384), both cores: with all six layers' weights (42 MB, streamed from DRAM) the
    /// GEMV was 2x faster at N = 1..8, 1.2-1.5x at 12 and 16, even at 24 and slower from 32; with one
    /// layer's (7 MB, from L3) 2x faster up to 8, 1.1x at 12, even at 16. With AVX2 only, 64: the GEMM's
    /// 14-row panels run at a fraction of the FMA peak there (70-89 GFLOP/s at N = 512, C = 768, OC = 3072 on a 2-core Zen 3),
    /// and in gpt2 on that machine the GEMV took a B=16 decode step in 99-107 ms against 212-255, a
    /// 32-token prefill in 108-154 ms against 204-244, and a 128-token one in 376-464 against 449-454.
    /// </summary>
    public static int MaxRows => Vector512.IsHardwareAccelerated ? 12 : 64;

    /// <summary>Input rows per pass over the weights: 4 rows × 4 chains = 16 zmm accumulators.</summary>
    private const int Group = 4;

    /// <summary>Below this many weight floats (256 KiB) one thread reads them faster than a fork/join costs.</summary>
    private const long SerialFloats = 1L << 16;

    /// <summary>out[N,OC] = inp[N,C] · weight[OC,C]ᵀ + bias[OC] (bias may be empty); overwrites out. Any N works; more than <see cref="Group"/> rows read the weights once per group.</summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int N, int C, int OC)
    {
        Reference.Matmul.CheckShapes(output.Length, input.Length, weight.Length, bias.Length, N, C, OC);
        if (N == 0 || OC == 0) return;
        fixed (float* po = output, px = input, pw = weight, pb = bias)
        {
            nint o = (nint)po, x = (nint)px, w = (nint)pw, b = bias.Length != 0 ? (nint)pb : 0;
            Action<int, int> range = (o0, o1) =>
            {
                for (int n0 = 0; n0 < N; n0 += Group)
                {
                    float* y = (float*)o + (long)n0 * OC, xs = (float*)x + (long)n0 * C;
                    switch (Math.Min(Group, N - n0))
                    {
                        case 1: Range<R1>(y, xs, (float*)w, (float*)b, C, OC, o0, o1); break;
                        case 2: Range<R2>(y, xs, (float*)w, (float*)b, C, OC, o0, o1); break;
                        case 3: Range<R3>(y, xs, (float*)w, (float*)b, C, OC, o0, o1); break;
                        default: Range<R4>(y, xs, (float*)w, (float*)b, C, OC, o0, o1); break;
                    }
                }
            };
            // Ranges of at least SerialFloats weights (finer ones measured no faster).
            CpuWorkers.ForRange(OC, (int)Math.Max(1, SerialFloats / Math.Max(1, C)), range);
        }
    }

    /// <summary>
    /// Output channels [o0, o1) for TN.Count input rows (x[TN, C] → y[TN, OC] with row stride OC).
    /// TN is a type constant so the JIT drops the unused rows' accumulators and guards.
    /// </summary>
    private static void Range<TN>(float* y, float* x, float* weight, float* bias, int C, int OC, int o0, int o1)
        where TN : struct, IRowCount
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            Range256<TN>(y, x, weight, bias, C, OC, o0, o1);
            return;
        }
        const int W = 16;
        int N = TN.Count;
        float* x0 = x, x1 = x + C, x2 = x1 + C, x3 = x2 + C;
        for (int o = o0; o < o1; o++)
        {
            float* w = weight + (long)o * C;
            Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
            Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
            Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
            Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
            int c = 0;
            for (; c + 4 * W <= C; c += 4 * W)
            {
                var w0 = Vector512.Load(w + c);
                var w1 = Vector512.Load(w + c + W);
                var w2 = Vector512.Load(w + c + 2 * W);
                var w3 = Vector512.Load(w + c + 3 * W);
                a00 = Vector512.FusedMultiplyAdd(w0, Vector512.Load(x0 + c), a00);
                a01 = Vector512.FusedMultiplyAdd(w1, Vector512.Load(x0 + c + W), a01);
                a02 = Vector512.FusedMultiplyAdd(w2, Vector512.Load(x0 + c + 2 * W), a02);
                a03 = Vector512.FusedMultiplyAdd(w3, Vector512.Load(x0 + c + 3 * W), a03);
                if (N > 1)
                {
                    a10 = Vector512.FusedMultiplyAdd(w0, Vector512.Load(x1 + c), a10);
                    a11 = Vector512.FusedMultiplyAdd(w1, Vector512.Load(x1 + c + W), a11);
                    a12 = Vector512.FusedMultiplyAdd(w2, Vector512.Load(x1 + c + 2 * W), a12);
                    a13 = Vector512.FusedMultiplyAdd(w3, Vector512.Load(x1 + c + 3 * W), a13);
                }
                if (N > 2)
                {
                    a20 = Vector512.FusedMultiplyAdd(w0, Vector512.Load(x2 + c), a20);
                    a21 = Vector512.FusedMultiplyAdd(w1, Vector512.Load(x2 + c + W), a21);
                    a22 = Vector512.FusedMultiplyAdd(w2, Vector512.Load(x2 + c + 2 * W), a22);
                    a23 = Vector512.FusedMultiplyAdd(w3, Vector512.Load(x2 + c + 3 * W), a23);
                }
                if (N > 3)
                {
                    a30 = Vector512.FusedMultiplyAdd(w0, Vector512.Load(x3 + c), a30);
                    a31 = Vector512.FusedMultiplyAdd(w1, Vector512.Load(x3 + c + W), a31);
                    a32 = Vector512.FusedMultiplyAdd(w2, Vector512.Load(x3 + c + 2 * W), a32);
                    a33 = Vector512.FusedMultiplyAdd(w3, Vector512.Load(x3 + c + 3 * W), a33);
                }
            }
            for (; c + W <= C; c += W)
            {
                var w0 = Vector512.Load(w + c);
                a00 = Vector512.FusedMultiplyAdd(w0, Vector512.Load(x0 + c), a00);
                if (N > 1) a10 = Vector512.FusedMultiplyAdd(w0, Vector512.Load(x1 + c), a10);
                if (N > 2) a20 = Vector512.FusedMultiplyAdd(w0, Vector512.Load(x2 + c), a20);
                if (N > 3) a30 = Vector512.FusedMultiplyAdd(w0, Vector512.Load(x3 + c), a30);
            }
            float b = bias != null ? bias[o] : 0f;
            y[o] = b + Dot(a00, a01, a02, a03, w, x0, c, C);
            if (N > 1) y[OC + o] = b + Dot(a10, a11, a12, a13, w, x1, c, C);
            if (N > 2) y[2 * OC + o] = b + Dot(a20, a21, a22, a23, w, x2, c, C);
            if (N > 3) y[3 * OC + o] = b + Dot(a30, a31, a32, a33, w, x3, c, C);
        }
    }

    /// <summary>
    /// <see cref="Range{TN}"/> without fast Vector512 (AVX2: 16 ymm registers; Vector512 there is emulated
    /// in software, which left gpt2's B=4 decoding compute-bound on a Zen 3). Two chains per input row of 8
    /// floats each, 16 floats a step: four rows are 8 accumulators, with the two weight vectors 10 registers.
    /// </summary>
    private static void Range256<TN>(float* y, float* x, float* weight, float* bias, int C, int OC, int o0, int o1)
        where TN : struct, IRowCount
    {
        const int W = 8;
        int N = TN.Count;
        float* x0 = x, x1 = x + C, x2 = x1 + C, x3 = x2 + C;
        for (int o = o0; o < o1; o++)
        {
            float* w = weight + (long)o * C;
            Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
            Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
            int c = 0;
            for (; c + 2 * W <= C; c += 2 * W)
            {
                var w0 = Vector256.Load(w + c);
                var w1 = Vector256.Load(w + c + W);
                a00 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x0 + c), a00);
                a01 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x0 + c + W), a01);
                if (N > 1)
                {
                    a10 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x1 + c), a10);
                    a11 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x1 + c + W), a11);
                }
                if (N > 2)
                {
                    a20 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x2 + c), a20);
                    a21 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x2 + c + W), a21);
                }
                if (N > 3)
                {
                    a30 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x3 + c), a30);
                    a31 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x3 + c + W), a31);
                }
            }
            float b = bias != null ? bias[o] : 0f;
            y[o] = b + Dot(a00 + a01, w, x0, c, C);
            if (N > 1) y[OC + o] = b + Dot(a10 + a11, w, x1, c, C);
            if (N > 2) y[2 * OC + o] = b + Dot(a20 + a21, w, x2, c, C);
            if (N > 3) y[3 * OC + o] = b + Dot(a30 + a31, w, x3, c, C);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(Vector256<float> a, float* w, float* x, int c, int C)
    {
        float s = Vector256.Sum(a);
        for (; c < C; c++) s += w[c] * x[c];
        return s;
    }

    /// <summary>The four chains' horizontal sum plus the scalar tail w[c..C)·x[c..C).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Dot(Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3, float* w, float* x, int c, int C)
    {
        float s = Vector512.Sum((a0 + a1) + (a2 + a3));
        for (; c < C; c++) s += w[c] * x[c];
        return s;
    }

    /// <summary>A row count known to the JIT, so one kernel body specialises to 1..4 input rows.</summary>
    private interface IRowCount { static abstract int Count { get; } }
    private readonly struct R1 : IRowCount { public static int Count => 1; }
    private readonly struct R2 : IRowCount { public static int Count => 2; }
    private readonly struct R3 : IRowCount { public static int Count => 3; }
    private readonly struct R4 : IRowCount { public static int Count => 4; }
}
