namespace Hyper.Kernels.Ilgpu;

/// <summary>
/// The shape of out[M,N] (+)= A[M,K]·B[K,N] (+ bias[N]) with A and B addressed through strides,
/// so one kernel serves the forward (B = weightᵀ) and both backward products (A = doutᵀ for
/// dweight) without transposing anything in memory: A(i,k) = a[i·ARow + k·ACol],
/// B(k,j) = b[k·BRow + j·BCol]; out is row-major out[i·N + j].
/// </summary>
/// <param name="M">Rows of out.</param>
/// <param name="N">Columns of out.</param>
/// <param name="K">The summed dimension.</param>
/// <param name="ARow">Stride of A between rows i.</param>
/// <param name="ACol">Stride of A between columns k.</param>
/// <param name="BRow">Stride of B between rows k.</param>
/// <param name="BCol">Stride of B between columns j.</param>
/// <param name="Accumulate">1 to add to out (backward), 0 to overwrite it (forward).</param>
/// <param name="HasBias">1 to add bias[j] to every row.</param>
public readonly record struct GemmShape(int M, int N, int K, int ARow, int ACol, int BRow, int BCol, int Accumulate, int HasBias)
{
    /// <summary>out[N,OC] = inp[N,C]·weight[OC,C]ᵀ + bias: A = inp, B(c,o) = weight[o,c].</summary>
    public static GemmShape Forward(int N, int C, int OC, bool bias) => new(N, OC, C, C, 1, 1, C, 0, bias ? 1 : 0);

    /// <summary>dinp[N,C] += dout[N,OC]·weight[OC,C].</summary>
    public static GemmShape BackwardInput(int N, int C, int OC) => new(N, C, OC, OC, 1, C, 1, 1, 0);

    /// <summary>dweight[OC,C] += dout[N,OC]ᵀ·inp[N,C]: A(o,n) = dout[n,o].</summary>
    public static GemmShape BackwardWeight(int N, int C, int OC) => new(OC, C, N, 1, OC, C, 1, 1, 0);
}
