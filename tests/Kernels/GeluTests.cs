using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// GELU (tanh form): the CPU kernel (exp-based, x·σ(2u)) against the reference in float and
/// against the exact function in double, in place, accumulating; the reference backward by
/// finite differences.
/// </summary>
public class GeluTests
{
    // 0..70 crosses every Vector512/256 tail; 1025 is 64 vectors plus one; 100_003 runs on two threads.
    private static IEnumerable<int> Lengths() => Enumerable.Range(0, 71).Append(1025).Append(100_003);

    // Against the float reference, normalised by max|expected| (inputs up to ±6, so gelu up to 6
    // and gelu' up to ~1.13): the reference rounds ½x(1 + tanh u) where the kernel rounds
    // x/(1 + e^(−2u)), both within a few ulp of the largest value — measured 8e-8 forward and
    // 5e-7 backward (where the reference's 1 − tanh²u cancels). 2e-6 is the bound; a wrong
    // constant or a lost tail moves entries by 1e-3 or more.
    private const double Rtol = 2e-6;

    [TestCaseSource(nameof(Lengths))]
    public void ForwardMatchesReference(int n)
    {
        float[] x = Inputs(n, 1);
        var expected = new float[n];
        var actual = new float[n];
        Ref.Gelu.Forward<float>(expected, x, n);
        Cpu.Gelu.Forward(actual, x, n);
        Check.Close("out", actual, expected, Rtol);

        // In place gives the same bits as out of place.
        float[] inPlace = (float[])x.Clone();
        Cpu.Gelu.Forward(inPlace, inPlace, n);
        Check.Close("out in place", inPlace, actual, rtol: 0, atol: 0);
    }

    [TestCaseSource(nameof(Lengths))]
    public void BackwardAccumulatesLikeReference(int n)
    {
        float[] x = Inputs(n, 2), dout = Check.Random(n, 3);
        float[] dinp0 = Check.Random(n, 4);
        float[] expected = (float[])dinp0.Clone(), actual = (float[])dinp0.Clone();
        Ref.Gelu.Backward<float>(expected, x, dout, n);
        Cpu.Gelu.Backward(actual, x, dout, n);
        Check.Close("dinp", actual, expected, Rtol);
    }

    [Test]
    public void CpuIsAccurateElementwise()
    {
        // Every element against the exact function in double, relative to the element itself.
        // The kernel rounds z = −2u in float (a few ulp), and e^z turns that into a relative
        // error of ~|z|·2⁻²⁴ — the conditioning of the function in float, whatever the exp — on
        // top of ~1 ulp from the exp and the divide. Measured: ≤ 1.4e-7·(1 + |z|), so ≤ 7e-7 for
        // x ≥ −3 (|z| ≤ 7) and ~1e-5 at x = −9.5 (|z| = 77, gelu ≈ −7e-33); 3e-7·(1 + |z|) is
        // the bound. (The float reference, through 1 + tanh u, is off by up to 5% out there.)
        // The gradient crosses zero (at x ≈ −0.75), so it is held to 5e-7 of max(1, |gelu'|)
        // (measured 1.6e-7). Inputs stop at −9.5, just before the kernel flushes gelu to zero.
        const int n = 20_000;
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = -9.5f + 19f * i / (n - 1);
        var y = new float[n];
        var grad = new float[n];
        Cpu.Gelu.Forward(y, x, n);
        Cpu.Gelu.Backward(grad, x, Enumerable.Repeat(1f, x.Length).ToArray(), n);
        for (int i = 0; i < n; i++)
        {
            (double exact, double exactGrad, double z) = Exact(x[i]);
            Assert.That(y[i], Is.EqualTo(exact).Within(3e-7 * (1 + Math.Abs(z)) * Math.Abs(exact)), $"gelu({x[i]})");
            Assert.That(grad[i], Is.EqualTo(exactGrad).Within(5e-7 * Math.Max(1, Math.Abs(exactGrad))), $"gelu'({x[i]})");
        }
    }

    // gelu and gelu' in double through ½(1 + tanh u) = σ(2u) = 1/(1 + e^(−2u)) and
    // 1 − σ(2u) = σ(−2u): no cancellation, so accurate to ~1e-16 relative even where the
    // reference's 1 + tanh u (x ≲ −5) loses every digit.
    private static (double Value, double Grad, double Z) Exact(double x)
    {
        double k = Math.Sqrt(2 / Math.PI), u = k * (x + 0.044715 * x * x * x);
        double s = 1 / (1 + Math.Exp(-2 * u)), oneMinusS = 1 / (1 + Math.Exp(2 * u));
        return (x * s, s + 2 * x * s * oneMinusS * k * (1 + 3 * 0.044715 * x * x), -2 * u);
    }

    [Test]
    public void ExtremesAndNaN()
    {
        // Signed zeros, saturated tails (where x³ overflows for ±1e20) and NaN, repeated five
        // times (45 values) so that each goes through the vector loop and the scalar tail.
        float[] special = [0f, -0f, 30f, -30f, 100f, -100f, 1e20f, -1e20f, float.NaN];
        float[] value = [0f, 0f, 30f, 0f, 100f, 0f, 1e20f, 0f, float.NaN];
        float[] slope = [0.5f, 0.5f, 1f, 0f, 1f, 0f, 1f, 0f, float.NaN];
        int n = 5 * special.Length;
        float[] x = Enumerable.Range(0, n).Select(i => special[i % special.Length]).ToArray();
        var y = new float[n];
        var grad = new float[n];
        Cpu.Gelu.Forward(y, x, n);
        Cpu.Gelu.Backward(grad, x, Enumerable.Repeat(1f, n).ToArray(), n);
        for (int i = 0; i < n; i++)
        {
            Assert.That(y[i], Is.EqualTo(value[i % special.Length]), $"gelu({x[i]}) at {i}");
            Assert.That(grad[i], Is.EqualTo(slope[i % special.Length]), $"gelu'({x[i]}) at {i}");
        }
    }

    [Test]
    public void ReferenceBackwardMatchesFiniteDifferences()
    {
        const int n = 41;
        double[] x = Check.RandomDouble(n, 5, 4), w = Check.RandomDouble(n, 6);
        var output = new double[n];
        double Loss()
        {
            Ref.Gelu.Forward<double>(output, x, n);
            return GradCheck.Dot(output, w);
        }
        var dinp = new double[n];
        Ref.Gelu.Backward<double>(dinp, x, w, n);
        GradCheck.Check("dinp", x, dinp, Loss);
    }

    // Uniform in [−6, 6): both tails of the curve and the region around its minimum near −0.75.
    private static float[] Inputs(int n, int seed) => Check.Random(n, seed, 6f);
}
