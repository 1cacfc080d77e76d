using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The driver shared by the low-precision matmuls (<see cref="MatmulBf16"/>, <see cref="MatmulQ8"/>):
/// out[n,o] = bias[o] + weight[o,:]·x[n,:] for every input row n, output channels split into
/// contiguous ranges over the cores as in <see cref="MatmulGemv"/>. Weight row o is read from memory
/// once for all N input rows. Up to <see cref="FusedRows"/> rows each row's dot product converts the
/// weights in registers (<see cref="IRows.Dot"/>). Beyond, converting the same row again per input row
/// costs more than the memory it saves, so weight rows are widened into an fp32 scratch in L1 and
/// multiplied from there. With AVX-512 that is tiled (<see cref="RunTiled"/>): <see cref="Tile"/>
/// weight rows widened at a time, and each 16-float step of a tile of Tile weight rows by Tile input
/// rows loads 8 vectors for 16 FMAs into 16 register accumulators. The first widened path, a
/// TensorPrimitives.Dot per (weight row, input row) pair (two loads per FMA), left gpt2 decoding at
/// 0.57x fp32's tokens/s at B = 16; tiled, bf16 and q8 run at or above fp32 from B = 8 (fp32 is then
/// its register-blocked GEMM, bound by arithmetic too). The threshold is where the two met in gpt2
/// decoding on a loaded 2-core Zen 4, interleaved in one process each: at B = 2 fused was 1.6-2.2x
/// fp32 and tiled 0.7-1.1x; at B = 4 they were within the noise of each other; at B = 8 tiled was
/// 1.0-1.3x and fused 0.56-1.25x. From <see cref="GemmRows"/> rows (prefill) the widened rows go to the fp32
/// GEMM instead (<see cref="RunGemm"/>). Without AVX-512 each widened row is dotted with four input rows at a
/// time (<see cref="Dot4"/>).
/// </summary>
internal static unsafe class WeightRows
{
    /// <summary>Below this many weights one thread reads them faster than a fork/join costs (as the fp32 GEMV).</summary>
    private const long SerialWeights = 1L << 16;

