namespace Hyper.Runtime.Backends;

/// <summary>
/// A backend with more than one kernel for some ops (the kernel lab). Variants are numbered in the
/// order listed and named for what they do, with the same name on every backend: matmul's are
/// naive, tiled (shared-memory or cache tiles) and blocked (register-blocked tiles), attention's
/// naive and flash; a name ending in tf32 runs on TF32 tensor cores (cuda's tf32 and flash_tf32).
/// Every variant of an op computes the same function, so the lab checks each one against the
/// reference before timing it (a TF32 one to <see cref="Benchmarks.KernelLab.Tf32Tolerance"/>).
/// </summary>
public interface IKernelVariants
{
    /// <summary>The variants of <paramref name="op"/>, first is variant 0; empty when the op has one kernel.</summary>
    IReadOnlyList<string> VariantsOf(Op op);

    /// <summary>The variant the backend uses for <paramref name="op"/> now.</summary>
    string VariantOf(Op op);

    /// <summary>Makes the backend use the named variant for <paramref name="op"/> from now on.</summary>
    void UseVariant(Op op, string variant);
}
