namespace Hyper.Runtime.Benchmarks;

/// <summary>
/// One length of an attention benchmark: times (milliseconds, minimum over the timed runs) of
/// exact flash attention and of HyperAttention on the same inputs, and the error of
/// HyperAttention against exact.
/// <para>
/// RelError = ‖Õ − O‖_F / ‖O‖_F over all heads. SpectralError = max over heads of
/// ‖Õ − O‖₂ / ‖V‖₂ (spectral norms of the [n, hs] matrices, from their hs×hs Gram matrices by
/// power iteration): an upper bound on the paper's measure ‖Õ − O‖₂ / (‖D⁻¹A‖₂·‖V‖₂), because
/// a row-stochastic D⁻¹A has spectral norm at least 1 (it maps the all-ones vector to itself).
/// </para>
/// </summary>
/// <param name="N">Sequence length.</param>
/// <param name="Causal">Causal mask.</param>
/// <param name="Heads">Heads.</param>
/// <param name="HeadSize">Head size.</param>
/// <param name="ExactMs">Exact (flash) forward.</param>
/// <param name="HyperMs">HyperAttention forward (the plan is built beforehand, not timed).</param>
/// <param name="RelError">Relative Frobenius error of the output.</param>
/// <param name="SpectralError">Spectral-norm error of the output over ‖V‖₂.</param>
/// <param name="ExactForwardBackwardMs">Exact forward + backward (with --backward), else null.</param>
/// <param name="HyperForwardBackwardMs">HyperAttention forward + backward, else null.</param>
/// <param name="RelErrorDq">Relative Frobenius error of dQ, else null.</param>
/// <param name="RelErrorDk">Of dK.</param>
/// <param name="RelErrorDv">Of dV.</param>
public sealed record AttentionBenchmarkResult(
    int N, bool Causal, int Heads, int HeadSize, double ExactMs, double HyperMs, double RelError, double SpectralError,
    double? ExactForwardBackwardMs, double? HyperForwardBackwardMs, double? RelErrorDq, double? RelErrorDk, double? RelErrorDv)
{
    /// <summary>ExactMs / HyperMs.</summary>
    public double Speedup => ExactMs / HyperMs;

    /// <summary>Forward + backward speedup, with --backward.</summary>
    public double? SpeedupForwardBackward => ExactForwardBackwardMs / HyperForwardBackwardMs;
}
