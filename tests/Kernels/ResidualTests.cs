using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// Residual add: the CPU kernel against the reference (bit-exact: one rounded add per element in
/// both), in place, accumulating; the reference backward by finite differences.
/// </summary>
public class ResidualTests
{
    // 0..70 crosses every Vector512/256/128 tail; 1025 is 64 vectors plus one; 100_003 is split over
    // two threads (and leaves an odd tail in each).
    private static IEnumerable<int> Lengths() => Enumerable.Range(0, 71).Append(1025).Append(100_003);

    [TestCaseSource(nameof(Lengths))]
    public void ForwardMatchesReferenceExactly(int n)
    {
        float[] a = Check.Random(n, 1), b = Check.Random(n, 2);
        var expected = new float[n];
        var actual = new float[n];
        Ref.Residual.Forward<float>(expected, a, b, n);
        Cpu.Residual.Forward(actual, a, b, n);
        Check.Close("out", actual, expected, rtol: 0, atol: 0);

        // In place on either input.
        float[] aliasA = (float[])a.Clone(), aliasB = (float[])b.Clone();
        Cpu.Residual.Forward(aliasA, aliasA, b, n);
        Cpu.Residual.Forward(aliasB, a, aliasB, n);
        Check.Close("out aliasing a", aliasA, expected, rtol: 0, atol: 0);
        Check.Close("out aliasing b", aliasB, expected, rtol: 0, atol: 0);
    }

    [TestCaseSource(nameof(Lengths))]
    public void BackwardAccumulatesLikeReference(int n)
    {
        float[] dout = Check.Random(n, 3);
        float[] da0 = Check.Random(n, 4), db0 = Check.Random(n, 5);
        float[] daRef = (float[])da0.Clone(), dbRef = (float[])db0.Clone();
        float[] da = (float[])da0.Clone(), db = (float[])db0.Clone();
        Ref.Residual.Backward<float>(daRef, dbRef, dout, n);
        Cpu.Residual.Backward(da, db, dout, n);
        // Bit-exact: one rounded add per element, on top of the pre-filled gradient.
        Check.Close("da", da, daRef, rtol: 0, atol: 0);
        Check.Close("db", db, dbRef, rtol: 0, atol: 0);
        for (int i = 0; i < n; i++)
            Assert.That(daRef[i], Is.EqualTo(da0[i] + dout[i]), "reference da accumulates");
    }

    [Test]
    public void ReferenceBackwardMatchesFiniteDifferences()
    {
        const int n = 37;
        double[] a = Check.RandomDouble(n, 6), b = Check.RandomDouble(n, 7), w = Check.RandomDouble(n, 8);
        var output = new double[n];
        double Loss()
        {
            Ref.Residual.Forward<double>(output, a, b, n);
            return GradCheck.Dot(output, w);
        }
        var da = new double[n];
        var db = new double[n];
        Ref.Residual.Backward<double>(da, db, w, n);
        GradCheck.Check("da", a, da, Loss);
        GradCheck.Check("db", b, db, Loss);
    }
}
