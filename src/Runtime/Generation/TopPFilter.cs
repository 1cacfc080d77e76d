namespace Hyper.Runtime.Generation;

/// <summary>
/// Nucleus filtering (Holtzman et al. 2020): keeps the smallest set of most probable tokens whose
/// probability mass reaches p (the token that crosses p is kept; at least one token always is), under
/// the distribution the earlier steps left (after temperature and top-k).
/// </summary>
public sealed class TopPFilter : ILogitsProcessor
{
    private readonly double _p;
    private int[] _order = [];
    private ulong[] _keys = [];
    private double[] _probs = [];

    /// <summary>Keeps a nucleus of mass <paramref name="p"/> in (0, 1].</summary>
    public TopPFilter(double p)
    {
        if (!(p > 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "must be in (0, 1]");
        _p = p;
    }

    /// <inheritdoc />
    public void Process(Span<float> logits, DecodingContext context)
    {
        if (_order.Length < logits.Length) { _order = new int[logits.Length]; _probs = new double[logits.Length]; }
        LogitMath.Softmax(logits, _probs);
        int n = LogitMath.SortByLogitDescending(logits, _order, ref _keys);
        double mass = 0;
        int keep = 0;
        while (keep < n)
        {
            mass += _probs[_order[keep++]];
            if (mass >= _p) break;
        }
        LogitMath.KeepOnly(logits, _order, keep, n);
    }
}
