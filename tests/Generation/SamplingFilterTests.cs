using Hyper.Runtime.Generation;

namespace Hyper.Tests.Generation;

/// <summary>Temperature and the truncation filters, each against its definition on hand-built logits.</summary>
public class SamplingFilterTests
{
    [Test]
    public void TemperatureDividesTheLogits()
    {
        float[] logits = [2f, -1f, 0.5f, float.NegativeInfinity];
        float[] scaled = Logits.Apply(new TemperatureProcessor(0.5), logits);
        Assert.That(scaled, Is.EqualTo(new[] { 4f, -2f, 1f, float.NegativeInfinity }));
        // Below 1 sharpens: the top token gains probability.
        Assert.That(Logits.Softmax(scaled)[0], Is.GreaterThan(Logits.Softmax(logits)[0]));
    }

    [Test]
    public void TopKNeverLeavesTheTopK([Values(1, 2, 5, 49, 50, 80)] int k)
    {
        for (ulong seed = 1; seed <= 20; seed++)
        {
            float[] logits = Logits.Random(50, seed);
            int[] expected = Enumerable.Range(0, 50).OrderByDescending(i => logits[i]).Take(k).Order().ToArray();
            Assert.That(Logits.Kept(Logits.Apply(new TopKFilter(k), logits)), Is.EqualTo(expected), $"seed {seed}");
        }
    }

    [Test]
    public void TopKKeepsExactlyKAmongTiesLowerIdsFirst()
    {
        float[] logits = [1f, 3f, 3f, 3f, 0f];
        Assert.That(Logits.Kept(Logits.Apply(new TopKFilter(2), logits)), Is.EqualTo(new[] { 1, 2 }));
    }

    [Test]
    public void TopKCountsOnlyTokensStillAllowed()
    {
        // Masked tokens are not candidates: k = 2 of {0, 2, 3} keeps the two best of those.
        float[] logits = [1f, float.NegativeInfinity, 3f, 2f];
        Assert.That(Logits.Kept(Logits.Apply(new TopKFilter(2), logits)), Is.EqualTo(new[] { 2, 3 }));
    }

    [TestCase(0.45, new[] { 0 })]
    [TestCase(0.7, new[] { 0, 1 })]
    [TestCase(0.8, new[] { 0, 1, 2 })]
    [TestCase(0.95, new[] { 0, 1, 2, 3 })]
    [TestCase(1.0, new[] { 0, 1, 2, 3 })]
    public void TopPKeepsTheSmallestSetReachingP(double p, int[] expected)
    {
        float[] logits = Logits.FromProbs(0.5, 0.25, 0.15, 0.1);
        Assert.That(Logits.Kept(Logits.Apply(new TopPFilter(p), logits)), Is.EqualTo(expected));
    }

    [Test]
    public void TopPOnRandomLogitsIsMinimalAndTopHeavy([Values(0.1, 0.5, 0.9, 0.99)] double p)
    {
        for (ulong seed = 1; seed <= 20; seed++)
        {
            float[] logits = Logits.Random(100, seed);
            double[] probs = Logits.Softmax(logits);
            int[] kept = Logits.Kept(Logits.Apply(new TopPFilter(p), logits));
            double mass = kept.Sum(i => probs[i]);
            double smallest = kept.Min(i => probs[i]);
            Assert.That(mass, Is.GreaterThanOrEqualTo(p - 1e-9), $"seed {seed}: the kept mass reaches p");
            Assert.That(mass - smallest, Is.LessThan(p), $"seed {seed}: without its least likely token the set falls short (it is the smallest)");
            double bestDropped = Enumerable.Range(0, 100).Except(kept).Select(i => probs[i]).DefaultIfEmpty(0).Max();
            Assert.That(smallest, Is.GreaterThanOrEqualTo(bestDropped), $"seed {seed}: no dropped token beats a kept one");
        }
    }

