using System.Runtime.Intrinsics;

namespace Hyper.Kernels.Cpu;

/// <summary>
/// Variant 1 of the matmul lab: cache blocking plus 4×4 register blocking with Vector512 FMAs,
/// but the operands are read where they lie (no packing). The step between the naive loops and
/// <see cref="Gemm"/>: it shows what vectors and register reuse buy before packing does the rest.
/// Without hardware Vector512 it runs the naive loops.
/// </summary>
internal static unsafe class MatmulTiled
{
    /// <summary>Weight rows per cache block: 64 rows of C floats stay in L2 while every input row passes them.</summary>
    private const int WeightBlock = 64;

    /// <summary>K block of the backward: 256 rows of a 64-column strip of B (64 KiB) stay in L2.</summary>
    private const int KBlock = 256;

    /// <summary>
    /// out[N,OC] = inp · weightᵀ + bias as dot products of rows: both operands are k-contiguous, so a
    /// 4×4 block of outputs is 16 vector accumulators along k, reduced horizontally at the end.
    /// </summary>
    public static void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, int N, int C, int OC)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            MatmulNaive.Forward(output, input, weight, bias, N, C, OC);
            return;
        }
        fixed (float* po = output, px = input, pw = weight, pb = bias)
        {
            float* o = po, x = px, w = pw, b = bias.Length != 0 ? pb : null;
            int rowBlocks = (N + 3) / 4;
            CpuParallel.ForRange(rowBlocks, 1, (rb0, rb1) =>
            {
                float* sums = stackalloc float[16];
                for (int j0 = 0; j0 < OC; j0 += WeightBlock)
                {
                    int j1 = Math.Min(OC, j0 + WeightBlock);
                    for (int n = rb0 * 4; n < Math.Min(N, rb1 * 4); n += 4)
                    {
                        int rows = Math.Min(4, N - n);
                        int j = j0;
                        if (rows == 4)
                        {
                            for (; j + 4 <= j1; j += 4)
                            {
                                Dot4x4(x + (nint)n * C, w + (nint)j * C, C, sums);
                                for (int r = 0; r < 4; r++)
                                    for (int q = 0; q < 4; q++)
                                        o[(nint)(n + r) * OC + j + q] = sums[r * 4 + q] + (b != null ? b[j + q] : 0f);
                            }
                        }
                        for (int r = 0; r < rows; r++)
                            for (int jj = j; jj < j1; jj++)
                                o[(nint)(n + r) * OC + jj] = Dot(x + (nint)(n + r) * C, w + (nint)jj * C, C) + (b != null ? b[jj] : 0f);
                    }
                }
            });
        }
    }

    /// <summary>
    /// dinp += dout · weight and dweight += doutᵀ · inp, both as C[i,:] += Σ_k A(i,k) · B[k,:] with B
    /// read row by row in place and A(i,k) broadcast through strides (so doutᵀ costs nothing).
    /// </summary>
    public static void Backward(Span<float> dinp, Span<float> dweight, ReadOnlySpan<float> dout,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int N, int C, int OC)
    {
        if (!Vector512.IsHardwareAccelerated)
        {
            MatmulNaive.Backward(dinp, dweight, dout, input, weight, N, C, OC);
            return;
        }
        fixed (float* pdx = dinp, pdw = dweight, pg = dout, px = input, pw = weight)
        {
            // dinp[N,C] += dout[N,OC] · weight[OC,C]: A(n,o) = dout[n·OC + o].
            if (dinp.Length != 0) AxpyGemm(pdx, C, pg, OC, 1, pw, C, N, C, OC);
            // dweight[OC,C] += doutᵀ · inp[N,C]: A(o,n) = dout[n·OC + o].
            AxpyGemm(pdw, C, pg, 1, OC, px, C, OC, C, N);
        }
    }

    /// <summary>16 dot products of 4 rows of x with 4 rows of w (both with row stride and length C).</summary>
    private static void Dot4x4(float* x, float* w, int C, float* sums)
    {
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default;
        Vector512<float> s10 = default, s11 = default, s12 = default, s13 = default;
        Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default;
        Vector512<float> s30 = default, s31 = default, s32 = default, s33 = default;
        int c = 0;
        for (; c + 16 <= C; c += 16)
        {
            Vector512<float> w0 = Vector512.Load(w + c), w1 = Vector512.Load(w + C + c);
            Vector512<float> w2 = Vector512.Load(w + 2 * C + c), w3 = Vector512.Load(w + 3 * C + c);
            Vector512<float> x0 = Vector512.Load(x + c);
            s00 = Vector512.FusedMultiplyAdd(x0, w0, s00); s01 = Vector512.FusedMultiplyAdd(x0, w1, s01);
            s02 = Vector512.FusedMultiplyAdd(x0, w2, s02); s03 = Vector512.FusedMultiplyAdd(x0, w3, s03);
            Vector512<float> x1 = Vector512.Load(x + C + c);
            s10 = Vector512.FusedMultiplyAdd(x1, w0, s10); s11 = Vector512.FusedMultiplyAdd(x1, w1, s11);
            s12 = Vector512.FusedMultiplyAdd(x1, w2, s12); s13 = Vector512.FusedMultiplyAdd(x1, w3, s13);
            Vector512<float> x2 = Vector512.Load(x + 2 * C + c);
            s20 = Vector512.FusedMultiplyAdd(x2, w0, s20); s21 = Vector512.FusedMultiplyAdd(x2, w1, s21);
            s22 = Vector512.FusedMultiplyAdd(x2, w2, s22); s23 = Vector512.FusedMultiplyAdd(x2, w3, s23);
            Vector512<float> x3 = Vector512.Load(x + 3 * C + c);
            s30 = Vector512.FusedMultiplyAdd(x3, w0, s30); s31 = Vector512.FusedMultiplyAdd(x3, w1, s31);
            s32 = Vector512.FusedMultiplyAdd(x3, w2, s32); s33 = Vector512.FusedMultiplyAdd(x3, w3, s33);
        }
        sums[0] = Vector512.Sum(s00); sums[1] = Vector512.Sum(s01); sums[2] = Vector512.Sum(s02); sums[3] = Vector512.Sum(s03);
        sums[4] = Vector512.Sum(s10); sums[5] = Vector512.Sum(s11); sums[6] = Vector512.Sum(s12); sums[7] = Vector512.Sum(s13);
        sums[8] = Vector512.Sum(s20); sums[9] = Vector512.Sum(s21); sums[10] = Vector512.Sum(s22); sums[11] = Vector512.Sum(s23);
        sums[12] = Vector512.Sum(s30); sums[13] = Vector512.Sum(s31); sums[14] = Vector512.Sum(s32); sums[15] = Vector512.Sum(s33);
        for (; c < C; c++)
            for (int r = 0; r < 4; r++)
                for (int q = 0; q < 4; q++)
                    sums[r * 4 + q] += x[r * C + c] * w[q * C + c];
    }

    private static float Dot(float* x, float* w, int C)
    {
        Vector512<float> s = default;
        int c = 0;
        for (; c + 16 <= C; c += 16) s = Vector512.FusedMultiplyAdd(Vector512.Load(x + c), Vector512.Load(w + c), s);
        float sum = Vector512.Sum(s);
        for (; c < C; c++) sum += x[c] * w[c];
        return sum;
    }

    /// <summary>
    /// Cm[M,Nc] += A · B[K,Nc] with A(i,k) = a[i·aRow + k·aCol] and B row-major (stride ldb). Rows go
    /// four at a time against 64-column strips (16 accumulators), K in blocks of <see cref="KBlock"/>;
    /// workers own blocks of four rows.
    /// </summary>
    private static void AxpyGemm(float* cm, int ldc, float* a, int aRow, int aCol, float* b, int ldb, int M, int Nc, int K)
    {
        CpuParallel.ForRange((M + 3) / 4, 1, (rb0, rb1) =>
        {
            for (int k0 = 0; k0 < K; k0 += KBlock)
            {
                int k1 = Math.Min(K, k0 + KBlock);
                for (int j = 0; j < Nc; j += 64)
                {
                    int cols = Math.Min(64, Nc - j);
                    for (int i = rb0 * 4; i < Math.Min(M, rb1 * 4); i += 4)
                    {
                        int rows = Math.Min(4, M - i);
                        if (rows == 4 && cols == 64) Axpy4x64(cm + (nint)i * ldc + j, ldc, a + (nint)i * aRow, aRow, aCol, b + j, ldb, k0, k1);
                        else
                            for (int r = 0; r < rows; r++)
                                AxpyRow(cm + (nint)(i + r) * ldc + j, a + (nint)(i + r) * aRow, aCol, b + j, ldb, k0, k1, cols);
                    }
                }
            }
        });
    }

    private static void Axpy4x64(float* c, int ldc, float* a, int aRow, int aCol, float* b, int ldb, int k0, int k1)
    {
        Vector512<float> c00 = Vector512.Load(c), c01 = Vector512.Load(c + 16), c02 = Vector512.Load(c + 32), c03 = Vector512.Load(c + 48);
        Vector512<float> c10 = Vector512.Load(c + ldc), c11 = Vector512.Load(c + ldc + 16), c12 = Vector512.Load(c + ldc + 32), c13 = Vector512.Load(c + ldc + 48);
        float* c2 = c + 2 * ldc, c3 = c + 3 * ldc;
        Vector512<float> c20 = Vector512.Load(c2), c21 = Vector512.Load(c2 + 16), c22 = Vector512.Load(c2 + 32), c23 = Vector512.Load(c2 + 48);
        Vector512<float> c30 = Vector512.Load(c3), c31 = Vector512.Load(c3 + 16), c32 = Vector512.Load(c3 + 32), c33 = Vector512.Load(c3 + 48);
        for (int k = k0; k < k1; k++)
        {
            float* br = b + (nint)k * ldb;
            Vector512<float> b0 = Vector512.Load(br), b1 = Vector512.Load(br + 16), b2 = Vector512.Load(br + 32), b3 = Vector512.Load(br + 48);
            float* ak = a + (nint)k * aCol;
            Vector512<float> a0 = Vector512.Create(ak[0]);
            c00 = Vector512.FusedMultiplyAdd(a0, b0, c00); c01 = Vector512.FusedMultiplyAdd(a0, b1, c01);
            c02 = Vector512.FusedMultiplyAdd(a0, b2, c02); c03 = Vector512.FusedMultiplyAdd(a0, b3, c03);
            Vector512<float> a1 = Vector512.Create(ak[aRow]);
            c10 = Vector512.FusedMultiplyAdd(a1, b0, c10); c11 = Vector512.FusedMultiplyAdd(a1, b1, c11);
            c12 = Vector512.FusedMultiplyAdd(a1, b2, c12); c13 = Vector512.FusedMultiplyAdd(a1, b3, c13);
            Vector512<float> a2 = Vector512.Create(ak[2 * aRow]);
            c20 = Vector512.FusedMultiplyAdd(a2, b0, c20); c21 = Vector512.FusedMultiplyAdd(a2, b1, c21);
            c22 = Vector512.FusedMultiplyAdd(a2, b2, c22); c23 = Vector512.FusedMultiplyAdd(a2, b3, c23);
            Vector512<float> a3 = Vector512.Create(ak[3 * aRow]);
            c30 = Vector512.FusedMultiplyAdd(a3, b0, c30); c31 = Vector512.FusedMultiplyAdd(a3, b1, c31);
            c32 = Vector512.FusedMultiplyAdd(a3, b2, c32); c33 = Vector512.FusedMultiplyAdd(a3, b3, c33);
        }
        Vector512.Store(c00, c); Vector512.Store(c01, c + 16); Vector512.Store(c02, c + 32); Vector512.Store(c03, c + 48);
        Vector512.Store(c10, c + ldc); Vector512.Store(c11, c + ldc + 16); Vector512.Store(c12, c + ldc + 32); Vector512.Store(c13, c + ldc + 48);
        Vector512.Store(c20, c2); Vector512.Store(c21, c2 + 16); Vector512.Store(c22, c2 + 32); Vector512.Store(c23, c2 + 48);
        Vector512.Store(c30, c3); Vector512.Store(c31, c3 + 16); Vector512.Store(c32, c3 + 32); Vector512.Store(c33, c3 + 48);
    }

    /// <summary>One row against up to 64 columns: whole vectors, then a scalar tail.</summary>
    private static void AxpyRow(float* c, float* a, int aCol, float* b, int ldb, int k0, int k1, int cols)
    {
        int j = 0;
        for (; j + 16 <= cols; j += 16)
        {
            Vector512<float> acc = Vector512.Load(c + j);
            for (int k = k0; k < k1; k++)
                acc = Vector512.FusedMultiplyAdd(Vector512.Create(a[(nint)k * aCol]), Vector512.Load(b + (nint)k * ldb + j), acc);
            Vector512.Store(acc, c + j);
        }
        for (; j < cols; j++)
        {
            float acc = c[j];
            for (int k = k0; k < k1; k++) acc += a[(nint)k * aCol] * b[(nint)k * ldb + j];
            c[j] = acc;
        }
    }
}
