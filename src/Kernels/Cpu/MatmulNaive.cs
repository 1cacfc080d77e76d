namespace Hyper.Kernels.Cpu;

/// <summary>
/// Variant 0 of the matmul lab: the reference's scalar loops in float, parallel over rows (each
/// worker owns whole output rows, so sums keep their order). The baseline the others are timed against.
/// </summary>
internal static class MatmulNaive
{
    /// <summary>out[N,OC] = inp[N,C] · weight[OC,C]ᵀ + bias[OC].</summary>
    public static unsafe void Forward(Span<float> output, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, int N, int C, int OC)
    {
        fixed (float* po = output, px = input, pw = weight, pb = bias)
        {
            float* o = po, x = px, w = pw, b = bias.Length != 0 ? pb : null;
            CpuParallel.ForRange(N, 1, (n0, n1) =>
            {
                for (int n = n0; n < n1; n++)
                {
                    float* xr = x + (nint)n * C;
                    for (int j = 0; j < OC; j++)
                    {
                        float* wr = w + (nint)j * C;
                        float sum = b != null ? b[j] : 0f;
                        for (int c = 0; c < C; c++) sum += xr[c] * wr[c];
                        o[(nint)n * OC + j] = sum;
                    }
                }
            });
        }
    }

    /// <summary>dinp[N,C] += dout · weight (rows of dinp split over workers); dweight[OC,C] += doutᵀ · inp (rows of dweight split).</summary>
    public static unsafe void Backward(Span<float> dinp, Span<float> dweight, ReadOnlySpan<float> dout,
        ReadOnlySpan<float> input, ReadOnlySpan<float> weight, int N, int C, int OC)
    {
        fixed (float* pdx = dinp, pdw = dweight, pg = dout, px = input, pw = weight)
        {
            float* dx = pdx, dw = pdw, g = pg, x = px, w = pw;
            if (dinp.Length != 0)
            {
                CpuParallel.ForRange(N, 1, (n0, n1) =>
                {
                    for (int n = n0; n < n1; n++)
                        for (int j = 0; j < OC; j++)
                        {
                            float gj = g[(nint)n * OC + j];
                            float* wr = w + (nint)j * C;
                            float* dxr = dx + (nint)n * C;
                            for (int c = 0; c < C; c++) dxr[c] += gj * wr[c];
                        }
                });
            }
            CpuParallel.ForRange(OC, 1, (j0, j1) =>
            {
                for (int j = j0; j < j1; j++)
                {
                    float* dwr = dw + (nint)j * C;
                    for (int n = 0; n < N; n++)
                    {
                        float gj = g[(nint)n * OC + j];
                        float* xr = x + (nint)n * C;
                        for (int c = 0; c < C; c++) dwr[c] += gj * xr[c];
                    }
                }
            });
        }
    }
}
