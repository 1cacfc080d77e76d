namespace Hyper.Runtime.Distributed;

/// <summary>A world of one rank: every collective is the identity. The default when nothing is distributed.</summary>
public sealed class SingleProcess : ICollectives
{
    /// <summary>The one instance (it holds nothing).</summary>
    public static readonly SingleProcess Instance = new();

    /// <inheritdoc />
    public int Rank => 0;
    /// <inheritdoc />
    public int WorldSize => 1;
    /// <inheritdoc />
    public string Name => "single";
    /// <inheritdoc />
    public void AllReduceSum(Span<float> data) { }
    /// <inheritdoc />
    public void AllReduceSum(Span<double> data) { }
    /// <inheritdoc />
    public void Broadcast(Span<float> data, int root = 0) { }
    /// <inheritdoc />
    public void Broadcast(Span<byte> data, int root = 0) { }
    /// <inheritdoc />
    public void Barrier() { }
    /// <inheritdoc />
    public void Dispose() { }
}
