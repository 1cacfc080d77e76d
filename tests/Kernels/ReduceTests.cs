using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>Sum of squares: accumulated in double, deterministic, CPU kernel against the reference.</summary>
public class ReduceTests
{
    // 0..70 crosses every vector tail (the 512-bit loop takes 32 floats a trip); 65_536 is exactly
    // one chunk, 65_537 two (the second of one float); 300_001 is five chunks over two threads.
    private static IEnumerable<int> Lengths() => Enumerable.Range(0, 71).Concat([1025, 65_536, 65_537, 300_001]);

    [TestCaseSource(nameof(Lengths))]
    public void CpuMatchesReference(int n)
    {
        float[] x = Check.Random(n, 1, 3f);
        double expected = Ref.Reduce.SumOfSquares<float>(x);
        double actual = Cpu.Reduce.SumOfSquares(x);
        // Both sum the exactly-representable squares of floats in double, in different orders:
        // the rounding errors of positive terms random-walk to ~√n·2⁻⁵³ ≈ 6e-14 relative at
        // n = 3e5 (worst case n·2⁻⁵³ ≈ 3e-11); 1e-11 is the bound. A float accumulator would be
        // off by ~1e-5.
        Assert.That(actual, Is.EqualTo(expected).Within(1e-11 * expected), $"n = {n}");
    }

    [Test]
    public void SmallExample() => Assert.That(Cpu.Reduce.SumOfSquares([3f, -4f]), Is.EqualTo(25.0));

    [Test]
    public void AccumulatesInDouble()
    {
        // A million 0.1f: a float running sum (~1e4) would drop the low bits of every 0.01 term,
        // an error of ~1e-4 relative. In double the serial reference's rounding errors all have
        // the same sign here, n·2⁻⁵³ ≈ 1e-10 relative at worst (5e-12 measured); the chunked
        // kernel's are smaller. 1e-9 separates the two accumulators by five orders.
        const int n = 1_000_003;
        var x = new float[n];
        Array.Fill(x, 0.1f);
        double exact = n * ((double)0.1f * 0.1f);
        Assert.That(Cpu.Reduce.SumOfSquares(x), Is.EqualTo(exact).Within(1e-9 * exact));
        Assert.That(Ref.Reduce.SumOfSquares<float>(x), Is.EqualTo(exact).Within(1e-9 * exact));
    }

    [Test]
    [NonParallelizable]
    public void SameBitsWithAnyThreadCount()
    {
        float[] x = Check.Random(300_001, 2);
        double twoThreads = RunWithThreads(2, x);
        Assert.That(RunWithThreads(1, x), Is.EqualTo(twoThreads));
        Assert.That(RunWithThreads(5, x), Is.EqualTo(twoThreads));
        Assert.That(RunWithThreads(2, x), Is.EqualTo(twoThreads));
    }

    private static double RunWithThreads(int threads, float[] x)
    {
        int saved = Cpu.CpuParallel.Threads;
        try
        {
            Cpu.CpuParallel.Threads = threads;
            return Cpu.Reduce.SumOfSquares(x);
        }
        finally
        {
            Cpu.CpuParallel.Threads = saved;
        }
    }
}
