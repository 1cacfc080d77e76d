using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// The Breadcrumbs magnitude mask: the CPU kernel (radix select, then a vector pass) against the
/// reference (a sort), bit-exact, on odd lengths, with tied magnitudes, zeros and NaN; the kept
/// counts on a tensor whose ranks are known.
/// </summary>
public class MagnitudeMaskTests
{
    private static IEnumerable<int> Lengths() => Enumerable.Range(0, 71).Append(1025).Append(100_003);

    // (top, bottom) fractions: none, the default-like band, bottom only, top only, a wide band, everything.
    private static readonly (double Top, double Bottom)[] Fractions = [(0, 0), (0.01, 0.09), (0, 0.5), (0.3, 0), (0.2, 0.7), (0.5, 0.5)];

    private static void Compare(float[] x, string what)
    {
        int n = x.Length;
        foreach (var (top, bottom) in Fractions)
        {
            var (dropTop, dropBottom) = Ref.MagnitudeMask.Counts(n, top, bottom);
            var expected = new float[n];
            var actual = Check.Random(n, 7); // stale contents: every element must be written
            int keptRef = Ref.MagnitudeMask.Forward<float>(expected, x, dropTop, dropBottom, n);
            int kept = Cpu.MagnitudeMask.Forward(actual, x, dropTop, dropBottom, n);
            string at = $"{what}, n {n}, top {top}, bottom {bottom}";
            Assert.That(kept, Is.EqualTo(keptRef), at);
            Assert.That(keptRef, Is.EqualTo(Math.Max(0, n - dropTop - dropBottom)), at);
            Assert.That(actual.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)), at);

            var inPlace = (float[])x.Clone();
            Cpu.MagnitudeMask.Forward(inPlace, inPlace, dropTop, dropBottom, n);
            Assert.That(inPlace.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)), "in place, " + at);
        }
    }

    [TestCaseSource(nameof(Lengths))]
    public void MatchesReferenceOnDistinctValues(int n) => Compare(Check.Random(n, n + 1), "random");

    [TestCaseSource(nameof(Lengths))]
    public void MatchesReferenceOnTiedMagnitudes(int n)
    {
        // Five magnitudes and both signs: every threshold falls inside a run of equal |x|.
        var rng = new Random(n);
        Compare(Enumerable.Range(0, n).Select(_ => (float)(rng.Next(-5, 6) * 0.25)).ToArray(), "ties");
    }

    [Test]
    public void MatchesReferenceOnZerosSubnormalsInfinitiesAndNaN()
    {
        float[] special = [0f, -0f, 1e-45f, -1e-45f, 1e-40f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, -float.NaN, 1f, -1f];
        var rng = new Random(5);
        Compare(Enumerable.Range(0, 1031).Select(_ => special[rng.Next(special.Length)]).ToArray(), "special");
        Compare(new float[777], "all zeros"); // an untouched tensor's task vector
    }

    [Test]
    public void KeepsTheBandOfRanksOnAKnownTensor()
    {
        // x[i] = ±(i + 1), shuffled: the ranks of |x| are known, so the kept set is exactly the
        // magnitudes (γN, N − βN].
        const int n = 1000;
        var x = Enumerable.Range(1, n).Select(v => v % 3 == 0 ? -(float)v : v).ToArray();
        new Random(3).Shuffle(x);
        foreach (var (beta, gamma, keptFraction) in new[] { (0.01, 0.09, 0.90), (0.1, 0.5, 0.40), (0.0, 0.85, 0.15), (0.25, 0.0, 0.75) })
        {
            var (dropTop, dropBottom) = Ref.MagnitudeMask.Counts(n, beta, gamma);
            var masked = new float[n];
            int kept = Cpu.MagnitudeMask.Forward(masked, x, dropTop, dropBottom, n);
            Assert.That(kept, Is.EqualTo((int)Math.Round(keptFraction * n)), $"beta {beta}, gamma {gamma}");
            Assert.That(masked.Count(v => v != 0), Is.EqualTo(kept));
            for (int i = 0; i < n; i++)
            {
                float m = Math.Abs(x[i]);
                bool inBand = m > gamma * n && m <= n - beta * n;
                Assert.That(masked[i], Is.EqualTo(inBand ? x[i] : 0f), $"|x| = {m}, beta {beta}, gamma {gamma}");
            }
        }
    }

    [Test]
    public void CountsRoundToTheNearestAndNeverExceedN()
    {
        Assert.That(Ref.MagnitudeMask.Counts(1000, 0.01, 0.09), Is.EqualTo((10, 90)));
        Assert.That(Ref.MagnitudeMask.Counts(100, 0.29, 0.0), Is.EqualTo((29, 0))); // 0.29·100 is 28.999999999999996
        Assert.That(Ref.MagnitudeMask.Counts(7, 0.6, 0.6), Is.EqualTo((4, 3)));
        Assert.That(Ref.MagnitudeMask.Counts(0, 0.5, 0.5), Is.EqualTo((0, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ref.MagnitudeMask.Counts(10, -0.1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ref.MagnitudeMask.Counts(10, 0, double.NaN));
    }
}
