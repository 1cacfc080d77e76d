using Hyper.Kernels.Reference;
using Hyper.Runtime.Backends;
using Hyper.Tests.Support;

namespace Hyper.Tests.Kernels;

public class HyperEncodingTests
{
    [Test]
    public void CosSinHasUnitNormForEveryGamma()
    {
        double[] gamma = [0, 0.1, 0.5, 0.9, 1, 3.7, 10, -2];
        var y = new double[2 * gamma.Length];
        HyperEncoding.Forward<double>(y, gamma, HyperEncodingKind.CosSin, gamma.Length, 1);
        for (int i = 0; i < gamma.Length; i++)
            Assert.That(y[2 * i] * y[2 * i] + y[2 * i + 1] * y[2 * i + 1], Is.EqualTo(1.0).Within(1e-15), $"gamma {gamma[i]}");
        Assert.That(y[..2], Is.EqualTo(new[] { 1.0, 0.0 }).Within(1e-15));   // γ = 0 → (1, 0)
        Assert.That(y[8..10], Is.EqualTo(new[] { 0.0, 1.0 }).Within(1e-15)); // γ = 1 → (0, 1)
    }

    [Test]
    public void ComplementAndRawLayouts()
    {
        // N = 2 samples of D = 2 coordinates: pairs are interleaved per coordinate.
        float[] gamma = [0.25f, 1f, 0f, 0.5f];
        var c = new float[8];
        HyperEncoding.Forward<float>(c, gamma, HyperEncodingKind.Complement, 2, 2);
        Assert.That(c, Is.EqualTo(new[] { 0.25f, 0.75f, 1f, 0f, 0f, 1f, 0.5f, 0.5f }));
        var r = new float[4];
        HyperEncoding.Forward<float>(r, gamma, HyperEncodingKind.Raw, 2, 2);
        Assert.That(r, Is.EqualTo(gamma));
        Assert.That(() => HyperEncoding.Forward<float>(new float[3], gamma, HyperEncodingKind.Raw, 2, 2), Throws.ArgumentException);
    }

    [Test]
    public void BackwardMatchesFiniteDifferences([Values] HyperEncodingKind kind)
    {
        const int N = 3, D = 2;
        var gamma = Check.RandomDouble(N * D, 11, 0.5);
        for (int i = 0; i < gamma.Length; i++) gamma[i] += 0.5;
        int W = HyperEncoding.Width(kind, D);
        var w = Check.RandomDouble(N * W, 12);
        var analytic = new double[N * D];
        HyperEncoding.Backward<double>(analytic, w, gamma, kind, N, D);
        var y = new double[N * W];
        GradCheck.Check($"{kind} dgamma", gamma, analytic, () =>
        {
            HyperEncoding.Forward<double>(y, gamma, kind, N, D);
            return GradCheck.Dot(y, w);
        });
    }

    [Test]
    public void BackendsEncodeAsTheReference([Values("cpu", "reference")] string backend, [Values] HyperEncodingKind kind)
    {
        using var be = BackendRegistry.Create(backend);
        float[] gamma = [0f, 0.3f, 0.77f, 1f, 0.5f];
        var expected = new float[HyperEncoding.Width(kind, 1) * gamma.Length];
        HyperEncoding.Forward<float>(expected, gamma, kind, gamma.Length, 1);
        using var buf = be.Allocate(expected.Length);
        be.HyperEncodingForward(buf.All, gamma, kind, gamma.Length, 1);
        var actual = new float[expected.Length];
        be.Download(buf.All, actual);
        Assert.That(actual, Is.EqualTo(expected));
    }
}
