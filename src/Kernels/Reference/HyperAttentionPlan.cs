namespace Hyper.Kernels.Reference;

/// <summary>
/// Everything random or structural about one HyperAttention call, fixed before it runs so the
/// forward and the backward see the same pattern: the r LSH hyperplanes [r, hs] (shared by all
/// heads, as in the official code), the pieces of the causal recursion, and per sorted
/// rectangle and head the sampled key positions. Built from (config, T, NH, hs, seed) by
/// <see cref="Create"/>, deterministically.
/// <para>
/// Pieces. Non-causal: T &lt; MinSeqLen gives one exact <see cref="HyperAttentionNodeKind.Diagonal"/>
/// block, otherwise one sorted rectangle of all queries on all keys. Causal (Algorithm 4): a
/// range of n ≤ MinSeqLen tokens is one exact causal diagonal block; a longer one splits into a
/// first half of ⌈n/2⌉ tokens and a second half, recursively, plus the rectangle of the second
/// half's queries on the first half's keys (sorted, or exact when it has fewer than MinSeqLen
/// queries). Every query row's keys are then the disjoint union of its pieces' keys, and its
/// output is the log-sum-exp merge of its pieces — the paper's recursion, flattened.
/// </para>
/// <para>
/// Samples are positions in the rectangle's sorted key order (as in the official code), drawn
/// uniformly with replacement; batch elements share them (each has its own sort, so they pick
/// different keys).
/// </para>
/// </summary>
public sealed class HyperAttentionPlan
{
    private readonly float[] _hyperplanes;
    private readonly HyperAttentionNode[] _diagonals;
    private readonly HyperAttentionNode[] _rectangles;
    private readonly int[][] _samples; // [rectangle · NH + head] -> sorted key positions [m]

