using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// AdamW: both kernels against a hand-computed two-step example, the CPU kernel against the
/// reference over several steps on every vector tail.
/// </summary>
public class AdamWTests
{
    private const float Lr = 0.1f, Beta1 = 0.9f, Beta2 = 0.999f, Eps = 1e-8f, WeightDecay = 0.01f, GradScale = 0.5f;

    // p = [1, −2, 0.5]; raw gradients [0.4, −0.2, 0] then [0.2, 0.6, −1], scaled by 0.5.
    // Step 1: p ← 0.999p (decay lr·wd = 1e-3), m̂ = g and v̂ = g², so the step is lr·g/(|g| + eps)
    // = ±0.1·(1 − 5e-8/|g|) or 0: p = [0.999 − 0.099999995, −1.998 + 0.09999999, 0.4995].
    // Step 2 (bias corrections 1 − 0.9² = 0.19 and 1 − 0.999² = 0.001999), e.g. for p₀:
    // g = 0.1, m = 0.9·0.02 + 0.1·0.1 = 0.028, v = 0.999·4e-5 + 0.001·0.01 = 4.996e-5,
    // p = 0.999·0.899000005 − 0.1·(0.028/0.19)/(√(4.996e-5/0.001999) + 1e-8).
    // Values below from the same formulas in double (Python floats, as PyTorch), hyperparameters
    // lr 0.1, β 0.9/0.999, eps 1e-8, weight decay 0.01, gradient scale 0.5.
    private static readonly double[] P1 = [0.8990000049999998, -1.898000009999999, 0.4995];
    private static readonly double[] P2 = [0.8048830470103658, -1.9455209911100655, 0.5734141802524878];
    private static readonly double[] M2 = [0.028, 0.021, -0.05];
    private static readonly double[] V2 = [4.996e-5, 9.999e-5, 2.5e-4];
    private static readonly double[][] Grads = [[0.4, -0.2, 0.0], [0.2, 0.6, -1.0]];

    [Test]
    public void ReferenceMatchesHandComputedSteps()
    {
        // In double with the hyperparameters as double literals: the same arithmetic as the
        // Python that produced the expected values, so agreement is to rounding (~1e-16).
        double[] p = [1, -2, 0.5], m = new double[3], v = new double[3];
        Ref.AdamW.Update<double>(p, m, v, Grads[0], 0.1, 0.9, 0.999, 1e-8, 0.01, 1, 0.5);
        Assert.That(p, Is.EqualTo(P1).Within(1e-14), "step 1");
        Ref.AdamW.Update<double>(p, m, v, Grads[1], 0.1, 0.9, 0.999, 1e-8, 0.01, 2, 0.5);
        Assert.That(p, Is.EqualTo(P2).Within(1e-14), "step 2 p");
        Assert.That(m, Is.EqualTo(M2).Within(1e-15), "step 2 m");
        Assert.That(v, Is.EqualTo(V2).Within(1e-18), "step 2 v");
    }

    [Test]
    public void CpuMatchesHandComputedSteps()
    {
        // Padded to 35 so the three values go through the vector loop; copies at 32..34 go
        // through the scalar tail.
        const int n = 35;
        var p = new float[n];
        var m = new float[n];
        var v = new float[n];
        var g = new float[n];
        float[] p0 = [1f, -2f, 0.5f];
        for (int i = 0; i < 3; i++) p[i] = p[32 + i] = p0[i];
        for (int step = 1; step <= 2; step++)
        {
            for (int i = 0; i < 3; i++) g[i] = g[32 + i] = (float)Grads[step - 1][i];
            Cpu.AdamW.Update(p, m, v, g, Lr, Beta1, Beta2, Eps, WeightDecay, step, GradScale);
            if (step == 1) AssertFirstThree(p, P1, 0, 1e-6, "step 1");
        }
        // Float hyperparameters are not the decimal ones: 1 − 0.9f is 2.4e-7 and 1 − 0.999f
        // (= 0.00099998713) 1.3e-5 relative off 0.1 and 0.001, which shows in m and v at that
        // relative size (and cancels in p, where the bias corrections carry the same factors).
        // p: a few ulp of values ≤ 2, 1e-6 absolute.
        AssertFirstThree(p, P2, 0, 1e-6, "step 2 p");
        AssertFirstThree(m, M2, 1e-6, 0, "step 2 m");
        AssertFirstThree(v, V2, 3e-5, 0, "step 2 v");
        for (int i = 3; i < 32; i++) Assert.That(p[i], Is.EqualTo(0f), "zero parameter, zero gradient stays zero");
    }

    private static void AssertFirstThree(float[] actual, double[] expected, double rtol, double atol, string what)
    {
        for (int i = 0; i < 3; i++)
        {
            double tolerance = atol + rtol * Math.Abs(expected[i]);
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(tolerance), $"{what} [{i}] (vector loop)");
            Assert.That(actual[32 + i], Is.EqualTo(expected[i]).Within(tolerance), $"{what} [{i}] (scalar tail)");
        }
    }

    // 0..70 crosses every vector tail; 1025 is 64 vectors plus one; 100_003 runs on two threads.
    private static IEnumerable<int> Lengths() => Enumerable.Range(0, 71).Append(1025).Append(100_003);

    [TestCaseSource(nameof(Lengths))]
    public void CpuMatchesReference(int n)
    {
        float[] pRef = Check.Random(n, 1), mRef = new float[n], vRef = new float[n];
        float[] p = (float[])pRef.Clone(), m = new float[n], v = new float[n];
        for (int step = 1; step <= 3; step++)
        {
            float[] g = Check.Random(n, 10 + step, 2f);
            Ref.AdamW.Update<float>(pRef, mRef, vRef, g, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, step, 0.7f);
            Cpu.AdamW.Update(p, m, v, g, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, step, 0.7f);
        }
        // The kernel's FMAs round once where the reference rounds twice: differences of an ulp or
        // two in m and v, and in p of an ulp of p plus an ulp of each ~1e-3 update. Normalised by
        // the largest entry, 1e-6 bounds all three; a wrong term (a missing bias correction,
        // decay applied after the step) moves p by ≥ 1e-4.
        Check.Close("p", p, pRef, 1e-6);
        Check.Close("m", m, mRef, 1e-6);
        Check.Close("v", v, vRef, 1e-6);
    }

    [Test]
    public void StepCountsFromOne()
    {
        var x = new float[4];
        Assert.Throws<ArgumentOutOfRangeException>(() => Ref.AdamW.Update<float>(x, x, x, x, Lr, Beta1, Beta2, Eps, WeightDecay, 0, 1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpu.AdamW.Update(x, x, x, x, Lr, Beta1, Beta2, Eps, WeightDecay, 0, 1f));
    }
}
