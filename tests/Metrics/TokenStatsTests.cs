using Hyper.Runtime.Metrics;

namespace Hyper.Tests.Metrics;

public class TokenStatsTests
{
    [Test]
    public void Uniform_logits_have_entropy_ln_v()
    {
        var (h, top1) = TokenStats.FromLogits([3f, 3f, 3f, 3f]);
        Assert.That(h, Is.EqualTo(Math.Log(4)).Within(1e-12));
        Assert.That(top1, Is.EqualTo(0.25).Within(1e-12));
    }

    [TestCase(0f)]
    [TestCase(100f)]
    [TestCase(-1000f)]
    public void Known_distribution_at_any_shift(float shift)
    {
        // p = (1/2, 1/4, 1/4): H = ½ln2 + 2·¼ln4 = 1.5 ln 2.
        float[] logits = [(float)Math.Log(0.5) + shift, (float)Math.Log(0.25) + shift, (float)Math.Log(0.25) + shift];
        var (h, top1) = TokenStats.FromLogits(logits);
        Assert.That(h, Is.EqualTo(1.5 * Math.Log(2)).Within(1e-5));
        Assert.That(top1, Is.EqualTo(0.5).Within(1e-5));
    }

    [Test]
    public void Masked_logits_are_skipped_not_nan()
    {
        var (h, top1) = TokenStats.FromLogits([0f, float.NegativeInfinity, float.NegativeInfinity]);
        Assert.That(h, Is.EqualTo(0));
        Assert.That(top1, Is.EqualTo(1));
        // A near one-hot distribution: entropy tiny but never negative.
        (h, top1) = TokenStats.FromLogits([0f, -200f, -200f]);
        Assert.That(h, Is.GreaterThanOrEqualTo(0).And.LessThan(1e-80));
        Assert.That(top1, Is.EqualTo(1).Within(1e-15));
    }

    [Test]
    public void Bad_logits_throw()
    {
        Assert.Throws<ArgumentException>(() => TokenStats.FromLogits([]));
        Assert.Throws<ArgumentException>(() => TokenStats.FromLogits([0f, float.NaN]));
        Assert.Throws<ArgumentException>(() => TokenStats.FromLogits([float.PositiveInfinity]));
        Assert.Throws<ArgumentException>(() => TokenStats.FromLogits([float.NegativeInfinity]));
    }

    [Test]
    public void Means_and_merge()
    {
        var a = new TokenStats();
        Assert.That(a.MeanEntropy, Is.NaN);
        Assert.That(a.MeanTop1, Is.NaN);
        a.Add(1.0, 0.5);
        a.Add(3.0, 0.9);
        Assert.That(a.Count, Is.EqualTo(2));
        Assert.That(a.MeanEntropy, Is.EqualTo(2.0));
        Assert.That(a.MeanTop1, Is.EqualTo(0.7).Within(1e-15));

        var b = new TokenStats();
        b.AddLogits([1f, 1f]);
        a.Add(b);
        Assert.That(a.Count, Is.EqualTo(3));
        Assert.That(a.MeanEntropy, Is.EqualTo((4 + Math.Log(2)) / 3).Within(1e-12));
        Assert.That(a.MeanTop1, Is.EqualTo(1.9 / 3).Within(1e-12));
    }

    [TestCase(-0.1, 0.5)]
    [TestCase(double.NaN, 0.5)]
    [TestCase(double.PositiveInfinity, 0.5)]
    [TestCase(1.0, 1.1)]
    [TestCase(1.0, -0.1)]
    [TestCase(1.0, double.NaN)]
    public void Out_of_range_statistics_throw(double entropy, double top1) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TokenStats().Add(entropy, top1));
}
