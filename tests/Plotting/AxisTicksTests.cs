using Hyper.Runtime.Plotting;

namespace Hyper.Tests.Plotting;

/// <summary>Tick placement and labels.</summary>
public class AxisTicksTests
{
    [TestCase(0.13, 0.2)]
    [TestCase(1.0, 1.0)]
    [TestCase(3.0, 5.0)]
    [TestCase(7.0, 10.0)]
    [TestCase(2e-7, 2e-7)]
    public void NiceStep_RoundsUpTo125(double raw, double expected) =>
        Assert.That(AxisTicks.NiceStep(raw), Is.EqualTo(expected).Within(1e-12 * expected));

    [Test]
    public void Linear_UsesEvenStepsAndOneDecimalCount()
    {
        var ticks = AxisTicks.Linear(-0.02, 1.02, 6);
        Assert.That(ticks.ConvertAll(t => t.Label), Is.EqualTo(new[] { "0.0", "0.2", "0.4", "0.6", "0.8", "1.0" }));
    }

    [Test]
    public void Linear_StepsWithLargeAndTinyValues()
    {
        Assert.That(AxisTicks.Linear(0, 50000, 6).ConvertAll(t => t.Label),
            Is.EqualTo(new[] { "0", "10000", "20000", "30000", "40000", "50000" }));
        Assert.That(AxisTicks.Linear(0, 3e6, 4).ConvertAll(t => t.Label), Is.EqualTo(new[] { "0", "1e6", "2e6", "3e6" }));
        Assert.That(AxisTicks.Linear(1e-5, 3e-5, 3).ConvertAll(t => t.Label), Is.EqualTo(new[] { "1e-5", "2e-5", "3e-5" }));
    }

    [Test]
    public void Linear_NeverGivesMoreThanAsked()
    {
        for (int max = 2; max < 12; max++)
            foreach (var (lo, hi) in new[] { (0.0, 1.0), (-3.7, 12.9), (2.5, 2.51), (1e3, 1e9) })
                Assert.That(AxisTicks.Linear(lo, hi, max), Has.Count.InRange(1, max), $"[{lo}, {hi}] max {max}");
    }

    [Test]
    public void Log_WideRangeGivesPowersOfTen()
    {
        var ticks = AxisTicks.Log(1e-5, 1.2, 8);
        Assert.That(ticks.ConvertAll(t => t.Label), Is.EqualTo(new[] { "1e-5", "1e-4", "1e-3", "1e-2", "1e-1", "1e0" }));
        Assert.That(AxisTicks.Log(1e-12, 1, 4).ConvertAll(t => t.Label), Is.EqualTo(new[] { "1e-10", "1e-5", "1e0" }), "every 5th decade");
        Assert.That(AxisTicks.Log(1e-31, 1e31, 8).ConvertAll(t => t.Label),
            Is.EqualTo(new[] { "1e-30", "1e-20", "1e-10", "1e0", "1e10", "1e20", "1e30" }), "every 10th decade");
    }

    [Test]
    public void Log_FewDecadesGive125_AndLessThanADecadeGivesLinearTicks()
    {
        Assert.That(AxisTicks.Log(0.5, 60, 8).ConvertAll(t => t.Label), Is.EqualTo(new[] { "0.5", "1", "2", "5", "10", "20", "50" }));
        var loss = AxisTicks.Log(2.5, 11, 6);
        Assert.That(loss, Has.Count.GreaterThanOrEqualTo(3));
        Assert.That(loss.TrueForAll(t => t.Value >= 2.5 && t.Value <= 11), Is.True);
    }
}