    /// <summary>
    /// A plan with the given hyperplanes [r, hs] (r = config.LshProjections) and samples:
    /// <paramref name="samples"/>(rectangle, head) returns the sorted key positions (each in
    /// [0, KeyCount)) for a sorted rectangle; any count, the weight of each is KeyCount/count.
    /// It is not called for exact rectangles. Tests use this to sample every key once.
    /// </summary>
    public HyperAttentionPlan(HyperAttentionConfig config, int T, int NH, int headSize, float[] hyperplanes,
        Func<HyperAttentionNode, int, int[]> samples)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (T < 0 || NH < 1 || headSize < 1)
            throw new ArgumentOutOfRangeException(nameof(T), $"hyper attention: bad dimensions (T={T}, NH={NH}, hs={headSize})");
        if (hyperplanes.Length != config.LshProjections * headSize)
            throw new ArgumentException($"hyper attention: {hyperplanes.Length} hyperplane values, expected r·hs = {config.LshProjections * headSize}", nameof(hyperplanes));
        Config = config;
        this.T = T;
        this.NH = NH;
        HeadSize = headSize;
        _hyperplanes = hyperplanes;
        var diagonals = new List<HyperAttentionNode>();
        var rectangles = new List<HyperAttentionNode>();
        if (T > 0)
        {
            if (config.Causal) Split(0, T, config.MinSeqLen, diagonals, rectangles);
            else if (T < config.MinSeqLen) diagonals.Add(new HyperAttentionNode(HyperAttentionNodeKind.Diagonal, 0, T, 0, T));
            else rectangles.Add(new HyperAttentionNode(HyperAttentionNodeKind.Sorted, 0, T, 0, T));
        }
        _diagonals = [.. diagonals];
        _rectangles = [.. rectangles];
        _samples = new int[_rectangles.Length * NH][];
        for (int r = 0; r < _rectangles.Length; r++)
            for (int h = 0; h < NH; h++)
            {
                HyperAttentionNode node = _rectangles[r];
                int[] s = node.Kind == HyperAttentionNodeKind.Sorted ? samples(node, h) : [];
                foreach (int p in s)
                    if ((uint)p >= (uint)node.KeyCount)
                        throw new ArgumentOutOfRangeException(nameof(samples), p, $"hyper attention: sample outside the rectangle's {node.KeyCount} keys");
                _samples[r * NH + h] = s;
            }
    }

    /// <summary>
    /// The plan for (config, T, NH, hs) from a seed: hyperplanes first (r·hs standard normals),
    /// then for each sorted rectangle in <see cref="Rectangles"/> order and each head
    /// config.SampleSize uniform positions, all from one SplitMix64 stream.
    /// </summary>
    public static HyperAttentionPlan Create(HyperAttentionConfig config, int T, int NH, int headSize, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var rng = new SplitMix64(seed);
        var planes = new float[config.LshProjections * Math.Max(headSize, 0)];
        for (int i = 0; i < planes.Length; i++) planes[i] = (float)rng.NextNormal();
        // The constructor asks for samples rectangle by rectangle, head by head, in order.
        return new HyperAttentionPlan(config, T, NH, headSize, planes, (node, _) =>
        {
            var s = new int[config.SampleSize];
            for (int i = 0; i < s.Length; i++) s[i] = rng.NextInt(node.KeyCount);
            return s;
        });
    }

    /// <summary>The settings.</summary>
    public HyperAttentionConfig Config { get; }

    /// <summary>Sequence length the plan is for.</summary>
    public int T { get; }

    /// <summary>Heads.</summary>
    public int NH { get; }

    /// <summary>Head size hs.</summary>
    public int HeadSize { get; }

    /// <summary>The LSH hyperplanes [r, hs], row t the normal of hyperplane t.</summary>
    public ReadOnlySpan<float> Hyperplanes => _hyperplanes;

    /// <summary>Exact diagonal blocks, in token order; disjoint, covering every row (when any exist).</summary>
    public IReadOnlyList<HyperAttentionNode> Diagonals => _diagonals;

    /// <summary>Rectangles (exact or sorted), in the recursion's pre-order; each row lies in at most one per recursion level.</summary>
    public IReadOnlyList<HyperAttentionNode> Rectangles => _rectangles;

    /// <summary>Sampled positions in the sorted key order of rectangle <paramref name="rectangle"/> for head <paramref name="head"/> (empty for exact rectangles).</summary>
    public ReadOnlySpan<int> Samples(int rectangle, int head) => _samples[rectangle * NH + head];

    /// <summary>Number of buckets, 2^r.</summary>
    public int Buckets => 1 << Config.LshProjections;

    /// <summary>The sort key of a bucket under <see cref="HyperAttentionConfig.Order"/>: g⁻¹(bucket) (true Gray) or g(bucket) (official).</summary>
    public int SortKey(int bucket) => Config.Order == HyperAttentionOrder.Gray ? InverseGray(bucket) : Gray(bucket);

    /// <summary>The reflected Gray code g(k) = k xor (k ≫ 1): the k-th word of the sequence in which neighbours differ in one bit.</summary>
    public static int Gray(int k) => k ^ (k >> 1);

    /// <summary>g⁻¹: the position of word <paramref name="g"/> in the Gray sequence (prefix xor of its bits from the top).</summary>
    public static int InverseGray(int g)
    {
        int k = g;
        for (int shift = 1; shift < 32; shift <<= 1) k ^= k >> shift;
        return k;
    }

    /// <summary>Key block size of a rectangle: the config's, or all keys for an exact one.</summary>
    public int BlockSizeOf(HyperAttentionNode node) => node.Kind == HyperAttentionNodeKind.Sorted ? Config.BlockSize : Math.Max(1, node.KeyCount);

    /// <summary>
    /// The key block that sorted query position p of a rectangle attends to: ⌊⌊p·n_k/n_q⌋ / b⌋.
    /// With n_q = n_k (every non-causal call, and causal ones at even lengths) it is ⌊p/b⌋, the
    /// official layout; otherwise queries are spread over the ⌈n_k/b⌉ blocks in proportion. Key
    /// block β holds sorted keys [β·b, min((β+1)·b, n_k)): the tail block is short, not padded.
    /// </summary>
    public static int QueryBlock(int p, int queryCount, int keyCount, int blockSize) => (int)((long)p * keyCount / queryCount) / blockSize;

    /// <summary>The first sorted query position of key block β: ⌈β·b·n_q/n_k⌉, the inverse of <see cref="QueryBlock"/>.</summary>
    public static int QueryBlockStart(int block, int queryCount, int keyCount, int blockSize)
        => (int)Math.Min(queryCount, ((long)block * blockSize * queryCount + keyCount - 1) / keyCount);

    /// <summary>Throws unless the plan was built for these dimensions.</summary>
    public void CheckFits(int T, int C, int NH)
    {
        if (T != this.T || NH != this.NH || C != NH * HeadSize)
            throw new ArgumentException($"hyper attention: plan is for T={this.T}, NH={this.NH}, hs={HeadSize}; called with T={T}, C={C}, NH={NH}");
    }

    private static void Split(int start, int n, int minSeqLen, List<HyperAttentionNode> diagonals, List<HyperAttentionNode> rectangles)
    {
        if (n <= minSeqLen)
        {
            diagonals.Add(new HyperAttentionNode(HyperAttentionNodeKind.Diagonal, start, n, start, n));
            return;
        }
        int first = (n + 1) / 2, second = n - first;
        var kind = second < minSeqLen ? HyperAttentionNodeKind.Exact : HyperAttentionNodeKind.Sorted;
        rectangles.Add(new HyperAttentionNode(kind, start + first, second, start, first));
        Split(start, first, minSeqLen, diagonals, rectangles);
        Split(start + first, second, minSeqLen, diagonals, rectangles);
    }
}
