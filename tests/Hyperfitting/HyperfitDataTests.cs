using Hyper.Runtime;
using Hyper.Runtime.Hyperfitting;

namespace Hyper.Tests.Hyperfitting;

/// <summary>The choice of hyperfitting sequences and the held-out split.</summary>
public class HyperfitDataTests
{
    private static readonly int[] Tokens = Enumerable.Range(0, 1000).ToArray();

    [Test]
    public void ChosenSequencesAreDistinctAlignedWindowsAndSeeded()
    {
        var a = HyperfitData.Choose(Tokens, 20, 33, seed: 3);
        Assert.That(a, Has.Length.EqualTo(20));
        Assert.That(a.Select(s => s.Length), Is.All.EqualTo(33));
        // Tokens are their positions, so each sequence is a run starting on a window boundary.
        foreach (var s in a)
        {
            Assert.That(s[0] % 33, Is.Zero, "starts on a window boundary");
            Assert.That(s, Is.EqualTo(Enumerable.Range(s[0], 33).ToArray()));
        }
        Assert.That(a.Select(s => s[0]).Distinct().Count(), Is.EqualTo(20), "no window twice");
        Assert.That(HyperfitData.Choose(Tokens, 20, 33, seed: 3), Is.EqualTo(a), "same seed, same sequences");
        Assert.That(HyperfitData.Choose(Tokens, 20, 33, seed: 4), Is.Not.EqualTo(a), "another seed, another choice");
        // Not simply the first windows: the choice is spread over the part.
        Assert.That(a.Max(s => s[0]), Is.GreaterThan(20 * 33));
    }

    [Test]
    public void AllWindowsCanBeChosenButNoMore()
    {
        var all = HyperfitData.Choose(Tokens, 30, 33, seed: 1);
        Assert.That(all.Select(s => s[0]).OrderBy(x => x), Is.EqualTo(Enumerable.Range(0, 30).Select(k => k * 33)));
        var e = Assert.Throws<SettingException>(() => HyperfitData.Choose(Tokens, 31, 33, seed: 1));
        Assert.That(e!.Setting, Is.EqualTo("Samples"));
        Assert.That(e.Problem, Does.StartWith("31 ").And.Contain("30 non-overlapping sequences"));
    }

    [Test]
    public void HeldOutIsTheTailAndShuffleKeepsTheItems()
    {
        var (train, held) = HyperfitData.Split(Tokens, 0.1, 10, "x.txt");
        Assert.That(train, Is.EqualTo(Tokens[..900]));
        Assert.That(held, Is.EqualTo(Tokens[900..]));
        Assert.Throws<InvalidDataException>(() => HyperfitData.Split(Tokens, 0.001, 10, "x.txt"));

        var items = Enumerable.Range(0, 50).ToArray();
        HyperfitData.Shuffle(items, new Rng(2));
        Assert.That(items, Is.Not.EqualTo(Enumerable.Range(0, 50)));
        Assert.That(items.OrderBy(x => x), Is.EqualTo(Enumerable.Range(0, 50)));
    }
}
