using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Single-precision general matrix multiply, C[M,N] (+)= op(A)[M,K] · op(B)[K,N], all row-major,
/// written in the GotoBLAS/BLIS style:
/// <list type="bullet">
/// <item>K is cut into blocks of at most <see cref="KC"/>. op(B) is <b>packed</b> into panels of
/// <see cref="NR"/> = 32 columns and op(A) into panels of <see cref="MR"/> = 14 rows, each k-major
/// and contiguous and zero-padded to whole panels. The transposes are absorbed here, once, so the
/// inner loop never sees a stride;</item>
/// <item>a 14×32 <b>micro-kernel</b> keeps the C tile in 28 zmm accumulators (of 32 registers),
/// per k loading two vectors of the B panel and broadcasting 14 scalars of the A panel: 28 FMAs
/// per 2 vector loads, so the FMA pipe, not the loads, sets the pace;</item>
/// <item>for each K block, one B micro-panel (KC×32 floats) stays hot while the A panels of a work
/// unit (at most <see cref="MC"/> rows, packed into per-thread scratch that stays in L2) stream
/// past it;</item>
/// <item>short panels at the M edge run through a 4×32 kernel, and any partial tile through a small
/// temp tile, so the kernels have no tail code.</item>
/// </list>
/// Two phases per call, both over <see cref="CpuParallel"/>: the workers pack op(B) once into a
/// shared buffer, then take work units (blocks of C) dynamically. Every element of C is one FMA
/// chain over k in a fixed order, with K blocks that depend only on K, on whichever thread computes
/// it, so results are bit-identical from run to run and do not depend on the thread count.
/// <para>
/// Tuned on a 2-core AMD EPYC (Zen 4: AVX-512 issued as 2×256 bits, one zmm FMA per cycle, 32 KiB L1d,
/// 1 MiB L2 per core, 32 MiB L3): about 90% of the measured FMA peak on the GPT-2 training shapes.
/// Without fast Vector512 the same packed panels go through an AVX2 kernel.
/// </para>
/// </summary>
public static unsafe class Gemm
{
    /// <summary>Rows of the micro-tile (the broadcast side).</summary>
    internal const int MR = 14;

    /// <summary>Columns of the micro-tile: two zmm vectors.</summary>
    internal const int NR = 32;

    /// <summary>
    /// Largest K block. Each K block reads and writes the C tile once more, so longer is better until
    /// the unit's packed A (MC×KC, 344 KiB) and a B micro-panel (KC×NR, 64 KiB) crowd L2 (1 MiB).
    /// Measured flat between 384 and 1024 on the training shapes.
    /// </summary>
    internal const int KC = 512;

    /// <summary>Most rows of op(A) in one work unit (12 panels): its packed block, MC×KC floats, stays in L2.</summary>
    internal const int MC = 12 * MR;

    /// <summary>Columns of op(B) packed at a time (a multiple of NR): K×NC floats shared by the workers, read from L3.</summary>
    internal const int NC = 4096;

    /// <summary>Below this many multiply-adds (~20 µs on one core) the two fork/joins (a few µs each) and the split do not pay.</summary>
    private const long SerialWork = 1L << 20;

    /// <summary>B panels per packing task.</summary>
    private const int PackChunk = 8;

    /// <summary>
    /// Floats after each packed A panel: the packing writes 16-wide rows into a 14-wide panel, and
    /// the last row's two extra floats must land somewhere harmless.
    /// </summary>
    private const int PanelSlack = 16;

    // Per-thread scratch, grown on demand and kept (no allocation per call): packed op(B) belongs to
    // the thread that called Run (the workers only read it), packed op(A) to the worker.
    [ThreadStatic] private static float* t_packA;
    [ThreadStatic] private static float* t_packB;
    [ThreadStatic] private static long t_packASize;
    [ThreadStatic] private static long t_packBSize;

    /// <summary>
    /// C[M,N] = op(A)[M,K] · op(B)[K,N] (+ bias[N] on every row), or C += op(A)·op(B) when
    /// <paramref name="accumulate"/> is set. op(X) is X, or Xᵀ when its trans flag is set: A is
    /// stored M×K (row stride <paramref name="lda"/>) or, transposed, K×M; B is stored K×N or,
    /// transposed, N×K. C is M×N with row stride <paramref name="ldc"/>; nothing outside its M×N
    /// part is touched.
    /// </summary>
    /// <param name="transA">A is stored K×M.</param>
    /// <param name="transB">B is stored N×K.</param>
    /// <param name="M">Rows of C.</param>
    /// <param name="N">Columns of C.</param>
    /// <param name="K">The summed dimension.</param>
    /// <param name="A">Left operand.</param>
    /// <param name="lda">Row stride of A as stored.</param>
    /// <param name="B">Right operand.</param>
    /// <param name="ldb">Row stride of B as stored.</param>
    /// <param name="C">Result, M×N.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="accumulate">Add into C instead of overwriting it.</param>
    /// <param name="bias">Optional bias[N] added to every row; only allowed when not accumulating.</param>
    public static void Run(bool transA, bool transB, int M, int N, int K, ReadOnlySpan<float> A, int lda,
        ReadOnlySpan<float> B, int ldb, Span<float> C, int ldc, bool accumulate, ReadOnlySpan<float> bias = default)
    {
        if (M < 0 || N < 0 || K < 0) throw new ArgumentOutOfRangeException(nameof(M), $"gemm: negative dimension (M={M}, N={N}, K={K})");
        if (M == 0 || N == 0) return;
        CheckOperand("C", C.Length, M, N, ldc);
        if (bias.Length != 0)
        {
            if (accumulate) throw new ArgumentException("gemm: a bias is only added when C is overwritten", nameof(bias));
            if (bias.Length != N) throw new ArgumentException($"gemm: bias has {bias.Length} elements, expected {N}", nameof(bias));
        }
        if (K == 0)
        {
            if (!accumulate)
                for (int i = 0; i < M; i++)
                    if (bias.Length != 0) bias.CopyTo(C.Slice(i * ldc, N)); else C.Slice(i * ldc, N).Clear();
            return;
        }
        if (transA) CheckOperand("A", A.Length, K, M, lda); else CheckOperand("A", A.Length, M, K, lda);
        if (transB) CheckOperand("B", B.Length, N, K, ldb); else CheckOperand("B", B.Length, K, N, ldb);

        fixed (float* pa = A, pb = B, pc = C, pbias = bias)
        {
            var job = new Job
            {
                A = pa,
                B = pb,
                C = pc,
                Bias = bias.Length != 0 ? pbias : null,
                Lda = lda,
                Ldb = ldb,
                Ldc = ldc,
                TransA = transA,
                TransB = transB,
                M = M,
                N = N,
                K = K,
                Accumulate = accumulate,
                Kc = BlockK(K),
                RowPanels = (M + MR - 1) / MR,
            };
            int threads = (long)M * N * K < SerialWork ? 1 : CpuParallel.Threads;
            for (int jc = 0; jc < N; jc += NC)
            {
                job.Jc = jc;
                job.Nc = Math.Min(NC, N - jc);
                job.NcPad = (job.Nc + NR - 1) / NR * NR;
                job.PackedB = Scratch(ref t_packB, ref t_packBSize, (long)K * job.NcPad);
                RunStrip(job, threads);
            }
        }
    }

