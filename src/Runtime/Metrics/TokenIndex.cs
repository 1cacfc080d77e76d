namespace Hyper.Runtime.Metrics;

/// <summary>
/// An index over a reference corpus of token ids (e.g. the hyperfitting training data) answering
/// "does this run occur in it", "what is the longest prefix of this that occurs" and "which tokens follow
/// this context": a suffix array over the ints, queried by narrowing a range of suffixes one token at a
/// time (two binary searches per token), with no LCP array.
/// </summary>
/// <remarks>
/// Build: prefix doubling with radix sorts, O(N log m) for N tokens and a longest repeated run of m
/// (≤ log₂N + 1 passes; natural text stops after a few). Memory during the build ≈ 5 int arrays of N, kept
/// afterwards: the text and the suffix array (8 bytes a token). Queries: O(k log N) for a k-token
/// <see cref="Contains"/> or <see cref="Count"/>; <see cref="LongestPrefixMatch"/> stops binary-searching once
/// the match is unique and compares directly; <see cref="Continuations"/> adds O(d log N) for d distinct
/// followers. Documents given to <see cref="FromDocuments"/> are joined with a separator that no query token
/// matches, so no run crosses a document boundary.
/// </remarks>
public sealed class TokenIndex
{
    // Suffix order: a suffix that has ended sorts before any token, the separator before any real token.
    private const int Separator = -1;
    private const int End = int.MinValue;

    private readonly int[] _text; // [N] corpus tokens, documents joined by Separator
    private readonly int[] _sa;   // [N] suffix start positions of _text in lexicographic order

    /// <summary>Indexes one contiguous corpus (copied). Token ids must be non-negative.</summary>
    public TokenIndex(ReadOnlySpan<int> corpus) : this(Validated(corpus.ToArray()), corpus.Length, 1) { }

    private TokenIndex(int[] text, int tokenCount, int documentCount)
    {
        _text = text;
        _sa = BuildSuffixArray(text);
        TokenCount = tokenCount;
        DocumentCount = documentCount;
    }

    /// <summary>
    /// Indexes separate documents: a run, a count or a continuation never spans the end of one document
    /// and the start of the next. Token ids must be non-negative.
    /// </summary>
    public static TokenIndex FromDocuments(IEnumerable<int[]> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var docs = documents.ToList();
        int tokens = 0;
        foreach (int[] d in docs)
        {
            ArgumentNullException.ThrowIfNull(d, nameof(documents));
            Validated(d);
            tokens = checked(tokens + d.Length);
        }
        var text = new int[checked(tokens + Math.Max(0, docs.Count - 1))];
        int at = 0;
        for (int i = 0; i < docs.Count; i++)
        {
            if (i > 0) text[at++] = Separator;
            docs[i].CopyTo(text, at);
            at += docs[i].Length;
        }
        return new TokenIndex(text, tokens, docs.Count);
    }

    /// <summary>Number of corpus tokens indexed (separators not counted).</summary>
    public int TokenCount { get; }

    /// <summary>Number of documents (1 for a single contiguous corpus).</summary>
    public int DocumentCount { get; }

    /// <summary>Whether <paramref name="ngram"/> occurs contiguously in the corpus; the empty n-gram always does.</summary>
    public bool Contains(ReadOnlySpan<int> ngram) => ngram.IsEmpty || Count(ngram) > 0;

    /// <summary>How many times <paramref name="ngram"/> occurs in the corpus (overlapping occurrences count); <see cref="TokenCount"/> for the empty n-gram.</summary>
    public int Count(ReadOnlySpan<int> ngram)
    {
        if (ngram.IsEmpty) return TokenCount;
        var (lo, hi) = Find(ngram);
        return hi - lo;
    }

    /// <summary>
    /// The set of tokens that immediately follow some occurrence of <paramref name="context"/> in the
    /// corpus, ascending and without duplicates. An occurrence at the very end of the corpus (or of a
    /// document) has no follower and adds nothing; an empty context gives every distinct corpus token.
    /// This is what a citation blocker forbids: the tokens that would continue a training passage.
    /// </summary>
    public IReadOnlyList<int> Continuations(ReadOnlySpan<int> context)
    {
        var (lo, hi) = context.IsEmpty ? (0, _sa.Length) : Find(context);
        var result = new List<int>();
        int k = context.Length;
        // Within the range the suffixes are sorted by their token at offset k, so each distinct follower
        // is one contiguous block; jump over it with a binary search instead of scanning it.
        while (lo < hi)
        {
            int key = KeyAt(_sa[lo], k);
            if (key >= 0) result.Add(key);
            lo = UpperBound(lo, hi, k, key);
        }
        return result;
    }

    /// <summary>
    /// The length of the longest prefix of <paramref name="query"/> that occurs contiguously in the corpus
    /// (0 if its first token never occurs). <see cref="TextMetrics.LongestSharedRun"/> takes the maximum of
    /// this over the query's start positions.
    /// </summary>
    public int LongestPrefixMatch(ReadOnlySpan<int> query)
    {
        int lo = 0, hi = _sa.Length, k = 0;
        while (k < query.Length && hi - lo > 1)
        {
            int token = query[k];
            if (token < 0) return k;
            int a = LowerBound(lo, hi, k, token), b = UpperBound(a, hi, k, token);
            if (a == b) return k;
            (lo, hi, k) = (a, b, k + 1);
        }
        if (hi - lo == 1)
        {
            // One candidate left: binary searches would only confirm it, so compare directly.
            int p = _sa[lo];
            while (k < query.Length && query[k] >= 0 && p + k < _text.Length && _text[p + k] == query[k]) k++;
        }
        return k;
    }

