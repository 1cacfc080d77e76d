namespace Hyper.Runtime.Data;

/// <summary>
/// Draws training batches of B windows of T+1 tokens. Windows start at multiples of T (0, T, 2T,
/// … while start+T+1 ≤ N), so each token is a target in at most one window. Each epoch visits
/// every window once, in a Fisher–Yates order that depends only on the seed and the epoch number;
/// that makes the sampler's whole state the count of windows consumed, and
/// <see cref="Restore"/> rebuilds it exactly for a bit-exact resume.
/// </summary>
public sealed class BatchSampler
{
    private readonly int[] _tokens;
    private readonly ulong _seed;
    private readonly int[] _order;   // (WindowCount) window indices of the current epoch, in visiting order
    private int _orderEpoch = -1;    // which epoch _order holds

    /// <summary>A sampler at the start of epoch 0.</summary>
    /// <param name="tokens">The token stream (N); not copied, so it must not change while sampling.</param>
    /// <param name="B">Windows per batch.</param>
    /// <param name="T">Sequence length: inputs and targets of each window.</param>
    /// <param name="seed">Seed of the window order.</param>
    public BatchSampler(int[] tokens, int B, int T, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(B);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(T);
        if (tokens.Length < (long)T + 1)
            throw new ArgumentException(
                $"corpus has {tokens.Length} tokens, fewer than one window of T+1 = {(long)T + 1}", nameof(tokens));
        _tokens = tokens;
        this.B = B;
        this.T = T;
        _seed = seed;
        WindowCount = (tokens.Length - 1) / T;
        _order = new int[WindowCount];
    }

    /// <summary>A sampler whose batches equal those of a fresh one after it consumed <paramref name="position"/> windows.</summary>
    public static BatchSampler Restore(int[] tokens, int B, int T, ulong seed, long position)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        return new BatchSampler(tokens, B, T, seed) { Position = position };
    }

    /// <summary>Windows per batch.</summary>
    public int B { get; }

    /// <summary>Sequence length.</summary>
    public int T { get; }

    /// <summary>Windows in one epoch: (N−1)/T.</summary>
    public int WindowCount { get; }

    /// <summary>Windows consumed since epoch 0 began; the one number to save for <see cref="Restore"/>.</summary>
    public long Position { get; private set; }

    /// <summary>The epoch the next window comes from (Position / WindowCount).</summary>
    public int Epoch => checked((int)(Position / WindowCount));

    /// <summary>
    /// Fills the next batch: <paramref name="inputs"/> (B, T) with each window's first T tokens and
    /// <paramref name="targets"/> (B, T) with its last T (the inputs shifted by one). A batch that
    /// runs past the end of an epoch continues with the next epoch's order.
    /// </summary>
    public void Next(Span<int> inputs, Span<int> targets)
    {
        int bt = B * T;
        if (inputs.Length != bt || targets.Length != bt)
            throw new ArgumentException(
                $"inputs and targets must each hold B×T = {B}×{T} = {bt} ids; got {inputs.Length} and {targets.Length}");
        for (int b = 0; b < B; b++)
        {
            int start = NextWindow() * T;
            _tokens.AsSpan(start, T).CopyTo(inputs.Slice(b * T, T));
            _tokens.AsSpan(start + 1, T).CopyTo(targets.Slice(b * T, T));
        }
    }

    /// <summary>Index of the next window (its tokens start at index·T), advancing Position.</summary>
    public int NextWindow()
    {
        int epoch = Epoch;
        if (epoch != _orderEpoch) Shuffle(epoch);
        int window = _order[(int)(Position % WindowCount)];
        Position++;
        return window;
    }

    private void Shuffle(int epoch)
    {
        // Seeding with seed + epoch would give SplitMix64 streams that are shifted copies of each
        // other; xor with a SplitMix64 hash of the epoch keeps the epochs' streams unrelated.
        var rng = new Rng(_seed ^ new Rng((ulong)epoch).NextUInt64());
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        for (int i = _order.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (_order[i], _order[j]) = (_order[j], _order[i]);
        }
        _orderEpoch = epoch;
    }
}
