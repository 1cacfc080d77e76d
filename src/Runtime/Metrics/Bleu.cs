using System.Runtime.InteropServices;

namespace Hyper.Runtime.Metrics;

/// <summary>
/// Sentence-level BLEU (Papineni et al. 2002) over token ids, with the conventions of NLTK's (3.9)
/// <c>sentence_bleu(refs, hyp, smoothing_function=SmoothingFunction().method1)</c> as used by Self-BLEU
/// (Zhu et al. 2018, Texygen), and matching its documented examples: modified n-gram precisions for
/// orders 1..maxOrder combined by a geometric mean with uniform weights; the brevity penalty against the
/// reference whose length is closest to the hypothesis (ties go to the shorter); smoothing method 1 of
/// Chen &amp; Cherry (2014), which replaces a zero match count by <see cref="Epsilon"/>. Scores are
/// fractions in [0, 1], not ×100.
/// </summary>
public static class Bleu
{
    /// <summary>The count that smoothing method 1 substitutes for an order with no matching n-gram.</summary>
    public const double Epsilon = 0.1;

    /// <summary>
    /// BLEU of <paramref name="hypothesis"/> against <paramref name="references"/>. This is the readable
    /// reference (each reference's n-grams counted afresh) that the fast Self-BLEU is tested against.
    /// For order n, precision p_n = Σ_g min(count_hyp(g), max_ref count_ref(g)) / max(1, #hyp n-grams);
    /// a zero numerator becomes <see cref="Epsilon"/> / max(1, #hyp n-grams); if no unigram matches at all
    /// the score is 0 (as in NLTK, before smoothing). BP = 1 if c &gt; r, 0 if c = 0, else exp(1 − r/c).
    /// </summary>
    /// <param name="hypothesis">The scored token sequence.</param>
    /// <param name="references">At least one reference sequence.</param>
    /// <param name="maxOrder">Highest n-gram order (4 is standard BLEU-4).</param>
    public static double Sentence(int[] hypothesis, IReadOnlyList<int[]> references, int maxOrder = 4)
    {
        ArgumentNullException.ThrowIfNull(hypothesis);
        ArgumentNullException.ThrowIfNull(references);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxOrder);
        if (references.Count == 0) throw new ArgumentException("BLEU needs at least one reference", nameof(references));

        var clipped = new int[maxOrder];
        var totals = new int[maxOrder];
        for (int n = 1; n <= maxOrder; n++)
        {
            var hyp = Count(hypothesis, n);
            var maxRef = new Dictionary<NgramKey, int>();
            foreach (int[] reference in references)
            {
                ArgumentNullException.ThrowIfNull(reference, nameof(references));
                var counts = Count(reference, n);
                foreach (var g in hyp.Keys)
                    maxRef[g] = Math.Max(maxRef.GetValueOrDefault(g), counts.GetValueOrDefault(g));
            }
            foreach (var (g, c) in hyp) clipped[n - 1] += Math.Min(c, maxRef[g]);
            totals[n - 1] = Math.Max(0, hypothesis.Length - n + 1);
        }

        int closest = references[0].Length;
        foreach (int[] reference in references)
        {
            int r = reference.Length, d = Math.Abs(r - hypothesis.Length), best = Math.Abs(closest - hypothesis.Length);
            if (d < best || (d == best && r < closest)) closest = r;
        }
        return Score(clipped, totals, hypothesis.Length, closest);
    }

    /// <summary>
    /// Combines clipped match counts and hypothesis n-gram counts per order (index n−1) into BLEU with
    /// uniform weights, smoothing method 1 and the brevity penalty; shared by the reference and the fast path
    /// so the two differ only in how they count.
    /// </summary>
    internal static double Score(ReadOnlySpan<int> clipped, ReadOnlySpan<int> totals, int hypothesisLength, int closestReferenceLength)
    {
        // NLTK returns 0 before smoothing when no unigram matches: smoothing would otherwise give a
        // disjoint hypothesis a small positive score (0.1/c to the power 1/4 ...).
        if (clipped[0] == 0) return 0;
        int orders = clipped.Length;
        double logSum = 0;
        for (int i = 0; i < orders; i++)
        {
            // max(1, ·) is NLTK's guard for an order longer than the hypothesis.
            double denominator = Math.Max(1, totals[i]);
            double p = clipped[i] > 0 ? clipped[i] / denominator : Epsilon / denominator;
            logSum += Math.Log(p) / orders;
        }
        double bp = hypothesisLength > closestReferenceLength ? 1
            : hypothesisLength == 0 ? 0
            : Math.Exp(1 - (double)closestReferenceLength / hypothesisLength);
        return bp * Math.Exp(logSum);
    }

    /// <summary>How often each n-gram of order <paramref name="n"/> occurs in <paramref name="tokens"/>.</summary>
    internal static Dictionary<NgramKey, int> Count(int[] tokens, int n)
    {
        var counts = new Dictionary<NgramKey, int>();
        for (int i = 0; i + n <= tokens.Length; i++)
            CollectionsMarshal.GetValueRefOrAddDefault(counts, new NgramKey(tokens, i, n), out _)++;
        return counts;
    }
}
