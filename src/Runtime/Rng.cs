namespace Hyper.Runtime;

/// <summary>
/// A small seeded generator (SplitMix64) with our own normal sampler, so weights and data order
/// depend only on the seed — not on the .NET version's System.Random internals.
/// </summary>
public sealed class Rng
{
    private ulong _state;
    private double? _spareNormal;

    /// <summary>Starts the stream at a seed.</summary>
    public Rng(ulong seed) => _state = seed;

    /// <summary>The generator's full state, for checkpoints.</summary>
    public ulong State
    {
        get => _state;
        set { _state = value; _spareNormal = null; }
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64() => Hyper.Kernels.Reference.SplitMix64.Step(ref _state);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        return (int)(NextDouble() * n);
    }

    /// <summary>Standard normal (Box-Muller, both values used).</summary>
    public double NextNormal()
    {
        if (_spareNormal is double spare)
        {
            _spareNormal = null;
            return spare;
        }
        double u1 = 1.0 - NextDouble(); // (0, 1]: log stays finite
        double u2 = NextDouble();
        double r = Math.Sqrt(-2.0 * Math.Log(u1));
        _spareNormal = r * Math.Sin(2 * Math.PI * u2);
        return r * Math.Cos(2 * Math.PI * u2);
    }
}