    /// <summary>
    /// One strip of NC columns. Phase one packs all K blocks of op(B)[:, strip] into the shared
    /// buffer; phase two cuts the output into units (row blocks × column blocks) handed out
    /// dynamically, so a worker slowed by something else on the machine does not hold up the call.
    /// </summary>
    private static void RunStrip(Job job, int threads)
    {
        int colPanels = job.NcPad / NR;
        int kBlocks = (job.K + job.Kc - 1) / job.Kc;
        int chunks = (colPanels + PackChunk - 1) / PackChunk;
        if (threads == 1 || (long)job.K * job.NcPad < 1 << 16)
            for (int t = 0; t < kBlocks * chunks; t++) PackBTask(job, t, chunks);
        else
            CpuParallel.For(kBlocks * chunks, t => PackBTask(job, t, chunks));

        int rowPanels = job.RowPanels;
        int rowBlocks = (rowPanels + MC / MR - 1) / (MC / MR), colBlocks = 1;
        if (threads > 1)
        {
            // Enough units for the dynamic hand-out to even out a slow worker, none under four
            // panels (each B micro-panel is reused by every A panel of the unit), and a whole number
            // of rounds when the units are equal.
            int want = 4 * threads;
            rowBlocks = Math.Max(rowBlocks, Math.Min(want, (rowPanels + 3) / 4));
            colBlocks = Math.Clamp((want + rowBlocks - 1) / rowBlocks, 1, Math.Max(1, colPanels / 4));
            if (colBlocks == 1) rowBlocks = Math.Min(rowPanels, (rowBlocks + threads - 1) / threads * threads);
        }
        int units = rowBlocks * colBlocks;
        if (threads == 1 || units == 1)
            for (int u = 0; u < units; u++) Unit(job, u, rowBlocks, colBlocks);
        else
            CpuParallel.For(units, u => Unit(job, u, rowBlocks, colBlocks));
    }

    /// <summary>Packs PackChunk panels of one K block of op(B) (task t = kb·chunks + chunk) into the shared strip.</summary>
    private static void PackBTask(in Job job, int t, int chunks)
    {
        int kb = t / chunks, ch = t % chunks;
        int pc = kb * job.Kc, kc = Math.Min(job.Kc, job.K - pc);
        int j0 = ch * PackChunk * NR, j1 = Math.Min(job.Nc, j0 + PackChunk * NR);
        // K block kb starts at pc·NcPad: the blocks before it hold pc k-rows of NcPad columns.
        PackB(job, job.PackedB + (nint)pc * job.NcPad + (nint)j0 * kc, pc, kc, job.Jc + j0, j1 - j0);
    }

    /// <summary>
    /// Work unit u: its rows and columns are the strip's panels split evenly. For each K block it
    /// packs its rows of op(A) into this worker's scratch (they stay in L2), then sweeps the B
    /// micro-panels (jr), each reused by all of the unit's A panels (ir).
    /// </summary>
    private static void Unit(in Job job, int u, int rowBlocks, int colBlocks)
    {
        int rb = u / colBlocks, cb = u % colBlocks;
        int colPanels = job.NcPad / NR;
        int m0 = job.RowPanels * rb / rowBlocks * MR, m1 = Math.Min(job.M, job.RowPanels * (rb + 1) / rowBlocks * MR);
        int n0 = colPanels * cb / colBlocks * NR, n1 = Math.Min(job.Nc, colPanels * (cb + 1) / colBlocks * NR);
        float* tile = stackalloc float[MR * NR];
        float* packA = Scratch(ref t_packA, ref t_packASize, (long)(m1 - m0 + MR - 1) / MR * (job.Kc * MR + PanelSlack));
        for (int pc = 0; pc < job.K; pc += job.Kc)
        {
            int kc = Math.Min(job.Kc, job.K - pc);
            nint aStride = kc * MR + PanelSlack;
            PackA(job, packA, pc, kc, m0, m1 - m0);
            float* packB = job.PackedB + (nint)pc * job.NcPad;
            // The first K block overwrites C (adding the bias) unless the caller accumulates.
            bool load = job.Accumulate || pc != 0;
            for (int jr = n0; jr < n1; jr += NR)
            {
                int nr = Math.Min(NR, n1 - jr);
                float* bPanel = packB + (nint)jr * kc;
                float* bias = job.Bias != null ? job.Bias + job.Jc + jr : null;
                for (int ir = m0; ir < m1; ir += MR)
                {
                    int mr = Math.Min(MR, m1 - ir);
                    float* aPanel = packA + (ir - m0) / MR * aStride;
                    float* c = job.C + (nint)ir * job.Ldc + job.Jc + jr;
                    if (mr == MR && nr == NR) Tile(kc, aPanel, bPanel, c, job.Ldc, load, bias);
                    else EdgeTile(kc, aPanel, bPanel, c, job.Ldc, mr, nr, load, bias, tile);
                }
            }
        }
    }

