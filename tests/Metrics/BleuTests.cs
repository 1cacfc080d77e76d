using Hyper.Runtime.Metrics;

namespace Hyper.Tests.Metrics;

public class BleuTests
{
    // The examples in the docstrings of NLTK 3.9's bleu_score.py, words mapped to ids; expected values are
    // the docstrings' (doctest ELLIPSIS: the first 4 digits, truncated), which pins our conventions to
    // NLTK's sentence_bleu with SmoothingFunction().method1. (Older NLTK printed 0.3969 for hypothesis 2:
    // it dropped zero precisions from the geometric mean, a bug since fixed.)
    private static readonly Dictionary<string, int> Vocabulary = [];

    private static int[] Ids(string sentence) =>
        sentence.Split(' ').Select(w => Vocabulary.TryGetValue(w, out int id) ? id : Vocabulary[w] = Vocabulary.Count).ToArray();

    private static readonly int[] Hypothesis1 = Ids("It is a guide to action which ensures that the military always obeys the commands of the party");
    private static readonly int[] Hypothesis2 = Ids("It is to insure the troops forever hearing the activity guidebook that party direct");
    private static readonly int[] Reference1 = Ids("It is a guide to action that ensures that the military will forever heed Party commands");
    private static readonly int[] Reference2 = Ids("It is the guiding principle which guarantees the military forces always being under the command of the Party");
    private static readonly int[] Reference3 = Ids("It is the practical guide for the army always to heed the directions of the party");

    [Test]
    public void Matches_nltk_sentence_bleu_docstrings()
    {
        int[][] refs = [Reference1, Reference2, Reference3];
        Assert.That(Bleu.Sentence(Hypothesis1, refs), Is.InRange(0.5045, 0.5046));
        Assert.That(Bleu.Sentence(Hypothesis2, refs), Is.InRange(0.0370, 0.0371), "no 3- or 4-gram matches: smoothed");
        Assert.That(Bleu.Sentence(Hypothesis1, [Reference1]), Is.InRange(0.4118, 0.4119));
        Assert.That(Bleu.Sentence(Hypothesis1, refs, maxOrder: 2), Is.InRange(0.7453, 0.7454));
        Assert.That(Bleu.Sentence(Hypothesis1, refs, maxOrder: 3), Is.InRange(0.6240, 0.6241));
        Assert.That(Bleu.Sentence(Hypothesis1, refs, maxOrder: 5), Is.InRange(0.3920, 0.3921));
    }

    [Test]
    public void Smoothing_method_1_replaces_zero_counts_with_epsilon()
    {
        // p1 = 2/3, p2 = 1/2, p3 = 0.1/1 (one trigram, unmatched), p4 = 0.1/max(1, 0); c = r = 3 so BP = 1.
        double expected = Math.Pow(2.0 / 3 * 0.5 * 0.1 * 0.1, 0.25);
        Assert.That(Bleu.Sentence([1, 2, 3], [[1, 2, 4]]), Is.EqualTo(expected).Within(1e-15));
    }

    [Test]
    public void Brevity_penalty_uses_the_closest_reference_ties_to_shorter()
    {
        int[] A(int n) => Enumerable.Repeat(0, n).ToArray();
        // NLTK's docstring cases: refs 13 and 11 for a 12-token hypothesis → r = 11, BP = 1.
        Assert.That(Bleu.Sentence(A(12), [A(13), A(11)]), Is.EqualTo(1.0).Within(1e-15));
        Assert.That(Bleu.Sentence(A(12), [A(13), A(2)]), Is.EqualTo(Math.Exp(1 - 13.0 / 12)).Within(1e-15));
        // Two unigrams and one bigram match a 4-token reference: BP = e^(1 − 4/2), p3 = p4 = 0.1.
        Assert.That(Bleu.Sentence([1, 2], [[1, 2, 3, 4]]), Is.EqualTo(Math.Exp(-1) * Math.Pow(0.01, 0.25)).Within(1e-15));
    }

    [Test]
    public void No_unigram_match_or_empty_hypothesis_scores_zero()
    {
        Assert.That(Bleu.Sentence([1, 2, 3], [[4, 5, 6]]), Is.EqualTo(0));
        Assert.That(Bleu.Sentence([], [[4, 5, 6]]), Is.EqualTo(0));
        Assert.Throws<ArgumentException>(() => Bleu.Sentence([1], []));
    }

    [Test]
    public void Self_bleu_of_identical_generations_is_one()
    {
        int[] g = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
        Assert.That(TextMetrics.SelfBleu([g, g, g]), Is.EqualTo(1.0).Within(1e-15));
        Assert.That(TextMetrics.SelfBleu([g, (int[])g.Clone()]), Is.EqualTo(1.0).Within(1e-15));
    }

    [Test]
    public void Self_bleu_of_disjoint_generations_is_zero()
    {
        Assert.That(TextMetrics.SelfBleu([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]), Is.EqualTo(0));
    }

    [Test]
    public void Self_bleu_hand_example()
    {
        // Each scores (2/3 · 1/2 · 0.1 · 0.1)^(1/4) against the other (see the smoothing test).
        double expected = Math.Pow(2.0 / 3 * 0.5 * 0.1 * 0.1, 0.25);
        Assert.That(TextMetrics.SelfBleu([[1, 2, 3], [1, 2, 4]]), Is.EqualTo(expected).Within(1e-15));
    }

    [Test]
    public void Self_bleu_needs_two_generations()
    {
        Assert.That(TextMetrics.SelfBleu([]), Is.NaN);
        Assert.That(TextMetrics.SelfBleu([[1, 2, 3]]), Is.NaN);
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Self_bleu_equals_mean_of_reference_sentence_bleu(int seed)
    {
        // Small vocabulary so that n-grams of every order match sometimes; lengths 0..40 include the
        // shorter-than-n and empty cases; repeats within one generation exercise the clipping.
        var rng = new Random(seed);
        var gens = Enumerable.Range(0, 12)
            .Select(_ => Enumerable.Range(0, rng.Next(0, 41)).Select(_ => rng.Next(6)).ToArray())
            .ToArray();
        for (int order = 1; order <= 5; order++)
        {
            double expected = Enumerable.Range(0, gens.Length)
                .Average(i => Bleu.Sentence(gens[i], gens.Where((_, j) => j != i).ToArray(), order));
            Assert.That(TextMetrics.SelfBleu(gens, order), Is.EqualTo(expected).Within(1e-12), $"order {order}");
        }
    }
}
