namespace Hyper.Runtime.Benchmarks;

/// <summary>What q, k and v hold in an attention benchmark.</summary>
public enum AttentionData
{
    /// <summary>Independent standard normal entries: flat attention, no large entries.</summary>
    Random = 0,

    /// <summary>
    /// q and k around a few random centres (standard normal entries, so |centre|² ≈ hs and a
    /// row's scores on its own cluster are ≈ √hs larger than on others: peaked attention with
    /// real large entries), noise 0.3 per entry; v standard normal.
    /// </summary>
    Clustered = 1,

    /// <summary>q, k and v of a trained model's layer on real text (<see cref="ModelAttentionInputs"/>).</summary>
    Model = 2,
}
