namespace Hyper.Runtime.Backends.Cuda;

/// <summary>fp32 device memory from libhypercuda: a device pointer and its length in floats.</summary>
public sealed class CudaBuffer : DeviceBuffer
{
    private readonly CudaNative _native;
    private nint _pointer;
    private readonly long _length;

    internal unsafe CudaBuffer(CudaNative native, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _native = native;
        _length = length;
        nint pointer;
        native.Check(native.Malloc(&pointer, length * sizeof(float)), $"allocating {length} floats");
        _pointer = pointer;
    }

    /// <inheritdoc />
    public override long Length => _length;

    /// <summary>The device address of float <paramref name="offset"/>.</summary>
    public nint At(long offset)
    {
        ObjectDisposedException.ThrowIf(_pointer == 0, this);
        return _pointer + (nint)(offset * sizeof(float));
    }

    /// <inheritdoc />
    public override unsafe void Dispose()
    {
        if (_pointer != 0)
        {
            _native.Free(_pointer);
            _pointer = 0;
        }
    }
}