    /// <summary>
    /// The K block size, a function of K only (so the sums do not depend on the split): K cut into
    /// equal blocks of at most KC, rounded up to 16 for the 16×16 transposes.
    /// </summary>
    private static int BlockK(int K)
    {
        int blocks = (K + KC - 1) / KC;
        int kc = (K + blocks - 1) / blocks;
        return Math.Min(KC, (kc + 15) & ~15);
    }

    private static void CheckOperand(string name, int length, int rows, int cols, int ld)
    {
        if (ld < cols) throw new ArgumentException($"gemm: leading dimension of {name} ({ld}) is less than its {cols} columns", name);
        long need = (long)(rows - 1) * ld + cols;
        if (length < need) throw new ArgumentException($"gemm: {name} has {length} elements, a {rows}×{cols} matrix with stride {ld} needs {need}", name);
    }

    /// <summary>Everything a worker needs; the pointers stay valid because Run waits for every worker inside its fixed block.</summary>
    private struct Job
    {
        public float* A, B, C, Bias, PackedB;
        public int Lda, Ldb, Ldc, M, N, K, Kc, Jc, Nc, NcPad, RowPanels;
        public bool TransA, TransB, Accumulate;
    }

    /// <summary>64-byte aligned scratch, grown on demand and kept for the thread's life.</summary>
    private static float* Scratch(ref float* buffer, ref long size, long floats)
    {
        if (size < floats)
        {
            if (buffer != null) NativeMemory.AlignedFree(buffer);
            buffer = (float*)NativeMemory.AlignedAlloc((nuint)floats * sizeof(float), 64);
            size = floats;
        }
        return buffer;
    }

    /// <summary>
    /// A partial tile. A short panel (mr &lt; MR) goes in strips of four rows through the 4×32
    /// kernel, so it costs its live rows rounded up to four rather than a whole 14-row tile (M = 256
    /// is 18 panels and 4 rows); the rest computes the whole 14×32 tile. Any strip or tile that is
    /// not whole goes through <paramref name="tile"/>, seeded with the live part of C (or the bias),
    /// and only the live mr×nr part is copied back.
    /// </summary>
    private static void EdgeTile(int kc, float* a, float* b, float* c, nint ldc, int mr, int nr, bool load, float* bias, float* tile)
    {
        if (mr < MR && Use512)
        {
            for (int s = 0; s < mr; s += 4)
            {
                int rows = Math.Min(4, mr - s);
                if (rows == 4 && nr == NR)
                {
                    Kernel4(kc, a + s, b, c + s * ldc, ldc, load, bias);
                    continue;
                }
                Seed(tile, c + s * ldc, ldc, rows, nr, load, bias);
                Kernel4(kc, a + s, b, tile, NR, load: true, bias: null);
                CopyBack(c + s * ldc, ldc, tile, rows, nr);
            }
            return;
        }
        Seed(tile, c, ldc, mr, nr, load, bias);
        Tile(kc, a, b, tile, NR, load: true, bias: null);
        CopyBack(c, ldc, tile, mr, nr);
    }

