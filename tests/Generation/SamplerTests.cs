using Hyper.Runtime;
using Hyper.Runtime.Generation;
using Hyper.Runtime.Metrics;

namespace Hyper.Tests.Generation;

/// <summary>Choosing a token: greedy, seeded draws, and the statistics recorded under the raw distribution.</summary>
public class SamplerTests
{
    [Test]
    public void TemperatureZeroIsGreedyAndDrawsNothing()
    {
        for (ulong seed = 1; seed <= 10; seed++)
        {
            float[] logits = Logits.Random(64, seed);
            int argmax = Array.IndexOf(logits, logits.Max());
            var rng = new Rng(seed);
            ulong before = rng.State;
            var chosen = new Sampler(new SamplingSettings { Temperature = 0 }).Next(logits, new DecodingContext([1]), rng);
            Assert.That(chosen?.Id, Is.EqualTo(argmax));
            Assert.That(rng.State, Is.EqualTo(before), "greedy decoding must not consume random numbers");
            Assert.That(SamplingSettings.Greedy.IsGreedy, Is.True);
        }
    }

    [Test]
    public void GreedyTakesTheLowestIdAmongEqualLogits()
    {
        var chosen = new Sampler(SamplingSettings.Greedy).Next([1f, 5f, 5f, 2f], new DecodingContext([0]), new Rng(1));
        Assert.That(chosen?.Id, Is.EqualTo(1));
    }

    [Test]
    public void GreedyObeysTheBans()
    {
        // The argmax (token 0) is in the context, so the repetition penalty hands the choice to token 1.
        var chosen = new Sampler(SamplingSettings.Greedy with { RepetitionPenalty = 3 }).Next([3f, 2f, -1f], new DecodingContext([0]), new Rng(1));
        Assert.That(chosen?.Id, Is.EqualTo(1));
    }

    [Test]
    public void SameSeedSameDrawsDifferentSeedDifferentDraws()
    {
        float[] logits = Logits.Random(50, 3, scale: 0.5);
        int[] Run(ulong seed)
        {
            var sampler = new Sampler(new SamplingSettings { Temperature = 1.3, TopK = 40 });
            var rng = new Rng(seed);
            return Enumerable.Range(0, 64).Select(_ => sampler.Next(logits, new DecodingContext([0]), rng)!.Value.Id).ToArray();
        }
        Assert.That(Run(7), Is.EqualTo(Run(7)));
        Assert.That(Run(8), Is.Not.EqualTo(Run(7)));
    }

    [Test]
    public void DrawFrequenciesFollowTheDistribution()
    {
        // 40,000 seeded draws: the standard error of each frequency is below 0.0025, so 0.01 is a 4-sigma bound.
        float[] logits = Logits.FromProbs(0.5, 0.3, 0.15, 0.05);
        var sampler = new Sampler(new SamplingSettings());
        var rng = new Rng(42);
        var counts = new int[4];
        const int draws = 40_000;
        for (int i = 0; i < draws; i++) counts[sampler.Next(logits, new DecodingContext([0]), rng)!.Value.Id]++;
        Assert.That(counts.Select(c => (double)c / draws), Is.EqualTo(new[] { 0.5, 0.3, 0.15, 0.05 }).Within(0.01));
    }

    [Test]
    public void LogProbAndEntropyAreThoseOfTheRawDistribution()
    {
        float[] logits = Logits.Random(40, 5);
        double[] p = Logits.Softmax(logits);
        double entropy = -p.Sum(x => x * Math.Log(x));
        // Heavy processing (penalties, cold temperature, top-k) changes the choice, not the recorded numbers.
        var settings = new SamplingSettings { Temperature = 0.3, TopK = 3, RepetitionPenalty = 5, FrequencyPenalty = 1 };
        var context = new DecodingContext([0, 1, 2]);
        context.Append(3);
        var chosen = new Sampler(settings).Next(logits, context, new Rng(9))!.Value;
        Assert.That(chosen.LogProb, Is.EqualTo(Math.Log(p[chosen.Id])).Within(1e-9));
        Assert.That(chosen.Entropy, Is.EqualTo(entropy).Within(1e-9));
        Assert.That(chosen.Top1, Is.EqualTo(p.Max()).Within(1e-12));
        Assert.That(TokenStats.FromLogits(logits).Entropy, Is.EqualTo(chosen.Entropy));
    }

    [Test]
    public void EveryTokenBannedGivesNoToken()
    {
        var index = new TokenIndex([1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 1]);
        var context = new DecodingContext([0]);
        foreach (int t in new[] { 1, 2, 3, 4, 5 }) context.Append(t);
        // The run 1..5 is followed by 0 and by 1: with a vocabulary of {0, 1} nothing is left.
        Assert.That(new Sampler(SamplingSettings.Greedy with { CitationIndex = index }).Next([1f, 2f], context, new Rng(1)), Is.Null);
        Assert.That(new Sampler(new SamplingSettings { CitationIndex = index }).Next([1f, 2f], context, new Rng(1)), Is.Null);
    }

    [Test]
    public void PromptStreamsDependOnSeedAndIndex()
    {
        ulong Draw(ulong seed, int index) => GenerationOptions.RngFor(seed, index).NextUInt64();
        Assert.That(Draw(1, 0), Is.EqualTo(Draw(1, 0)));
        var all = new[] { Draw(1, 0), Draw(1, 1), Draw(2, 0), Draw(2, 1), Draw(0, 0) };
        Assert.That(all, Is.Unique);
    }
}
