using Hyper.Runtime.Metrics;

namespace Hyper.Tests.Metrics;

public class TextMetricsTests
{
    [Test]
    public void Ttr_counts_distinct_ids_times_100()
    {
        Assert.That(TextMetrics.Ttr([1, 2, 3, 4]), Is.EqualTo(100));
        Assert.That(TextMetrics.Ttr([5, 5, 5, 5]), Is.EqualTo(25));
        Assert.That(TextMetrics.Ttr([1, 2, 1, 2, 3]), Is.EqualTo(60));
    }

    [Test]
    public void Ttr_uses_only_the_last_window_tokens()
    {
        Assert.That(TextMetrics.Ttr([1, 1, 2, 3], window: 2), Is.EqualTo(100));
        Assert.That(TextMetrics.Ttr([1, 1, 2, 3], window: 3), Is.EqualTo(100));
        Assert.That(TextMetrics.Ttr([1, 1, 2, 3], window: 4), Is.EqualTo(75));
        Assert.That(TextMetrics.Ttr([1, 1, 2, 3], window: 100), Is.EqualTo(75));

        // 10 repeats then 96 distinct tokens: the default window sees only the distinct ones.
        int[] g = [.. Enumerable.Repeat(7, 10), .. Enumerable.Range(100, 96)];
        Assert.That(TextMetrics.Ttr(g), Is.EqualTo(100));
        Assert.That(TextMetrics.Ttr(g, window: 1000), Is.EqualTo(100.0 * 97 / 106).Within(1e-12));
    }

    [Test]
    public void Ttr_edge_cases()
    {
        Assert.That(TextMetrics.Ttr([]), Is.NaN);
        Assert.That(TextMetrics.Ttr([42]), Is.EqualTo(100));
        Assert.Throws<ArgumentOutOfRangeException>(() => TextMetrics.Ttr([1], window: 0));
    }

    [Test]
    public void DistinctN_pools_ngrams_across_generations()
    {
        int[][] gens = [[1, 2, 3], [1, 2, 4]];
        Assert.That(TextMetrics.DistinctN(gens, 1), Is.EqualTo(4.0 / 6).Within(1e-15));
        Assert.That(TextMetrics.DistinctN(gens, 2), Is.EqualTo(3.0 / 4).Within(1e-15));
        Assert.That(TextMetrics.DistinctN(gens, 3), Is.EqualTo(1.0));
    }

    [Test]
    public void DistinctN_edge_cases()
    {
        Assert.That(TextMetrics.DistinctN([], 1), Is.NaN);
        Assert.That(TextMetrics.DistinctN([[1, 2]], 3), Is.NaN, "n longer than every generation");
        Assert.That(TextMetrics.DistinctN([[5, 5, 5, 5]], 1), Is.EqualTo(0.25));
        Assert.That(TextMetrics.DistinctN([[5, 5, 5, 5]], 2), Is.EqualTo(1.0 / 3).Within(1e-15));
        Assert.That(TextMetrics.DistinctN([[1, 2, 3, 4, 5]], 1), Is.EqualTo(1.0));
        // A generation shorter than n contributes nothing; n-grams never span two generations.
        Assert.That(TextMetrics.DistinctN([[1], [1, 2]], 2), Is.EqualTo(1.0));
        Assert.That(TextMetrics.DistinctN([[1, 2], [3, 4]], 2), Is.EqualTo(1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TextMetrics.DistinctN([[1]], 0));
    }

    [Test]
    public void RepeatedNgramRate_hand_examples()
    {
        Assert.That(TextMetrics.RepeatedNgramRate([1, 1, 1, 1, 1], 2), Is.EqualTo(3.0 / 4));
        // Bigrams 12 23 31 12 23: the last two are repeats.
        Assert.That(TextMetrics.RepeatedNgramRate([1, 2, 3, 1, 2, 3], 2), Is.EqualTo(2.0 / 5));
        // Trigrams 123 231 312 123.
        Assert.That(TextMetrics.RepeatedNgramRate([1, 2, 3, 1, 2, 3], 3), Is.EqualTo(1.0 / 4));
        Assert.That(TextMetrics.RepeatedNgramRate([1, 2, 1], 1), Is.EqualTo(1.0 / 3).Within(1e-15));
        Assert.That(TextMetrics.RepeatedNgramRate([1, 2, 3, 4, 5, 6, 7]), Is.EqualTo(0));
        Assert.That(TextMetrics.RepeatedNgramRate(Enumerable.Repeat(9, 100).ToArray()), Is.EqualTo(96.0 / 97).Within(1e-15));
    }

    [Test]
    public void RepeatedNgramRate_edge_cases()
    {
        Assert.That(TextMetrics.RepeatedNgramRate([]), Is.NaN);
        Assert.That(TextMetrics.RepeatedNgramRate([1, 2, 3]), Is.NaN, "shorter than n = 4");
        Assert.That(TextMetrics.RepeatedNgramRate([1, 2, 3, 4]), Is.EqualTo(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TextMetrics.RepeatedNgramRate([1], 0));
    }

    [Test]
    public void LongestSharedRun_hand_examples()
    {
        var index = new TokenIndex([1, 2, 3, 4, 5, 9, 9, 2, 3, 4]);
        Assert.That(TextMetrics.LongestSharedRun([7, 2, 3, 4, 5, 6], index), Is.EqualTo(4));
        Assert.That(TextMetrics.LongestSharedRun([9, 2, 3, 4, 4], index), Is.EqualTo(4));
        Assert.That(TextMetrics.LongestSharedRun([8, 8], index), Is.EqualTo(0));
        Assert.That(TextMetrics.LongestSharedRun([], index), Is.EqualTo(0));
        Assert.That(TextMetrics.LongestSharedRun([1, 2, 3, 4, 5, 9, 9, 2, 3, 4], index), Is.EqualTo(10));
        Assert.That(TextMetrics.LongestSharedRun([1, 2, 3, 4, 5, 9, 9, 2, 3, 4, 5], index), Is.EqualTo(10));
        Assert.That(TextMetrics.LongestSharedRun([1, 2], new TokenIndex([])), Is.EqualTo(0));
    }
}
