using System.Runtime.InteropServices;

namespace Hyper.Runtime.Metrics;

/// <summary>
/// Text-generation metrics over token ids, as pure functions: lexical diversity (TTR, distinct-n,
/// Self-BLEU), repetition, and overlap with a reference corpus. A metric that is undefined for its input
/// (no tokens, no n-grams, fewer than two generations) is <see cref="double.NaN"/>, never 0, so an empty
/// case cannot pass for a perfect or a terrible score; <see cref="GenerationMetrics"/> skips NaNs when it
/// averages over prompts.
/// </summary>
public static class TextMetrics
{
    /// <summary>
    /// Type-token ratio ×100 as the hyperfitting paper reports it (Carlsson et al., ICLR 2025): the number of
    /// distinct token ids among the last <paramref name="window"/> tokens of <paramref name="generated"/>
    /// (all of them if there are fewer), divided by that token count, times 100. The window keeps TTR
    /// comparable across lengths (TTR falls as text grows); the paper and its code (src/validation.py,
    /// <c>ttr_window_size=96</c>, prompt excluded) use 96. Average over prompts with
    /// <see cref="GenerationMetrics.Compute"/>. NaN when <paramref name="generated"/> is empty (the official
    /// code scores that 0; the aggregate skips it instead).
    /// </summary>
    public static double Ttr(ReadOnlySpan<int> generated, int window = 96)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(window);
        if (generated.IsEmpty) return double.NaN;
        var tail = generated.Length > window ? generated[^window..] : generated;
        var seen = new HashSet<int>(tail.Length);
        foreach (int t in tail) seen.Add(t);
        return 100.0 * seen.Count / tail.Length;
    }

    /// <summary>
    /// Distinct-n (Li et al. 2016): the number of distinct n-grams across all
    /// <paramref name="generations"/> divided by the total number of n-grams in them, as a fraction in
    /// (0, 1]. N-grams do not cross generation boundaries; a generation shorter than
    /// <paramref name="n"/> contributes none. NaN when there are no n-grams at all.
    /// </summary>
    public static double DistinctN(IReadOnlyList<int[]> generations, int n)
    {
        ArgumentNullException.ThrowIfNull(generations);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        var distinct = new HashSet<NgramKey>();
        long total = 0;
        foreach (int[] g in generations)
        {
            ArgumentNullException.ThrowIfNull(g, nameof(generations));
            for (int i = 0; i + n <= g.Length; i++)
            {
                distinct.Add(new NgramKey(g, i, n));
                total++;
            }
        }
        return total == 0 ? double.NaN : (double)distinct.Count / total;
    }

    /// <summary>
    /// Self-BLEU (Zhu et al. 2018, Texygen): each generation is scored with sentence BLEU-<paramref name="maxOrder"/>
    /// (default 4: orders 1–4, uniform weights 1/4) against all the <em>other</em> generations as references,
    /// and the scores are averaged. Conventions are NLTK's <c>sentence_bleu</c> with smoothing method 1
    /// of Chen &amp; Cherry 2014 (a zero match count becomes ε = 0.1), brevity penalty against the closest
    /// reference length (see <see cref="Bleu"/>). A fraction in [0, 1], not ×100: identical generations
    /// give 1, generations sharing no token give 0; lower means more diverse. NaN for fewer than two
    /// generations.
    /// </summary>
    /// <remarks>
    /// Cost O(total n-grams · maxOrder) rather than the naive O(G² · length): for each n-gram it keeps the
    /// largest and second-largest count over generations, so "the most any other generation has" is the
    /// largest unless this generation holds it. Equal to averaging <see cref="Bleu.Sentence"/> (tested).
    /// </remarks>
    public static double SelfBleu(IReadOnlyList<int[]> generations, int maxOrder = 4)
    {
        ArgumentNullException.ThrowIfNull(generations);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxOrder);
        int count = generations.Count;
        foreach (int[] g in generations) ArgumentNullException.ThrowIfNull(g, nameof(generations));
        if (count < 2) return double.NaN;

        var clipped = new int[count, maxOrder];
        for (int n = 1; n <= maxOrder; n++)
        {
            var perGeneration = new Dictionary<NgramKey, int>[count];
            var top = new Dictionary<NgramKey, (int Best, int BestOwner, int Second)>();
            for (int g = 0; g < count; g++)
            {
                perGeneration[g] = Bleu.Count(generations[g], n);
                foreach (var (key, c) in perGeneration[g])
                {
                    ref var t = ref CollectionsMarshal.GetValueRefOrAddDefault(top, key, out _);
                    if (c > t.Best) t = (c, g, t.Best);
                    else if (c > t.Second) t.Second = c;
                }
            }
            for (int g = 0; g < count; g++)
            {
                int sum = 0;
                foreach (var (key, c) in perGeneration[g])
                {
                    var t = top[key];
                    sum += Math.Min(c, t.BestOwner == g ? t.Second : t.Best);
                }
                clipped[g, n - 1] = sum;
            }
        }

        double total = 0;
        var totals = new int[maxOrder];
        var row = new int[maxOrder];
        for (int g = 0; g < count; g++)
        {
            int length = generations[g].Length;
            for (int i = 0; i < maxOrder; i++)
            {
                row[i] = clipped[g, i];
                totals[i] = Math.Max(0, length - i);
            }
            total += Bleu.Score(row, totals, length, ClosestOtherLength(generations, g));
        }
        return total / count;
    }

    /// <summary>
    /// The fraction of the n-grams of <paramref name="tokens"/> (overlapping, one per start position) that
    /// already occurred at an earlier start position: 0 for text that never repeats a
    /// <paramref name="n"/>-gram, approaching 1 for a loop (a sequence of one repeated token of length L
    /// scores (L−n)/(L−n+1)). NaN when the sequence is shorter than <paramref name="n"/>.
    /// </summary>
    public static double RepeatedNgramRate(ReadOnlySpan<int> tokens, int n = 4)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        int total = tokens.Length - n + 1;
        if (total <= 0) return double.NaN;
        int[] copy = tokens.ToArray();
        var seen = new HashSet<NgramKey>(total);
        int repeated = 0;
        for (int i = 0; i < total; i++)
            if (!seen.Add(new NgramKey(copy, i, n))) repeated++;
        return (double)repeated / total;
    }

    /// <summary>
    /// Dataset overlap: the length of the longest contiguous run of <paramref name="generated"/> that
    /// occurs anywhere in the corpus of <paramref name="index"/> (the hyperfitting paper's check that a
    /// model does not simply recite its training data). 0 when no single token occurs in the corpus.
    /// Cost per query O(L · m · log N) at worst for L generated tokens, a longest run m and a corpus of N,
    /// usually far less: a run stops costing binary searches once it is unique in the corpus.
    /// </summary>
    public static int LongestSharedRun(ReadOnlySpan<int> generated, TokenIndex index)
    {
        ArgumentNullException.ThrowIfNull(index);
        int best = 0;
        // A run starting at i is at most L − i long, so once that cannot beat the best we can stop.
        for (int i = 0; generated.Length - i > best; i++)
            best = Math.Max(best, index.LongestPrefixMatch(generated[i..]));
        return best;
    }

    /// <summary>The length of the other generation closest in length to generation <paramref name="self"/>, ties to the shorter (NLTK).</summary>
    private static int ClosestOtherLength(IReadOnlyList<int[]> generations, int self)
    {
        int c = generations[self].Length;
        int closest = -1;
        for (int j = 0; j < generations.Count; j++)
        {
            if (j == self) continue;
            int r = generations[j].Length;
            if (closest < 0) { closest = r; continue; }
            int d = Math.Abs(r - c), best = Math.Abs(closest - c);
            if (d < best || (d == best && r < closest)) closest = r;
        }
        return closest;
    }
}
