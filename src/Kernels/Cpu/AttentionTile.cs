using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// The register-blocked inner loops of flash attention: one small matrix product that serves
/// every product in the forward and backward, a vector exp2 and a 16×16 transpose.
/// <para>
/// All tiles keep the query index i contiguous (S is stored transposed, Sᵀ[j, i]), so the
/// online softmax, the causal mask and dS = P∘(dP − D) run along vectors of 16 queries with no
/// horizontal reductions; a query block is <see cref="Block"/> = 4 vectors wide.
/// </para>
/// </summary>
internal static unsafe class AttentionTile
{
    /// <summary>Floats per Vector512.</summary>
    public const int W = 16;

    /// <summary>Queries per query block and keys per key block (4 vectors).</summary>
    public const int Block = 64;

    /// <summary>
    /// o[r, c] (+)= Σₖ x[r·rs + k·ks] · y[k·ys + c] for r &lt; nr, k &lt; nk, c &lt; 16·nv; o has row
    /// stride os. x is read one scalar at a time (broadcast), so either of its strides may be 1:
    /// the same kernel computes Sᵀ = K·Qᵀ (x = k rows: rs = row length, ks = 1) and O = P·V from
    /// the stored Pᵀ (x = Pᵀ: rs = 1, ks = row length). y and o must have 16·nv readable and
    /// writable floats per row.
    /// </summary>
    public static void Gemm(float* o, int os, float* x, int rs, int ks, float* y, int ys,
        int nr, int nk, int nv, bool accumulate)
    {
        if (nr <= 0 || nv <= 0) return;
        if (nk <= 0)
        {
            if (!accumulate)
                for (int r = 0; r < nr; r++) new Span<float>(o + (nint)r * os, nv * W).Clear();
            return;
        }
        int r0 = 0;
        for (; r0 + 6 <= nr; r0 += 6) Rows<R6>(o + (nint)r0 * os, os, x + (nint)r0 * rs, rs, ks, y, ys, nk, nv, accumulate);
        float* ot = o + (nint)r0 * os, xt = x + (nint)r0 * rs;
        switch (nr - r0)
        {
            case 1: Rows<R1>(ot, os, xt, rs, ks, y, ys, nk, nv, accumulate); break;
            case 2: Rows<R2>(ot, os, xt, rs, ks, y, ys, nk, nv, accumulate); break;
            case 3: Rows<R3>(ot, os, xt, rs, ks, y, ys, nk, nv, accumulate); break;
            case 4: Rows<R4>(ot, os, xt, rs, ks, y, ys, nk, nv, accumulate); break;
            case 5: Rows<R5>(ot, os, xt, rs, ks, y, ys, nk, nv, accumulate); break;
        }
    }

