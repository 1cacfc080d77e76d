namespace Hyper.Runtime.Backends;

/// <summary>
/// A contiguous range of a <see cref="DeviceBuffer"/>: what every op takes and writes. Shapes
/// are not stored here; they are written beside each buffer in the model (llm.c style) and
/// passed to the ops as dimensions.
/// </summary>
public readonly record struct TensorView(DeviceBuffer Buffer, long Offset, long Length)
{
    /// <summary>A view of nothing, for optional arguments such as a missing bias.</summary>
    public static TensorView Empty => default;

    /// <summary>True for <see cref="Empty"/>.</summary>
    public bool IsEmpty => Buffer is null || Length == 0;

    /// <summary>A sub-range of this view; fails loudly when it does not fit.</summary>
    public TensorView Slice(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new ArgumentOutOfRangeException(nameof(offset),
                $"slice [{offset}, {offset + length}) does not fit a view of {Length} floats");
        return new TensorView(Buffer, Offset + offset, length);
    }
}
