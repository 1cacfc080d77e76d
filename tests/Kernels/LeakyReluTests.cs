using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

public class LeakyReluTests
{
    private const float Slope = 0.01f;

    /// <summary>Lengths around the vector widths (8 and 16 floats), a long odd one, and 0.</summary>
    private static readonly int[] Lengths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 1025];

    [Test]
    public void CpuMatchesReferenceExactly([ValueSource(nameof(Lengths))] int n)
    {
        var x = Check.Random(n, 1 + n);
        if (n > 3) x[3] = 0f; // the kink: both kernels take the slope side
        var dout = Check.Random(n, 100 + n);
        var start = Check.Random(n, 200 + n);
        var expected = new float[n];
        var actual = new float[n];
        Ref.LeakyRelu.Forward<float>(expected, x, Slope, n);
        Cpu.LeakyRelu.Forward(actual, x, Slope, n);
        // The same one multiply per element, no FMA: bit-identical, so the tolerance is zero.
        Assert.That(actual, Is.EqualTo(expected));

        var dExpected = (float[])start.Clone();
        var dActual = (float[])start.Clone();
        Ref.LeakyRelu.Backward<float>(dExpected, x, dout, Slope, n);
        Cpu.LeakyRelu.Backward(dActual, x, dout, Slope, n);
        Assert.That(dActual, Is.EqualTo(dExpected));
    }

    [Test]
    public void ForwardInPlace()
    {
        var x = Check.Random(37, 5);
        var expected = new float[37];
        Ref.LeakyRelu.Forward<float>(expected, x, Slope, 37);
        Cpu.LeakyRelu.Forward(x, x, Slope, 37);
        Assert.That(x, Is.EqualTo(expected));
    }

    [Test]
    public void BackwardMatchesFiniteDifferences()
    {
        const int N = 41;
        var x = Check.RandomDouble(N, 7);
        // Keep every input away from the kink at 0, where the function is not differentiable.
        for (int i = 0; i < N; i++) if (Math.Abs(x[i]) < 0.05) x[i] = 0.05 * Math.Sign(x[i] == 0 ? 1 : x[i]);
        var w = Check.RandomDouble(N, 8);
        var analytic = new double[N];
        Ref.LeakyRelu.Backward<double>(analytic, x, w, Slope, N);
        var y = new double[N];
        GradCheck.Check("leaky relu dinp", x, analytic, () =>
        {
            Ref.LeakyRelu.Forward<double>(y, x, Slope, N);
            return GradCheck.Dot(y, w);
        });
    }
}