    /// <summary>The range [lo, hi) of suffix-array entries whose suffixes start with the non-empty <paramref name="ngram"/>.</summary>
    private (int Lo, int Hi) Find(ReadOnlySpan<int> ngram)
    {
        int lo = 0, hi = _sa.Length;
        for (int k = 0; k < ngram.Length && lo < hi; k++)
        {
            if (ngram[k] < 0) return (0, 0);
            lo = LowerBound(lo, hi, k, ngram[k]);
            hi = UpperBound(lo, hi, k, ngram[k]);
        }
        return (lo, hi);
    }

    /// <summary>The token at offset k of the suffix starting at p, or <see cref="End"/> past the text.</summary>
    private int KeyAt(int p, int k) => p + k < _text.Length ? _text[p + k] : End;

    /// <summary>First index in [lo, hi) whose suffix has token ≥ key at offset k (the range shares its first k tokens, so it is sorted by that token).</summary>
    private int LowerBound(int lo, int hi, int k, int key)
    {
        while (lo < hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (KeyAt(_sa[mid], k) < key) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>First index in [lo, hi) whose suffix has token &gt; key at offset k.</summary>
    private int UpperBound(int lo, int hi, int k, int key)
    {
        while (lo < hi)
        {
            int mid = (int)((uint)(lo + hi) >> 1);
            if (KeyAt(_sa[mid], k) <= key) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    private static int[] Validated(int[] tokens)
    {
        for (int i = 0; i < tokens.Length; i++)
            if (tokens[i] < 0)
                throw new ArgumentException($"token ids must be non-negative; found {tokens[i]} at position {i}", nameof(tokens));
        return tokens;
    }

    /// <summary>
    /// Suffix array by prefix doubling (Manber &amp; Myers): after the pass for k, rank[i] orders suffixes
    /// by their first 2k tokens; each pass is two counting sorts (by rank[i + k], then stably by rank[i]),
    /// and the loop stops as soon as every rank is distinct. A suffix that ends before 2k tokens sorts
    /// before every longer one sharing its prefix.
    /// </summary>
    internal static int[] BuildSuffixArray(ReadOnlySpan<int> text)
    {
        int n = text.Length;
        var sa = new int[n];
        if (n == 0) return sa;

        // Initial ranks: token values compressed to 0..m-1 in order (dense, so the counting sorts fit n).
        var rank = new int[n];
        int classes = DenseRanks(text, rank);
        var count = new int[Math.Max(classes, n) + 1];
        CountingSort(rank, classes, count, items: null, sa);

        var order = new int[n];
        var next = new int[n];
        for (int k = 1; classes < n; k <<= 1)
        {
            // Order by the second key rank[i + k]: suffixes with nothing at i + k come first (their
            // first keys are all distinct, so their relative order does not matter), then sa shifted by k.
            int p = 0;
            for (int i = n - k; i < n; i++) order[p++] = i;
            foreach (int s in sa) if (s >= k) order[p++] = s - k;
            CountingSort(rank, classes, count, order, sa);

            next[sa[0]] = 0;
            int c = 0;
            for (int j = 1; j < n; j++)
            {
                int a = sa[j - 1], b = sa[j];
                int a2 = a + k < n ? rank[a + k] : -1, b2 = b + k < n ? rank[b + k] : -1;
                if (rank[a] != rank[b] || a2 != b2) c++;
                next[b] = c;
            }
            (rank, next) = (next, rank);
            classes = c + 1;
        }
        return sa;
    }

    /// <summary>Stable counting sort of <paramref name="items"/> (0..n-1 when null) by key[item] into <paramref name="output"/>.</summary>
    private static void CountingSort(int[] key, int classes, int[] count, int[]? items, int[] output)
    {
        int n = key.Length;
        Array.Clear(count, 0, classes + 1);
        for (int i = 0; i < n; i++) count[key[i] + 1]++;
        for (int c = 1; c <= classes; c++) count[c] += count[c - 1];
        if (items is null)
            for (int i = 0; i < n; i++) output[count[key[i]]++] = i;
        else
            foreach (int i in items) output[count[key[i]]++] = i;
    }

    /// <summary>Writes each token's rank among the distinct token values into <paramref name="rank"/>; returns the number of distinct values.</summary>
    private static int DenseRanks(ReadOnlySpan<int> text, int[] rank)
    {
        int min = int.MaxValue, max = int.MinValue;
        foreach (int t in text) { min = Math.Min(min, t); max = Math.Max(max, t); }
        long range = (long)max - min + 1;
        if (range <= Math.Max(text.Length, 1 << 20))
        {
            // Usual case (a vocabulary of at most ~10⁶ ids): a direct lookup table.
            var map = new int[range];
            foreach (int t in text) map[t - min] = 1;
            int m = 0;
            for (int v = 0; v < range; v++) map[v] = map[v] != 0 ? m++ : -1;
            for (int i = 0; i < text.Length; i++) rank[i] = map[text[i] - min];
            return m;
        }
        int[] values = text.ToArray();
        Array.Sort(values);
        int distinct = 0;
        for (int i = 0; i < values.Length; i++)
            if (i == 0 || values[i] != values[i - 1]) values[distinct++] = values[i];
        for (int i = 0; i < text.Length; i++) rank[i] = Array.BinarySearch(values, 0, distinct, text[i]);
        return distinct;
    }
}
