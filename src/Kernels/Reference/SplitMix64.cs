namespace Hyper.Kernels.Reference;

/// <summary>
/// SplitMix64 with a Box-Muller normal sampler: the kernels' own seeded generator (Kernels cannot
/// reference Runtime's Rng), so a plan's hyperplanes and samples depend on the seed only.
/// <see cref="Step"/> is the one copy of the mixing function; Runtime's Rng calls it too.
/// </summary>
public struct SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>Advances <paramref name="state"/> and returns the next 64 random bits.</summary>
    public static ulong Step(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64() => Step(ref _state);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n), n ≥ 1.</summary>
    public int NextInt(int n) => (int)(NextDouble() * n);

    /// <summary>Standard normal (Box-Muller, one value per call: simplicity over speed, plans are small).</summary>
    public double NextNormal()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]: log stays finite
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
