namespace Hyper.Runtime.Metrics;

/// <summary>
/// An n-gram as a window into a token array, usable as a dictionary key without copying: equality is
/// element-wise over the window, so the same n-gram in two different arrays is one key.
/// </summary>
internal readonly struct NgramKey : IEquatable<NgramKey>
{
    private readonly int[] _tokens;
    private readonly int _start;
    private readonly int _length;

    /// <summary>The window <paramref name="tokens"/>[<paramref name="start"/> .. +<paramref name="length"/>).</summary>
    public NgramKey(int[] tokens, int start, int length)
    {
        _tokens = tokens;
        _start = start;
        _length = length;
    }

    /// <summary>The n-gram's tokens.</summary>
    public ReadOnlySpan<int> Span => _tokens.AsSpan(_start, _length);

    /// <inheritdoc/>
    public bool Equals(NgramKey other) => Span.SequenceEqual(other.Span);

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is NgramKey other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (int t in Span) h.Add(t);
        return h.ToHashCode();
    }
}