    private static void Rows<TR>(float* o, int os, float* x, int rs, int ks, float* y, int ys, int nk, int nv, bool accumulate)
        where TR : struct, IRowCount
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            for (int v = 0; v < nv; v++) Kernel1x256<TR>(o + v * W, os, x, rs, ks, y + v * W, ys, nk, accumulate);
            return;
        }
        int v0 = 0;
        for (; v0 + 4 <= nv; v0 += 4) Kernel<TR, C4>(o + v0 * W, os, x, rs, ks, y + v0 * W, ys, nk, accumulate);
        switch (nv - v0)
        {
            case 1: Kernel<TR, C1>(o + v0 * W, os, x, rs, ks, y + v0 * W, ys, nk, accumulate); break;
            case 2: Kernel<TR, C2>(o + v0 * W, os, x, rs, ks, y + v0 * W, ys, nk, accumulate); break;
            case 3: Kernel<TR, C3>(o + v0 * W, os, x, rs, ks, y + v0 * W, ys, nk, accumulate); break;
        }
    }

    /// <summary>
    /// R (≤ 6) rows × NC (≤ 4) vectors of o: up to 24 zmm accumulators, NC loads of y and R
    /// broadcasts of x per k, so at 6×4 the FMA units, not the loads, set the pace. R and NC
    /// are type constants: the JIT folds every guard and drops the unused accumulators, so one
    /// body serves the full tile and every row and column tail.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel<TR, TC>(float* o, int os, float* x, int rs, int ks, float* y, int ys, int nk, bool accumulate)
        where TR : struct, IRowCount where TC : struct, IColumnCount
    {
        int R = TR.Count, NC = TC.Count;
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default;
        Vector512<float> a40 = default, a41 = default, a42 = default, a43 = default;
        Vector512<float> a50 = default, a51 = default, a52 = default, a53 = default;
        float* o1 = o + os, o2 = o1 + os, o3 = o2 + os, o4 = o3 + os, o5 = o4 + os;
        if (accumulate)
        {
            a00 = Vector512.Load(o);
            if (NC > 1) a01 = Vector512.Load(o + 16);
            if (NC > 2) a02 = Vector512.Load(o + 32);
            if (NC > 3) a03 = Vector512.Load(o + 48);
            if (R > 1) a10 = Vector512.Load(o1);
            if (R > 1 && NC > 1) a11 = Vector512.Load(o1 + 16);
            if (R > 1 && NC > 2) a12 = Vector512.Load(o1 + 32);
            if (R > 1 && NC > 3) a13 = Vector512.Load(o1 + 48);
            if (R > 2) a20 = Vector512.Load(o2);
            if (R > 2 && NC > 1) a21 = Vector512.Load(o2 + 16);
            if (R > 2 && NC > 2) a22 = Vector512.Load(o2 + 32);
            if (R > 2 && NC > 3) a23 = Vector512.Load(o2 + 48);
            if (R > 3) a30 = Vector512.Load(o3);
            if (R > 3 && NC > 1) a31 = Vector512.Load(o3 + 16);
            if (R > 3 && NC > 2) a32 = Vector512.Load(o3 + 32);
            if (R > 3 && NC > 3) a33 = Vector512.Load(o3 + 48);
            if (R > 4) a40 = Vector512.Load(o4);
            if (R > 4 && NC > 1) a41 = Vector512.Load(o4 + 16);
            if (R > 4 && NC > 2) a42 = Vector512.Load(o4 + 32);
            if (R > 4 && NC > 3) a43 = Vector512.Load(o4 + 48);
            if (R > 5) a50 = Vector512.Load(o5);
            if (R > 5 && NC > 1) a51 = Vector512.Load(o5 + 16);
            if (R > 5 && NC > 2) a52 = Vector512.Load(o5 + 32);
            if (R > 5 && NC > 3) a53 = Vector512.Load(o5 + 48);
        }
        float* x0 = x, x1 = x + rs, x2 = x1 + rs, x3 = x2 + rs, x4 = x3 + rs, x5 = x4 + rs;
        for (int k = 0; k < nk; k++)
        {
            Vector512<float> y0 = Vector512.Load(y), y1 = default, y2 = default, y3 = default;
            if (NC > 1) y1 = Vector512.Load(y + 16);
            if (NC > 2) y2 = Vector512.Load(y + 32);
            if (NC > 3) y3 = Vector512.Load(y + 48);
            y += ys;
            {
                Vector512<float> b = Vector512.Create(*x0); x0 += ks;
                a00 = Vector512.FusedMultiplyAdd(b, y0, a00);
                if (NC > 1) a01 = Vector512.FusedMultiplyAdd(b, y1, a01);
                if (NC > 2) a02 = Vector512.FusedMultiplyAdd(b, y2, a02);
                if (NC > 3) a03 = Vector512.FusedMultiplyAdd(b, y3, a03);
            }
            if (R > 1)
            {
                Vector512<float> b = Vector512.Create(*x1); x1 += ks;
                a10 = Vector512.FusedMultiplyAdd(b, y0, a10);
                if (NC > 1) a11 = Vector512.FusedMultiplyAdd(b, y1, a11);
                if (NC > 2) a12 = Vector512.FusedMultiplyAdd(b, y2, a12);
                if (NC > 3) a13 = Vector512.FusedMultiplyAdd(b, y3, a13);
            }
            if (R > 2)
            {
                Vector512<float> b = Vector512.Create(*x2); x2 += ks;
                a20 = Vector512.FusedMultiplyAdd(b, y0, a20);
                if (NC > 1) a21 = Vector512.FusedMultiplyAdd(b, y1, a21);
                if (NC > 2) a22 = Vector512.FusedMultiplyAdd(b, y2, a22);
                if (NC > 3) a23 = Vector512.FusedMultiplyAdd(b, y3, a23);
            }
            if (R > 3)
            {
                Vector512<float> b = Vector512.Create(*x3); x3 += ks;
                a30 = Vector512.FusedMultiplyAdd(b, y0, a30);
                if (NC > 1) a31 = Vector512.FusedMultiplyAdd(b, y1, a31);
                if (NC > 2) a32 = Vector512.FusedMultiplyAdd(b, y2, a32);
                if (NC > 3) a33 = Vector512.FusedMultiplyAdd(b, y3, a33);
            }
            if (R > 4)
            {
                Vector512<float> b = Vector512.Create(*x4); x4 += ks;
                a40 = Vector512.FusedMultiplyAdd(b, y0, a40);
                if (NC > 1) a41 = Vector512.FusedMultiplyAdd(b, y1, a41);
                if (NC > 2) a42 = Vector512.FusedMultiplyAdd(b, y2, a42);
                if (NC > 3) a43 = Vector512.FusedMultiplyAdd(b, y3, a43);
            }
            if (R > 5)
            {
                Vector512<float> b = Vector512.Create(*x5); x5 += ks;
                a50 = Vector512.FusedMultiplyAdd(b, y0, a50);
                if (NC > 1) a51 = Vector512.FusedMultiplyAdd(b, y1, a51);
                if (NC > 2) a52 = Vector512.FusedMultiplyAdd(b, y2, a52);
                if (NC > 3) a53 = Vector512.FusedMultiplyAdd(b, y3, a53);
            }
        }
        a00.Store(o);
        if (NC > 1) a01.Store(o + 16);
        if (NC > 2) a02.Store(o + 32);
        if (NC > 3) a03.Store(o + 48);
        if (R > 1) a10.Store(o1);
        if (R > 1 && NC > 1) a11.Store(o1 + 16);
        if (R > 1 && NC > 2) a12.Store(o1 + 32);
        if (R > 1 && NC > 3) a13.Store(o1 + 48);
        if (R > 2) a20.Store(o2);
        if (R > 2 && NC > 1) a21.Store(o2 + 16);
        if (R > 2 && NC > 2) a22.Store(o2 + 32);
        if (R > 2 && NC > 3) a23.Store(o2 + 48);
        if (R > 3) a30.Store(o3);
        if (R > 3 && NC > 1) a31.Store(o3 + 16);
        if (R > 3 && NC > 2) a32.Store(o3 + 32);
        if (R > 3 && NC > 3) a33.Store(o3 + 48);
        if (R > 4) a40.Store(o4);
        if (R > 4 && NC > 1) a41.Store(o4 + 16);
        if (R > 4 && NC > 2) a42.Store(o4 + 32);
        if (R > 4 && NC > 3) a43.Store(o4 + 48);
        if (R > 5) a50.Store(o5);
        if (R > 5 && NC > 1) a51.Store(o5 + 16);
        if (R > 5 && NC > 2) a52.Store(o5 + 32);
        if (R > 5 && NC > 3) a53.Store(o5 + 48);
    }

    /// <summary>
    /// The fallback without AVX-512 (Vector512 not accelerated): R rows × one 16-float column as
    /// two Vector256 halves, 2R ≤ 12 ymm accumulators within AVX2's 16 registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel1x256<TR>(float* o, int os, float* x, int rs, int ks, float* y, int ys, int nk, bool accumulate)
        where TR : struct, IRowCount
    {
        int R = TR.Count;
        Vector256<float> l0 = default, l1 = default, l2 = default, l3 = default, l4 = default, l5 = default;
        Vector256<float> h0 = default, h1 = default, h2 = default, h3 = default, h4 = default, h5 = default;
        float* o1 = o + os, o2 = o1 + os, o3 = o2 + os, o4 = o3 + os, o5 = o4 + os;
        if (accumulate)
        {
            { l0 = Vector256.Load(o); h0 = Vector256.Load(o + 8); }
            if (R > 1) { l1 = Vector256.Load(o1); h1 = Vector256.Load(o1 + 8); }
            if (R > 2) { l2 = Vector256.Load(o2); h2 = Vector256.Load(o2 + 8); }
            if (R > 3) { l3 = Vector256.Load(o3); h3 = Vector256.Load(o3 + 8); }
            if (R > 4) { l4 = Vector256.Load(o4); h4 = Vector256.Load(o4 + 8); }
            if (R > 5) { l5 = Vector256.Load(o5); h5 = Vector256.Load(o5 + 8); }
        }
        float* x0 = x, x1 = x + rs, x2 = x1 + rs, x3 = x2 + rs, x4 = x3 + rs, x5 = x4 + rs;
        for (int k = 0; k < nk; k++)
        {
            Vector256<float> ylo = Vector256.Load(y), yhi = Vector256.Load(y + 8);
            y += ys;
            { Vector256<float> b = Vector256.Create(*x0); x0 += ks; l0 = Vector256.FusedMultiplyAdd(b, ylo, l0); h0 = Vector256.FusedMultiplyAdd(b, yhi, h0); }
            if (R > 1) { Vector256<float> b = Vector256.Create(*x1); x1 += ks; l1 = Vector256.FusedMultiplyAdd(b, ylo, l1); h1 = Vector256.FusedMultiplyAdd(b, yhi, h1); }
            if (R > 2) { Vector256<float> b = Vector256.Create(*x2); x2 += ks; l2 = Vector256.FusedMultiplyAdd(b, ylo, l2); h2 = Vector256.FusedMultiplyAdd(b, yhi, h2); }
            if (R > 3) { Vector256<float> b = Vector256.Create(*x3); x3 += ks; l3 = Vector256.FusedMultiplyAdd(b, ylo, l3); h3 = Vector256.FusedMultiplyAdd(b, yhi, h3); }
            if (R > 4) { Vector256<float> b = Vector256.Create(*x4); x4 += ks; l4 = Vector256.FusedMultiplyAdd(b, ylo, l4); h4 = Vector256.FusedMultiplyAdd(b, yhi, h4); }
            if (R > 5) { Vector256<float> b = Vector256.Create(*x5); x5 += ks; l5 = Vector256.FusedMultiplyAdd(b, ylo, l5); h5 = Vector256.FusedMultiplyAdd(b, yhi, h5); }
        }
        { l0.Store(o); h0.Store(o + 8); }
        if (R > 1) { l1.Store(o1); h1.Store(o1 + 8); }
        if (R > 2) { l2.Store(o2); h2.Store(o2 + 8); }
        if (R > 3) { l3.Store(o3); h3.Store(o3 + 8); }
        if (R > 4) { l4.Store(o4); h4.Store(o4 + 8); }
        if (R > 5) { l5.Store(o5); h5.Store(o5 + 8); }
    }

    /// <summary>
    /// dst[c·ds + r] = src[r·ss + c]·scale for a 16×16 block, rows r ≥ <paramref name="rows"/> read
    /// as zero: an in-register transpose (unpack pairs, unpack quads, then two rounds of 128-bit
    /// lane shuffles), about 5 instructions per 16 floats instead of 16 scalar moves. AVX-512 only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose16(float* dst, int ds, float* src, int ss, int rows, float scale)
    {
        Vector512<float> sc = Vector512.Create(scale);
        Vector512<float> r0 = Row(src, ss, 0, rows, sc), r1 = Row(src, ss, 1, rows, sc), r2 = Row(src, ss, 2, rows, sc), r3 = Row(src, ss, 3, rows, sc);
        Vector512<float> r4 = Row(src, ss, 4, rows, sc), r5 = Row(src, ss, 5, rows, sc), r6 = Row(src, ss, 6, rows, sc), r7 = Row(src, ss, 7, rows, sc);
        Vector512<float> r8 = Row(src, ss, 8, rows, sc), r9 = Row(src, ss, 9, rows, sc), r10 = Row(src, ss, 10, rows, sc), r11 = Row(src, ss, 11, rows, sc);
        Vector512<float> r12 = Row(src, ss, 12, rows, sc), r13 = Row(src, ss, 13, rows, sc), r14 = Row(src, ss, 14, rows, sc), r15 = Row(src, ss, 15, rows, sc);
        // Per 128-bit lane L, u[4g + c] holds column 4L + c of rows 4g..4g+3.
        Quad(r0, r1, r2, r3, out var u0, out var u1, out var u2, out var u3);
        Quad(r4, r5, r6, r7, out var u4, out var u5, out var u6, out var u7);
        Quad(r8, r9, r10, r11, out var u8, out var u9, out var u10, out var u11);
        Quad(r12, r13, r14, r15, out var u12, out var u13, out var u14, out var u15);
        // 0x88 takes lanes 0, 2 of each source and 0xDD lanes 1, 3: two rounds gather the four
        // row quads of one column into one register.
        Pair(dst, ds, 0, Avx512F.Shuffle4x128(u0, u4, 0x88), Avx512F.Shuffle4x128(u8, u12, 0x88), Avx512F.Shuffle4x128(u0, u4, 0xDD), Avx512F.Shuffle4x128(u8, u12, 0xDD));
        Pair(dst, ds, 1, Avx512F.Shuffle4x128(u1, u5, 0x88), Avx512F.Shuffle4x128(u9, u13, 0x88), Avx512F.Shuffle4x128(u1, u5, 0xDD), Avx512F.Shuffle4x128(u9, u13, 0xDD));
        Pair(dst, ds, 2, Avx512F.Shuffle4x128(u2, u6, 0x88), Avx512F.Shuffle4x128(u10, u14, 0x88), Avx512F.Shuffle4x128(u2, u6, 0xDD), Avx512F.Shuffle4x128(u10, u14, 0xDD));
        Pair(dst, ds, 3, Avx512F.Shuffle4x128(u3, u7, 0x88), Avx512F.Shuffle4x128(u11, u15, 0x88), Avx512F.Shuffle4x128(u3, u7, 0xDD), Avx512F.Shuffle4x128(u11, u15, 0xDD));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Row(float* src, int ss, int r, int rows, Vector512<float> scale)
        => r < rows ? Vector512.Load(src + (nint)r * ss) * scale : Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Quad(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d,
        out Vector512<float> c0, out Vector512<float> c1, out Vector512<float> c2, out Vector512<float> c3)
    {
        Vector512<double> t0 = Avx512F.UnpackLow(a, b).AsDouble(), t1 = Avx512F.UnpackHigh(a, b).AsDouble();
        Vector512<double> t2 = Avx512F.UnpackLow(c, d).AsDouble(), t3 = Avx512F.UnpackHigh(c, d).AsDouble();
        c0 = Avx512F.UnpackLow(t0, t2).AsSingle();
        c1 = Avx512F.UnpackHigh(t0, t2).AsSingle();
        c2 = Avx512F.UnpackLow(t1, t3).AsSingle();
        c3 = Avx512F.UnpackHigh(t1, t3).AsSingle();
    }

    /// <summary>From v = rows 0–7 and w = rows 8–15 of columns c, 8+c (first pair) and 4+c, 12+c (second), stores those four columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Pair(float* dst, int ds, int c, Vector512<float> v, Vector512<float> w, Vector512<float> v4, Vector512<float> w4)
    {
        Avx512F.Shuffle4x128(v, w, 0x88).Store(dst + (nint)c * ds);
        Avx512F.Shuffle4x128(v, w, 0xDD).Store(dst + (nint)(c + 8) * ds);
        Avx512F.Shuffle4x128(v4, w4, 0x88).Store(dst + (nint)(c + 4) * ds);
        Avx512F.Shuffle4x128(v4, w4, 0xDD).Store(dst + (nint)(c + 12) * ds);
    }

    /// <summary>
    /// 2^x for x ≤ 0 (−∞ included, giving exactly 0): 2^round(x) times a degree-6 Taylor
    /// polynomial for 2^f on f ∈ [−½, ½], whose truncation error (ln2·½)⁷/7! ≈ 1.2e-7 is about
    /// one float ulp. With AVX-512, vscalefps applies 2^n and underflows gracefully (inputs are
    /// clamped at −160, far enough below 2^-149 to round to 0); otherwise the exponent is added
    /// to the bits and results below 2^-126 flush to 0. Either way, far below anything a
    /// softmax probability contributes in fp32.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp2(Vector512<float> x)
    {
        x = Vector512.Max(x, Vector512.Create(-160f));
        Vector512<float> n = Vector512.Round(x);
        Vector512<float> f = x - n;
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(1.5403530393381606e-4f), f, Vector512.Create(1.3333558146428443e-3f));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(9.618129107628477e-3f));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(5.550410866482158e-2f));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(0.2402265069591007f));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(0.6931471805599453f));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512<float>.One);
        if (Avx512F.IsSupported) return Avx512F.Scale(p, n);
        Vector512<int> bits = p.AsInt32() + Vector512.ShiftLeft(Vector512.ConvertToInt32(Vector512.Max(n, Vector512.Create(-127f))), 23);
        return Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(-126f)), Vector512<float>.Zero, bits.AsSingle());
    }

    /// <summary>A row count known to the JIT, so one kernel body specialises to every row tail.</summary>
    private interface IRowCount { static abstract int Count { get; } }
    private readonly struct R1 : IRowCount { public static int Count => 1; }
    private readonly struct R2 : IRowCount { public static int Count => 2; }
    private readonly struct R3 : IRowCount { public static int Count => 3; }
    private readonly struct R4 : IRowCount { public static int Count => 4; }
    private readonly struct R5 : IRowCount { public static int Count => 5; }
    private readonly struct R6 : IRowCount { public static int Count => 6; }

    /// <summary>A column count (in vectors) known to the JIT, for the same reason.</summary>
    private interface IColumnCount { static abstract int Count { get; } }
    private readonly struct C1 : IColumnCount { public static int Count => 1; }
    private readonly struct C2 : IColumnCount { public static int Count => 2; }
    private readonly struct C3 : IColumnCount { public static int Count => 3; }
    private readonly struct C4 : IColumnCount { public static int Count => 4; }
}