    /// <summary>The most input rows that convert the weights in the dot product itself.</summary>
    public const int FusedRows = 4;

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
        if (N >= GemmRows && Vector512.IsHardwareAccelerated)
        {
            RunGemm(rows, y, plain, bias, N, C, OC);
            return;
        }
        if (N > FusedRows && Vector512.IsHardwareAccelerated)
        {
            RunTiled(rows, y, plain, bias, N, C, OC);
            return;
        }
        nint py = (nint)y, px = (nint)plain, pb = (nint)bias;
        Action<int, int> range = (o0, o1) =>
        {
            float* yy = (float*)py, bb = (float*)pb;
            float[]? scratch = N > FusedRows ? ArrayPool<float>.Shared.Rent(C) : null;
            for (int o = o0; o < o1; o++)
            {
                float b = bb != null ? bb[o] : 0f;
                if (scratch is null)
                {
                    for (int n = 0; n < N; n++) yy[(long)n * OC + o] = b + rows.Dot(o, n);
                    continue;
                }
                fixed (float* row = scratch)
                {
                    rows.Widen(o, row);
                    int n = 0;
                    if (Vector256.IsHardwareAccelerated)
                        for (; n + 4 <= N; n += 4) Dot4(row, (float*)px + (long)n * C, C, yy + (long)n * OC + o, OC, b);
                    for (; n < N; n++)
                        yy[(long)n * OC + o] = b + TensorPrimitives.Dot<float>(new ReadOnlySpan<float>(row, C), new ReadOnlySpan<float>((float*)px + (long)n * C, C));
                }
            }
            if (scratch is not null) ArrayPool<float>.Shared.Return(scratch);
        };
        CpuWorkers.ForRange(OC, (int)Math.Max(1, SerialWeights / Math.Max(1, C)), range);
    }

    /// <summary>
    /// y[j·OC] = b + w·x[j,:] over C for four input rows at stride C (Vector256, for machines without
    /// AVX-512): each 16-float step loads the widened row's two vectors once for the four rows' eight
    /// FMA chains (10 of the 16 ymm registers). With a TensorPrimitives.Dot per input row (two loads per
    /// FMA and a call each) and the rows widened in emulated Vector512, gpt2's B=16 decoding on a Zen 3
    /// ran at 0.68x fp32's tokens/s in bf16 and 0.61x in q8; with both mended, 1.06x and 0.93x.
    /// </summary>
    private static void Dot4(float* w, float* x, int C, float* y, int OC, float b)
    {
        float* x0 = x, x1 = x + C, x2 = x1 + C, x3 = x2 + C;
        Vector256<float> a00 = default, a01 = default, a10 = default, a11 = default;
        Vector256<float> a20 = default, a21 = default, a30 = default, a31 = default;
        int c = 0;
        for (; c + 16 <= C; c += 16)
        {
            var w0 = Vector256.Load(w + c);
            var w1 = Vector256.Load(w + c + 8);
            a00 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x0 + c), a00);
            a01 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x0 + c + 8), a01);
            a10 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x1 + c), a10);
            a11 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x1 + c + 8), a11);
            a20 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x2 + c), a20);
            a21 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x2 + c + 8), a21);
            a30 = Vector256.FusedMultiplyAdd(w0, Vector256.Load(x3 + c), a30);
            a31 = Vector256.FusedMultiplyAdd(w1, Vector256.Load(x3 + c + 8), a31);
        }
        float s0 = Vector256.Sum(a00 + a01), s1 = Vector256.Sum(a10 + a11), s2 = Vector256.Sum(a20 + a21), s3 = Vector256.Sum(a30 + a31);
        for (; c < C; c++)
        {
            s0 += w[c] * x0[c];
            s1 += w[c] * x1[c];
            s2 += w[c] * x2[c];
            s3 += w[c] * x3[c];
        }
        y[0] = b + s0;
        y[OC] = b + s1;
        y[2 * OC] = b + s2;
        y[3 * OC] = b + s3;
    }

    /// <summary>
    /// From this many input rows (a long prompt's prefill) the weights are widened a strip at a time and multiplied
    /// by the fp32 <see cref="Gemm"/>, whose cache blocking beats <see cref="RunTiled"/>'s pass over every input row per
    /// tile once the input outgrows L2. gpt2's shapes on a 2-core Zen 4 (kernel lab, three alternated rounds):
    /// at N = 512 bf16 and q8 took 12.5-15.0 ms against 14.3-19.2 (11 of 12 pairs faster), at N = 256 either way
    /// (4 of 6), at N = 128 the same, at N = 8-32 up to 2x slower (the whole matrix widened for a few rows).
    /// </summary>
    public const int GemmRows = 256;

    /// <summary>Floats of widened weights per strip (4 MiB): the GEMM's packing then reads them from cache.</summary>
    private const int StripFloats = 1 << 20;

    /// <summary>
    /// <see cref="Run"/> through the fp32 GEMM: strips of weight rows widened over the cores into one scratch
    /// [strip, C], each multiplied as y[:, strip] = plain · stripᵀ + bias[strip].
    /// </summary>
    private static void RunGemm<TRows>(TRows rows, float* y, float* plain, float* bias, int N, int C, int OC)
        where TRows : struct, IRows
    {
        int strip = Math.Clamp(StripFloats / Math.Max(1, C) / 64 * 64, 64, Math.Max(64, OC));
        float[] widened = ArrayPool<float>.Shared.Rent(strip * C);
        fixed (float* w = widened)
        {
            nint pw = (nint)w;
            for (int o0 = 0; o0 < OC; o0 += strip)
            {
                int s = Math.Min(strip, OC - o0), first = o0;
                CpuWorkers.ForRange(s, 16, (a, b) =>
                {
                    for (int o = a; o < b; o++) rows.Widen(first + o, (float*)pw + (long)o * C);
                });
                Gemm.Run(transA: false, transB: true, N, s, C, new ReadOnlySpan<float>(plain, N * C), C,
                    new ReadOnlySpan<float>(w, s * C), C, new Span<float>(y + o0, (N - 1) * OC + s), OC, accumulate: false,
                    bias == null ? default : new ReadOnlySpan<float>(bias + o0, s));
            }
        }
        ArrayPool<float>.Shared.Return(widened);
    }

    /// <summary>Weight rows, and input rows, in one tile of <see cref="RunTiled"/>.</summary>
    public const int Tile = 4;

    /// <summary>
    /// <see cref="Run"/> for many rows: per range of output channels, <see cref="Tile"/> weight rows at a
    /// time are widened into an fp32 scratch [Tile, Cp] (Cp = C rounded up to 16, the tail zero) and
    /// multiplied against the input, copied once per call into [N, Cp] with zero tails, Tile rows at a
    /// time. A tile past the last weight or input row repeats that row and drops its sums.
    /// </summary>
    private static void RunTiled<TRows>(TRows rows, float* y, float* plain, float* bias, int N, int C, int OC)
        where TRows : struct, IRows
    {
        int Cp = (C + 15) & ~15;
        float[] padded = ArrayPool<float>.Shared.Rent(N * Cp);
        for (int n = 0; n < N; n++)
        {
            new ReadOnlySpan<float>(plain + (long)n * C, C).CopyTo(padded.AsSpan(n * Cp, C));
            padded.AsSpan(n * Cp + C, Cp - C).Clear();
        }
        fixed (float* pp = padded)
        {
            nint py = (nint)y, px = (nint)pp, pb = (nint)bias;
            Action<int, int> range = (o0, o1) =>
            {
                float* yy = (float*)py, xx = (float*)px, bb = (float*)pb;
                // Pooled, not allocated: a decode step makes ~50 of these calls of 8 ranges each. Cleared
                // once, the tails past C stay zero, since Widen writes [0, C) only.
                float[] scratch = ArrayPool<float>.Shared.Rent(Tile * Cp);
                scratch.AsSpan(0, Tile * Cp).Clear();
                fixed (float* w = scratch)
                    for (int o = o0; o < o1; o += Tile)
                    {
                        int wr = Math.Min(Tile, o1 - o);
                        for (int i = 0; i < wr; i++) rows.Widen(o + i, w + (long)i * Cp);
                        for (int n = 0; n < N; n += Tile)
                            Tile4(w, wr, xx + (long)n * Cp, Math.Min(Tile, N - n), Cp, yy + (long)n * OC + o, OC, bb == null ? null : bb + o);
                    }
                ArrayPool<float>.Shared.Return(scratch);
            };
            CpuWorkers.ForRange(OC, (int)Math.Max(Tile, SerialWeights / Math.Max(1, C)), range);
        }
        ArrayPool<float>.Shared.Return(padded);
    }

    /// <summary>
    /// y[j·OC + i] = bias[i] + w[i,:]·x[j,:] over Cp (a multiple of 16) for i &lt; wr, j &lt; xr: weight rows
    /// w[wr, Cp] and input rows x[xr, Cp], both at stride Cp, in 16 register accumulators.
    /// </summary>
    // Fully optimised from the first call: a tier-0 copy keeps the 16 accumulators in memory, 5x slower (measured).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4(float* w, int wr, float* x, int xr, int Cp, float* y, int OC, float* bias)
    {
        float* w0 = w, w1 = w + (long)Math.Min(1, wr - 1) * Cp, w2 = w + (long)Math.Min(2, wr - 1) * Cp, w3 = w + (long)Math.Min(3, wr - 1) * Cp;
        float* x0 = x, x1 = x + (long)Math.Min(1, xr - 1) * Cp, x2 = x + (long)Math.Min(2, xr - 1) * Cp, x3 = x + (long)Math.Min(3, xr - 1) * Cp;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        for (int c = 0; c < Cp; c += 16)
        {
            var v0 = Vector512.Load(w0 + c);
            var v1 = Vector512.Load(w1 + c);
            var v2 = Vector512.Load(w2 + c);
            var v3 = Vector512.Load(w3 + c);
            Column(Vector512.Load(x0 + c), v0, v1, v2, v3, ref a00, ref a10, ref a20, ref a30);
            Column(Vector512.Load(x1 + c), v0, v1, v2, v3, ref a01, ref a11, ref a21, ref a31);
            Column(Vector512.Load(x2 + c), v0, v1, v2, v3, ref a02, ref a12, ref a22, ref a32);
            Column(Vector512.Load(x3 + c), v0, v1, v2, v3, ref a03, ref a13, ref a23, ref a33);
        }
        // Column j of the tile: input row j against the four weight rows.
        Store(y, bias, wr, a00, a10, a20, a30);
        if (xr > 1) Store(y + OC, bias, wr, a01, a11, a21, a31);
        if (xr > 2) Store(y + 2L * OC, bias, wr, a02, a12, a22, a32);
        if (xr > 3) Store(y + 3L * OC, bias, wr, a03, a13, a23, a33);
    }

    // One input vector against the four weight vectors: inlined, so the accumulators stay in registers.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Column(Vector512<float> u, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        ref Vector512<float> a0, ref Vector512<float> a1, ref Vector512<float> a2, ref Vector512<float> a3)
    {
        a0 = Vector512.FusedMultiplyAdd(v0, u, a0);
        a1 = Vector512.FusedMultiplyAdd(v1, u, a1);
        a2 = Vector512.FusedMultiplyAdd(v2, u, a2);
        a3 = Vector512.FusedMultiplyAdd(v3, u, a3);
    }

    private static void Store(float* y, float* bias, int wr, Vector512<float> s0, Vector512<float> s1, Vector512<float> s2, Vector512<float> s3)
    {
        y[0] = (bias != null ? bias[0] : 0f) + Vector512.Sum(s0);
        if (wr > 1) y[1] = (bias != null ? bias[1] : 0f) + Vector512.Sum(s1);
        if (wr > 2) y[2] = (bias != null ? bias[2] : 0f) + Vector512.Sum(s2);
        if (wr > 3) y[3] = (bias != null ? bias[3] : 0f) + Vector512.Sum(s3);
    }
}