    [Test]
    public void TopPMeasuresTheDistributionLeftByEarlierSteps()
    {
        // After top-k 2 the distribution is renormalised over {0, 1}: 2/3 and 1/3, so p = 0.6 keeps only token 0
        // (on the full distribution 0.5 < 0.6 would have needed token 1 too).
        float[] logits = Logits.Apply(new TopKFilter(2), Logits.FromProbs(0.5, 0.25, 0.15, 0.1));
        Assert.That(Logits.Kept(Logits.Apply(new TopPFilter(0.6), logits)), Is.EqualTo(new[] { 0 }));
    }

    [TestCase(0.0, new[] { 0, 1, 2, 3 })]
    [TestCase(0.25, new[] { 0, 1, 2 })]   // threshold 0.125: 0.1 goes
    [TestCase(0.35, new[] { 0, 1 })]      // threshold 0.175
    [TestCase(0.9, new[] { 0 })]          // threshold 0.45
    [TestCase(1.0, new[] { 0 })]          // only the top token reaches p_max
    public void MinPKeepsTokensWithinAFactorOfTheTop(double minP, int[] expected)
    {
        float[] logits = Logits.FromProbs(0.5, 0.25, 0.15, 0.1);
        Assert.That(Logits.Kept(Logits.Apply(new MinPFilter(minP), logits)), Is.EqualTo(expected));
    }

    [Test]
    public void MinPOnRandomLogitsMatchesItsDefinition([Values(0.01, 0.1, 0.5)] double minP)
    {
        for (ulong seed = 1; seed <= 20; seed++)
        {
            float[] logits = Logits.Random(100, seed);
            double[] probs = Logits.Softmax(logits);
            double max = probs.Max();
            int[] expected = Enumerable.Range(0, 100).Where(i => probs[i] >= minP * max).ToArray();
            Assert.That(Logits.Kept(Logits.Apply(new MinPFilter(minP), logits)), Is.EqualTo(expected), $"seed {seed}");
        }
    }

    [Test]
    public void TypicalPKeepsTokensClosestToTheEntropyFirst()
    {
        // p = (0.4, 0.3, 0.2, 0.1): H = 1.2799 nats; |−ln p − H| = (0.364, 0.076, 0.330, 1.023), so the order is
        // 1, 2, 0, 3: the most probable token is not the most typical one.
        float[] logits = Logits.FromProbs(0.4, 0.3, 0.2, 0.1);
        Assert.That(Logits.Kept(Logits.Apply(new TypicalPFilter(0.25), logits)), Is.EqualTo(new[] { 1 }));
        Assert.That(Logits.Kept(Logits.Apply(new TypicalPFilter(0.45), logits)), Is.EqualTo(new[] { 1, 2 }));
        Assert.That(Logits.Kept(Logits.Apply(new TypicalPFilter(0.85), logits)), Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(Logits.Kept(Logits.Apply(new TypicalPFilter(1.0), logits)), Is.EqualTo(new[] { 0, 1, 2, 3 }));
    }

    [Test]
    public void TypicalPOnRandomLogitsMatchesItsDefinition([Values(0.2, 0.9)] double mass)
    {
        for (ulong seed = 1; seed <= 20; seed++)
        {
            float[] logits = Logits.Random(60, seed);
            double[] p = Logits.Softmax(logits);
            double h = -p.Sum(x => x * Math.Log(x));
            var order = Enumerable.Range(0, 60).OrderBy(i => Math.Abs(-Math.Log(p[i]) - h)).ThenBy(i => i).ToArray();
            var expected = new List<int>();
            double cumulative = 0;
            foreach (int i in order)
            {
                expected.Add(i);
                cumulative += p[i];
                if (cumulative >= mass) break;
            }
            Assert.That(Logits.Kept(Logits.Apply(new TypicalPFilter(mass), logits)), Is.EqualTo(expected.Order().ToArray()), $"seed {seed}");
        }
    }

    [Test]
    public void FiltersRejectValuesOutsideTheirRange()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TopKFilter(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TopPFilter(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TopPFilter(1.01));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MinPFilter(-0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TypicalPFilter(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TemperatureProcessor(0));
    }
}