    private static void Seed(float* tile, float* c, nint ldc, int mr, int nr, bool load, float* bias)
    {
        new Span<float>(tile, MR * NR).Clear();
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++)
                tile[r * NR + j] = load ? c[r * ldc + j] : bias != null ? bias[j] : 0f;
    }

    private static void CopyBack(float* c, nint ldc, float* tile, int mr, int nr)
    {
        for (int r = 0; r < mr; r++)
            for (int j = 0; j < nr; j++)
                c[r * ldc + j] = tile[r * NR + j];
    }

    /// <summary>
    /// Packs op(A)[ic..ic+mc, pc..pc+kc) into panels of MR rows, each kc×MR floats with element
    /// (r, k) at k·MR + r; rows past mc are zero. A stored M×K needs a transpose (16×16 blocks in
    /// registers); stored K×M (transA) it is a copy of MR contiguous floats per k.
    /// </summary>
    private static void PackA(in Job job, float* dst, int pc, int kc, int ic, int mc)
    {
        nint lda = job.Lda;
        nint panel = (nint)kc * MR + PanelSlack;
        if (job.TransA)
        {
            // k outermost, so the reads run along the rows of A (mc contiguous floats each) and
            // the hardware prefetcher sees a few long streams instead of kc short ones per panel.
            for (int k = 0; k < kc; k++)
            {
                float* src = job.A + (nint)(pc + k) * lda + ic;
                PrefetchRange(src + PrefetchRows * lda, mc);
                float* d = dst + k * MR;
                for (int ir = 0; ir < mc; ir += MR, d += panel)
                {
                    // 16-wide copy of 14 floats: its last two lanes land on the next k, rewritten
                    // later, or in the panel's slack; short or row-end panels go one float at a time.
                    if (ir + MR <= mc && ic + ir + 16 <= job.M)
                        Copy16(src + ir, d);
                    else
                        for (int r = 0; r < MR; r++) d[r] = ir + r < mc ? src[ir + r] : 0f;
                }
            }
        }
        else
        {
            for (int ir = 0; ir < mc; ir += MR, dst += panel)
            {
                int mr = Math.Min(MR, mc - ir);
                float* src = job.A + (nint)(ic + ir) * lda + pc;
                int k = 0;
                for (; k + 16 <= kc; k += 16)
                    Transpose16(src + k, lda, mr, dst + k * MR, MR);
                for (; k < kc; k++)
                    for (int r = 0; r < MR; r++)
                        dst[k * MR + r] = r < mr ? src[r * lda + k] : 0f;
            }
        }
    }

    /// <summary>
    /// How far ahead (in rows) the row-copying packs prefetch. They read a short segment of each of
    /// kc rows a full stride apart, a pattern the hardware prefetchers follow poorly: asking for the
    /// row 8 ahead cut the packing time of dweight's operands by about 40% (3% of the whole call).
    /// </summary>
    private const int PrefetchRows = 8;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchRange(float* p, int floats)
    {
        if (!Sse.IsSupported) return;
        for (int i = 0; i < floats; i += 16) Sse.Prefetch0(p + i);
        Sse.Prefetch0(p + floats - 1);
    }

    /// <summary>
    /// Packs op(B)[pc..pc+kc, jc..jc+nc) into panels of NR columns, each kc×NR floats with element
    /// (k, j) at k·NR + j; columns past nc are zero. B stored K×N is a copy of two vectors per k
    /// (k outermost, streaming along B's rows); stored N×K (transB, the layout of a weight matrix)
    /// it is transposed in 16×16 blocks.
    /// </summary>
    private static void PackB(in Job job, float* dst, int pc, int kc, int jc, int nc)
    {
        nint ldb = job.Ldb;
        nint panel = (nint)kc * NR;
        if (!job.TransB)
        {
            for (int k = 0; k < kc; k++)
            {
                float* src = job.B + (nint)(pc + k) * ldb + jc;
                PrefetchRange(src + PrefetchRows * ldb, nc);
                float* d = dst + k * NR;
                for (int jr = 0; jr < nc; jr += NR, d += panel)
                {
                    if (jr + NR <= nc)
                    {
                        Copy16(src + jr, d);
                        Copy16(src + jr + 16, d + 16);
                    }
                    else
                        for (int j = 0; j < NR; j++) d[j] = jr + j < nc ? src[jr + j] : 0f;
                }
            }
        }
        else
        {
            for (int jr = 0; jr < nc; jr += NR, dst += panel)
            {
                int nr = Math.Min(NR, nc - jr);
                for (int half = 0; half < NR; half += 16)
                {
                    int rows = Math.Clamp(nr - half, 0, 16);
                    float* src = job.B + (nint)(jc + jr + half) * ldb + pc;
                    int k = 0;
                    for (; k + 16 <= kc; k += 16)
                        Transpose16(src + k, ldb, rows, dst + k * NR + half, NR);
                    for (; k < kc; k++)
                        for (int j = 0; j < 16; j++)
                            dst[k * NR + half + j] = j < rows ? src[j * ldb + k] : 0f;
                }
            }
        }
    }

    /// <summary>
    /// Reads <paramref name="rows"/> (≤ 16) rows of 16 floats (rows past that count as zero) and writes
    /// the transposed 16×16 block as 16 full vectors at dst + t·dstStride, in increasing t (so a
    /// dstStride below 16 overlaps safely). The usual four shuffle stages: unpack ps, unpack pd,
    /// then two rounds of 128-bit lane shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16(float* src, nint srcStride, int rows, float* dst, nint dstStride)
    {
        if (!Avx512F.IsSupported)
        {
            if (Avx.IsSupported)
            {
                Transpose16Avx(src, srcStride, rows, dst, dstStride);
                return;
            }
            for (int t = 0; t < 16; t++)
                for (int r = 0; r < 16; r++)
                    dst[t * dstStride + r] = r < rows ? src[r * srcStride + t] : 0f;
            return;
        }
        Vector512<float> r0 = Row(src, srcStride, 0, rows), r1 = Row(src, srcStride, 1, rows);
        Vector512<float> r2 = Row(src, srcStride, 2, rows), r3 = Row(src, srcStride, 3, rows);
        Vector512<float> r4 = Row(src, srcStride, 4, rows), r5 = Row(src, srcStride, 5, rows);
        Vector512<float> r6 = Row(src, srcStride, 6, rows), r7 = Row(src, srcStride, 7, rows);
        Vector512<float> r8 = Row(src, srcStride, 8, rows), r9 = Row(src, srcStride, 9, rows);
        Vector512<float> r10 = Row(src, srcStride, 10, rows), r11 = Row(src, srcStride, 11, rows);
        Vector512<float> r12 = Row(src, srcStride, 12, rows), r13 = Row(src, srcStride, 13, rows);
        Vector512<float> r14 = Row(src, srcStride, 14, rows), r15 = Row(src, srcStride, 15, rows);

        // Stage 1: interleave row pairs within 128-bit lanes.
        Vector512<float> t0 = Avx512F.UnpackLow(r0, r1), t1 = Avx512F.UnpackHigh(r0, r1);
        Vector512<float> t2 = Avx512F.UnpackLow(r2, r3), t3 = Avx512F.UnpackHigh(r2, r3);
        Vector512<float> t4 = Avx512F.UnpackLow(r4, r5), t5 = Avx512F.UnpackHigh(r4, r5);
        Vector512<float> t6 = Avx512F.UnpackLow(r6, r7), t7 = Avx512F.UnpackHigh(r6, r7);
        Vector512<float> t8 = Avx512F.UnpackLow(r8, r9), t9 = Avx512F.UnpackHigh(r8, r9);
        Vector512<float> t10 = Avx512F.UnpackLow(r10, r11), t11 = Avx512F.UnpackHigh(r10, r11);
        Vector512<float> t12 = Avx512F.UnpackLow(r12, r13), t13 = Avx512F.UnpackHigh(r12, r13);
        Vector512<float> t14 = Avx512F.UnpackLow(r14, r15), t15 = Avx512F.UnpackHigh(r14, r15);

        // Stage 2: pairs of pairs; u[4g + c] holds rows 4g..4g+3 of columns c, c+4, c+8, c+12 (one per lane).
        Vector512<float> u0 = UnpackLo64(t0, t2), u1 = UnpackHi64(t0, t2), u2 = UnpackLo64(t1, t3), u3 = UnpackHi64(t1, t3);
        Vector512<float> u4 = UnpackLo64(t4, t6), u5 = UnpackHi64(t4, t6), u6 = UnpackLo64(t5, t7), u7 = UnpackHi64(t5, t7);
        Vector512<float> u8 = UnpackLo64(t8, t10), u9 = UnpackHi64(t8, t10), u10 = UnpackLo64(t9, t11), u11 = UnpackHi64(t9, t11);
        Vector512<float> u12 = UnpackLo64(t12, t14), u13 = UnpackHi64(t12, t14), u14 = UnpackLo64(t13, t15), u15 = UnpackHi64(t13, t15);

        // Stage 3: lanes 0,2 / 1,3 of row groups (0-3, 4-7) and (8-11, 12-15).
        Vector512<float> v0 = Avx512F.Shuffle4x128(u0, u4, 0x88), v1 = Avx512F.Shuffle4x128(u0, u4, 0xDD);
        Vector512<float> v2 = Avx512F.Shuffle4x128(u1, u5, 0x88), v3 = Avx512F.Shuffle4x128(u1, u5, 0xDD);
        Vector512<float> v4 = Avx512F.Shuffle4x128(u2, u6, 0x88), v5 = Avx512F.Shuffle4x128(u2, u6, 0xDD);
        Vector512<float> v6 = Avx512F.Shuffle4x128(u3, u7, 0x88), v7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
        Vector512<float> v8 = Avx512F.Shuffle4x128(u8, u12, 0x88), v9 = Avx512F.Shuffle4x128(u8, u12, 0xDD);
        Vector512<float> v10 = Avx512F.Shuffle4x128(u9, u13, 0x88), v11 = Avx512F.Shuffle4x128(u9, u13, 0xDD);
        Vector512<float> v12 = Avx512F.Shuffle4x128(u10, u14, 0x88), v13 = Avx512F.Shuffle4x128(u10, u14, 0xDD);
        Vector512<float> v14 = Avx512F.Shuffle4x128(u11, u15, 0x88), v15 = Avx512F.Shuffle4x128(u11, u15, 0xDD);

        // Stage 4: v0 holds columns 0 and 8 of rows 0-7, v8 the same of rows 8-15, and so on.
        Vector512.Store(Avx512F.Shuffle4x128(v0, v8, 0x88), dst + 0 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v2, v10, 0x88), dst + 1 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v4, v12, 0x88), dst + 2 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v6, v14, 0x88), dst + 3 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v1, v9, 0x88), dst + 4 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v3, v11, 0x88), dst + 5 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v5, v13, 0x88), dst + 6 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v7, v15, 0x88), dst + 7 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v0, v8, 0xDD), dst + 8 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v2, v10, 0xDD), dst + 9 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v4, v12, 0xDD), dst + 10 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v6, v14, 0xDD), dst + 11 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v1, v9, 0xDD), dst + 12 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v3, v11, 0xDD), dst + 13 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v5, v13, 0xDD), dst + 14 * dstStride);
        Vector512.Store(Avx512F.Shuffle4x128(v7, v15, 0xDD), dst + 15 * dstStride);
    }

    /// <summary>
    /// <see cref="Transpose16"/> with AVX (ymm): per half of the 16 columns, the 8×8 blocks of rows 0-7 and
    /// 8-15, each by unpack ps, shuffle, and a 128-bit lane permute; then each output row's two halves are
    /// stored in increasing t, so the overlapping narrow stride stays safe as in the AVX-512 form.
    /// </summary>
    private static void Transpose16Avx(float* src, nint srcStride, int rows, float* dst, nint dstStride)
    {
        for (int t0 = 0; t0 < 16; t0 += 8)
        {
            Transpose8(src + t0, srcStride, rows, out var l0, out var l1, out var l2, out var l3, out var l4, out var l5, out var l6, out var l7);
            Transpose8(src + 8 * srcStride + t0, srcStride, rows - 8, out var h0, out var h1, out var h2, out var h3, out var h4, out var h5, out var h6, out var h7);
            float* d = dst + t0 * dstStride;
            Vector256.Store(l0, d); Vector256.Store(h0, d + 8); d += dstStride;
            Vector256.Store(l1, d); Vector256.Store(h1, d + 8); d += dstStride;
            Vector256.Store(l2, d); Vector256.Store(h2, d + 8); d += dstStride;
            Vector256.Store(l3, d); Vector256.Store(h3, d + 8); d += dstStride;
            Vector256.Store(l4, d); Vector256.Store(h4, d + 8); d += dstStride;
            Vector256.Store(l5, d); Vector256.Store(h5, d + 8); d += dstStride;
            Vector256.Store(l6, d); Vector256.Store(h6, d + 8); d += dstStride;
            Vector256.Store(l7, d); Vector256.Store(h7, d + 8);
        }
    }

    /// <summary>The 8×8 block at src (rows past <paramref name="rows"/> read as zero), transposed: o_t holds column t.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8(float* src, nint stride, int rows,
        out Vector256<float> o0, out Vector256<float> o1, out Vector256<float> o2, out Vector256<float> o3,
        out Vector256<float> o4, out Vector256<float> o5, out Vector256<float> o6, out Vector256<float> o7)
    {
        Vector256<float> r0 = Row8(src, stride, 0, rows), r1 = Row8(src, stride, 1, rows);
        Vector256<float> r2 = Row8(src, stride, 2, rows), r3 = Row8(src, stride, 3, rows);
        Vector256<float> r4 = Row8(src, stride, 4, rows), r5 = Row8(src, stride, 5, rows);
        Vector256<float> r6 = Row8(src, stride, 6, rows), r7 = Row8(src, stride, 7, rows);
        // Pairs of rows interleaved, then pairs of pairs: u0 holds column 0 of rows 0-3 (low lane) and column 4 (high lane), ...
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        // Rows 0-3 from the u0-u3 side, rows 4-7 from the u4-u7 side.
        o0 = Avx.Permute2x128(u0, u4, 0x20); o1 = Avx.Permute2x128(u1, u5, 0x20);
        o2 = Avx.Permute2x128(u2, u6, 0x20); o3 = Avx.Permute2x128(u3, u7, 0x20);
        o4 = Avx.Permute2x128(u0, u4, 0x31); o5 = Avx.Permute2x128(u1, u5, 0x31);
        o6 = Avx.Permute2x128(u2, u6, 0x31); o7 = Avx.Permute2x128(u3, u7, 0x31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row8(float* src, nint stride, int r, int rows)
        => r < rows ? Vector256.Load(src + r * stride) : Vector256<float>.Zero;

    /// <summary>16 floats from src to dst, as one zmm where AVX-512 is fast, else two ymm (Vector512 is emulated there).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy16(float* src, float* dst)
    {
        if (Use512) Vector512.Store(Vector512.Load(src), dst);
        else
        {
            Vector256.Store(Vector256.Load(src), dst);
            Vector256.Store(Vector256.Load(src + 8), dst + 8);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row(float* src, nint stride, int r, int rows)
        => r < rows ? Vector512.Load(src + r * stride) : Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> UnpackLo64(Vector512<float> a, Vector512<float> b)
        => Avx512F.UnpackLow(a.AsDouble(), b.AsDouble()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> UnpackHi64(Vector512<float> a, Vector512<float> b)
        => Avx512F.UnpackHigh(a.AsDouble(), b.AsDouble()).AsSingle();

    /// <summary>Vector512 needs to be fast (not emulated) and the transposes need AVX-512F's shuffles.</summary>
    private static bool Use512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(int kc, float* a, float* b, float* c, nint ldc, bool load, float* bias)
    {
        if (Use512) Kernel(kc, a, b, c, ldc, load, bias);
        else Kernel256(kc, a, b, c, ldc, load, bias);
    }

    /// <summary>
    /// The 14×32 micro-kernel: c[0..14, 0..32) = (load ? c : bias) + Σ_k a[k,0..14]ᵀ · b[k,0..32) over
    /// packed panels (a: kc×14, b: kc×32). 28 accumulators + 2 B vectors + 1 broadcast = 31 of the
    /// 32 zmm registers; the JIT keeps them all in registers (checked in the disassembly).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel(int kc, float* a, float* b, float* c, nint ldc, bool load, float* bias)
    {
        // The C tile is read (or written) only after the k loop; fetching its lines now hides their
        // latency behind the FMAs instead of stalling on 28+ misses at the end.
        for (int r = 0; r < MR; r++)
        {
            Sse.Prefetch0(c + r * ldc);
            Sse.Prefetch0(c + r * ldc + 16);
            Sse.Prefetch0(c + r * ldc + 31);
        }
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default;
        Vector512<float> c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default;
        Vector512<float> c7_0 = default, c7_1 = default;
        Vector512<float> c8_0 = default, c8_1 = default;
        Vector512<float> c9_0 = default, c9_1 = default;
        Vector512<float> c10_0 = default, c10_1 = default;
        Vector512<float> c11_0 = default, c11_1 = default;
        Vector512<float> c12_0 = default, c12_1 = default;
        Vector512<float> c13_0 = default, c13_1 = default;
        for (int k = 0; k < kc; k++)
        {
            Vector512<float> b0 = Vector512.Load(b + 0);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> a0 = Vector512.Create(a[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a0, b1, c0_1);
            Vector512<float> a1 = Vector512.Create(a[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(a1, b1, c1_1);
            Vector512<float> a2 = Vector512.Create(a[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(a2, b1, c2_1);
            Vector512<float> a3 = Vector512.Create(a[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(a3, b1, c3_1);
            Vector512<float> a4 = Vector512.Create(a[4]);
            c4_0 = Vector512.FusedMultiplyAdd(a4, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(a4, b1, c4_1);
            Vector512<float> a5 = Vector512.Create(a[5]);
            c5_0 = Vector512.FusedMultiplyAdd(a5, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(a5, b1, c5_1);
            Vector512<float> a6 = Vector512.Create(a[6]);
            c6_0 = Vector512.FusedMultiplyAdd(a6, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(a6, b1, c6_1);
            Vector512<float> a7 = Vector512.Create(a[7]);
            c7_0 = Vector512.FusedMultiplyAdd(a7, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(a7, b1, c7_1);
            Vector512<float> a8 = Vector512.Create(a[8]);
            c8_0 = Vector512.FusedMultiplyAdd(a8, b0, c8_0);
            c8_1 = Vector512.FusedMultiplyAdd(a8, b1, c8_1);
            Vector512<float> a9 = Vector512.Create(a[9]);
            c9_0 = Vector512.FusedMultiplyAdd(a9, b0, c9_0);
            c9_1 = Vector512.FusedMultiplyAdd(a9, b1, c9_1);
            Vector512<float> a10 = Vector512.Create(a[10]);
            c10_0 = Vector512.FusedMultiplyAdd(a10, b0, c10_0);
            c10_1 = Vector512.FusedMultiplyAdd(a10, b1, c10_1);
            Vector512<float> a11 = Vector512.Create(a[11]);
            c11_0 = Vector512.FusedMultiplyAdd(a11, b0, c11_0);
            c11_1 = Vector512.FusedMultiplyAdd(a11, b1, c11_1);
            Vector512<float> a12 = Vector512.Create(a[12]);
            c12_0 = Vector512.FusedMultiplyAdd(a12, b0, c12_0);
            c12_1 = Vector512.FusedMultiplyAdd(a12, b1, c12_1);
            Vector512<float> a13 = Vector512.Create(a[13]);
            c13_0 = Vector512.FusedMultiplyAdd(a13, b0, c13_0);
            c13_1 = Vector512.FusedMultiplyAdd(a13, b1, c13_1);
            a += MR;
            b += NR;
        }
        if (load)
        {
            AddRow(c + 0 * ldc, c0_0, c0_1);
            AddRow(c + 1 * ldc, c1_0, c1_1);
            AddRow(c + 2 * ldc, c2_0, c2_1);
            AddRow(c + 3 * ldc, c3_0, c3_1);
            AddRow(c + 4 * ldc, c4_0, c4_1);
            AddRow(c + 5 * ldc, c5_0, c5_1);
            AddRow(c + 6 * ldc, c6_0, c6_1);
            AddRow(c + 7 * ldc, c7_0, c7_1);
            AddRow(c + 8 * ldc, c8_0, c8_1);
            AddRow(c + 9 * ldc, c9_0, c9_1);
            AddRow(c + 10 * ldc, c10_0, c10_1);
            AddRow(c + 11 * ldc, c11_0, c11_1);
            AddRow(c + 12 * ldc, c12_0, c12_1);
            AddRow(c + 13 * ldc, c13_0, c13_1);
        }
        else
        {
            Vector512<float> bias0 = bias != null ? Vector512.Load(bias) : Vector512<float>.Zero;
            Vector512<float> bias1 = bias != null ? Vector512.Load(bias + 16) : Vector512<float>.Zero;
            SetRow(c + 0 * ldc, c0_0 + bias0, c0_1 + bias1);
            SetRow(c + 1 * ldc, c1_0 + bias0, c1_1 + bias1);
            SetRow(c + 2 * ldc, c2_0 + bias0, c2_1 + bias1);
            SetRow(c + 3 * ldc, c3_0 + bias0, c3_1 + bias1);
            SetRow(c + 4 * ldc, c4_0 + bias0, c4_1 + bias1);
            SetRow(c + 5 * ldc, c5_0 + bias0, c5_1 + bias1);
            SetRow(c + 6 * ldc, c6_0 + bias0, c6_1 + bias1);
            SetRow(c + 7 * ldc, c7_0 + bias0, c7_1 + bias1);
            SetRow(c + 8 * ldc, c8_0 + bias0, c8_1 + bias1);
            SetRow(c + 9 * ldc, c9_0 + bias0, c9_1 + bias1);
            SetRow(c + 10 * ldc, c10_0 + bias0, c10_1 + bias1);
            SetRow(c + 11 * ldc, c11_0 + bias0, c11_1 + bias1);
            SetRow(c + 12 * ldc, c12_0 + bias0, c12_1 + bias1);
            SetRow(c + 13 * ldc, c13_0 + bias0, c13_1 + bias1);
        }
    }

    /// <summary>
    /// A 4×32 strip from the same packed panels (a points at the strip's first row inside a 14-row
    /// panel, so it steps by MR): the kernel for the short last panel of a block, whose cost then
    /// follows its live rows. 8 accumulators still cover the FMA latency (4 cycles, 1 zmm FMA per cycle).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel4(int kc, float* a, float* b, float* c, nint ldc, bool load, float* bias)
    {
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        for (int k = 0; k < kc; k++)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16);
            Vector512<float> a0 = Vector512.Create(a[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0); c0_1 = Vector512.FusedMultiplyAdd(a0, b1, c0_1);
            Vector512<float> a1 = Vector512.Create(a[1]);
            c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0); c1_1 = Vector512.FusedMultiplyAdd(a1, b1, c1_1);
            Vector512<float> a2 = Vector512.Create(a[2]);
            c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0); c2_1 = Vector512.FusedMultiplyAdd(a2, b1, c2_1);
            Vector512<float> a3 = Vector512.Create(a[3]);
            c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0); c3_1 = Vector512.FusedMultiplyAdd(a3, b1, c3_1);
            a += MR;
            b += NR;
        }
        if (load)
        {
            AddRow(c + 0 * ldc, c0_0, c0_1);
            AddRow(c + 1 * ldc, c1_0, c1_1);
            AddRow(c + 2 * ldc, c2_0, c2_1);
            AddRow(c + 3 * ldc, c3_0, c3_1);
        }
        else
        {
            Vector512<float> bias0 = bias != null ? Vector512.Load(bias) : Vector512<float>.Zero;
            Vector512<float> bias1 = bias != null ? Vector512.Load(bias + 16) : Vector512<float>.Zero;
            SetRow(c + 0 * ldc, c0_0 + bias0, c0_1 + bias1);
            SetRow(c + 1 * ldc, c1_0 + bias0, c1_1 + bias1);
            SetRow(c + 2 * ldc, c2_0 + bias0, c2_1 + bias1);
            SetRow(c + 3 * ldc, c3_0 + bias0, c3_1 + bias1);
        }
    }

    /// <summary>
    /// The same 14×32 tile for machines without fast Vector512 (AVX2: 16 ymm registers), from the
    /// same packed panels: six passes of a sub-tile of 5, 5 and 4 rows by 16 columns. 5×16 is 10
    /// accumulators + 2 B vectors + 1 broadcast = 13 registers; the earlier 7×16 needed 17, and the
    /// JIT kept one accumulator on the stack, a store and reload in its FMA chain every k (the
    /// disassembly shows it). With this and the AVX packing below, the blocked matmul at N = 512,
    /// C = 768, OC = 3072 went from 54-60 to 70-89 GFLOP/s on a 2-core Zen 3 (alternated processes).
    /// </summary>
    private static void Kernel256(int kc, float* a, float* b, float* c, nint ldc, bool load, float* bias)
    {
        for (int j0 = 0; j0 < NR; j0 += 16)
        {
            float* bj = b + j0, cj = c + j0, biasj = bias != null ? bias + j0 : null;
            Kernel256Rows<R5>(kc, a, bj, cj, ldc, load, biasj);
            Kernel256Rows<R5>(kc, a + 5, bj, cj + 5 * ldc, ldc, load, biasj);
            Kernel256Rows<R4>(kc, a + 10, bj, cj + 10 * ldc, ldc, load, biasj);
        }
    }

    /// <summary>TR.Count (4 or 5) rows by 16 columns of the tile; a points at the first row inside the 14-row panel.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256Rows<TR>(int kc, float* a, float* b, float* c, nint ldc, bool load, float* bias)
        where TR : struct, IRowCount
    {
        int R = TR.Count;
        Vector256<float> c0_0 = default, c0_1 = default;
        Vector256<float> c1_0 = default, c1_1 = default;
        Vector256<float> c2_0 = default, c2_1 = default;
        Vector256<float> c3_0 = default, c3_1 = default;
        Vector256<float> c4_0 = default, c4_1 = default;
        for (int k = 0; k < kc; k++)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8);
            Vector256<float> a0 = Vector256.Create(a[0]);
            c0_0 = Vector256.FusedMultiplyAdd(a0, b0, c0_0); c0_1 = Vector256.FusedMultiplyAdd(a0, b1, c0_1);
            Vector256<float> a1 = Vector256.Create(a[1]);
            c1_0 = Vector256.FusedMultiplyAdd(a1, b0, c1_0); c1_1 = Vector256.FusedMultiplyAdd(a1, b1, c1_1);
            Vector256<float> a2 = Vector256.Create(a[2]);
            c2_0 = Vector256.FusedMultiplyAdd(a2, b0, c2_0); c2_1 = Vector256.FusedMultiplyAdd(a2, b1, c2_1);
            Vector256<float> a3 = Vector256.Create(a[3]);
            c3_0 = Vector256.FusedMultiplyAdd(a3, b0, c3_0); c3_1 = Vector256.FusedMultiplyAdd(a3, b1, c3_1);
            if (R > 4)
            {
                Vector256<float> a4 = Vector256.Create(a[4]);
                c4_0 = Vector256.FusedMultiplyAdd(a4, b0, c4_0); c4_1 = Vector256.FusedMultiplyAdd(a4, b1, c4_1);
            }
            a += MR;
            b += NR;
        }
        Vector256<float> i0 = bias != null ? Vector256.Load(bias) : Vector256<float>.Zero;
        Vector256<float> i1 = bias != null ? Vector256.Load(bias + 8) : Vector256<float>.Zero;
        Store256(c, c0_0, c0_1, load, i0, i1);
        Store256(c + ldc, c1_0, c1_1, load, i0, i1);
        Store256(c + 2 * ldc, c2_0, c2_1, load, i0, i1);
        Store256(c + 3 * ldc, c3_0, c3_1, load, i0, i1);
        if (R > 4) Store256(c + 4 * ldc, c4_0, c4_1, load, i0, i1);
    }

    /// <summary>One 16-float row of C: the sums plus C itself (load) or the bias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> x0, Vector256<float> x1, bool load, Vector256<float> i0, Vector256<float> i1)
    {
        Vector256.Store(x0 + (load ? Vector256.Load(c) : i0), c);
        Vector256.Store(x1 + (load ? Vector256.Load(c + 8) : i1), c + 8);
    }

    /// <summary>A row count known to the JIT, so one kernel body specialises to 4 or 5 rows.</summary>
    private interface IRowCount { static abstract int Count { get; } }
    private readonly struct R4 : IRowCount { public static int Count => 4; }
    private readonly struct R5 : IRowCount { public static int Count => 5; }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* c, Vector512<float> x0, Vector512<float> x1)
    {
        Vector512.Store(x0 + Vector512.Load(c), c);
        Vector512.Store(x1 + Vector512.Load(c + 16), c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SetRow(float* c, Vector512<float> x0, Vector512<float> x1)
    {
        Vector512.Store(x0, c);
        Vector512.Store(x1, c + 16);
    }
}
