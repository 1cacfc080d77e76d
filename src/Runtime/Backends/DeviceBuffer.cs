namespace Hyper.Runtime.Backends;

/// <summary>A block of fp32 memory owned by one backend (host memory, device memory, ...).</summary>
public abstract class DeviceBuffer : IDisposable
{
    /// <summary>Number of floats the buffer holds.</summary>
    public abstract long Length { get; }

    /// <summary>The whole buffer as a view.</summary>
    public TensorView All => new(this, 0, Length);

    /// <summary>A view of <paramref name="length"/> floats starting at <paramref name="offset"/>.</summary>
    public TensorView Slice(long offset, long length) => All.Slice(offset, length);

    /// <inheritdoc />
    public abstract void Dispose();
}
