using Silk.NET.OpenCL;

namespace Hyper.Runtime.Backends.OpenCl;

/// <summary>Device memory of the OpenCL backend: one cl_mem of <see cref="Length"/> floats.</summary>
public sealed class OpenClBuffer : DeviceBuffer
{
    private readonly CL _cl;
    private readonly long _length;
    private nint _mem;

    internal OpenClBuffer(CL cl, nint mem, long length)
    {
        _cl = cl;
        _mem = mem;
        _length = length;
    }

    /// <inheritdoc />
    public override long Length => _length;

    /// <summary>The cl_mem handle; fails once the buffer is disposed.</summary>
    internal nint Mem
    {
        get
        {
            ObjectDisposedException.ThrowIf(_mem == 0, this);
            return _mem;
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        if (_mem != 0)
        {
            OpenClError.Check(_cl.ReleaseMemObject(_mem), "clReleaseMemObject");
            _mem = 0;
        }
    }
}
