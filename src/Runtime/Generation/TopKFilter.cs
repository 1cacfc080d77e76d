namespace Hyper.Runtime.Generation;

/// <summary>
/// Keeps exactly the k highest logits (llama.cpp's rule; among equal logits the lower id wins) and masks
/// the rest; a no-op when at most k tokens are left.
/// </summary>
public sealed class TopKFilter : ILogitsProcessor
{
    private readonly int _k;
    private int[] _order = [];
    private ulong[] _keys = [];

    /// <summary>Keeps the <paramref name="k"/> (≥ 1) most probable tokens.</summary>
    public TopKFilter(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        _k = k;
    }

    /// <inheritdoc />
    public void Process(Span<float> logits, DecodingContext context)
    {
        if (_order.Length < logits.Length) _order = new int[logits.Length];
        int n = LogitMath.SortByLogitDescending(logits, _order, ref _keys);
        if (n > _k) LogitMath.KeepOnly(logits, _order, _k, n);
    }
}
