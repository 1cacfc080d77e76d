namespace Hyper.Kernels.Cpu;

/// <summary>
/// The matmul kernel lab (llm.c's dev/cuda style): numbered variants of one op, each checked
/// against <see cref="Reference.Matmul"/> and benchmarked side by side; the winner is the default.
/// </summary>
public enum MatmulVariant
{
    /// <summary>Scalar triple loop, parallel over rows: the baseline.</summary>
    Naive = 0,

    /// <summary>Cache-blocked and register-blocked with Vector512 FMAs, reading the operands in place (no packing).</summary>
    Tiled = 1,

    /// <summary>
    /// The register-blocked kernel, as on every backend: here the GotoBLAS-style SGEMM of
    /// <see cref="Gemm"/> (operands packed into panels for a 14×32 register tile). The fast one, and the default.
    /// </summary>
    Blocked = 2,
}
