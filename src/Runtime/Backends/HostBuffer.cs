using System.Runtime.InteropServices;

namespace Hyper.Runtime.Backends;

/// <summary>
/// Host memory for the CPU backends: one native allocation aligned to 64 bytes (a Vector512),
/// outside the GC heap so it never moves and large arenas do not burden the collector.
/// <para>
/// The memory comes from calloc, which for large sizes maps fresh pages the kernel already
/// zeroes and does not write them: a page costs resident memory only once it is touched. So an
/// arena of which only part is ever used (the gradients and Adam moments of the last blocks when
/// hyperfitting <c>--train-layers last:N</c>) occupies only that part.
/// </para>
/// </summary>
public sealed unsafe class HostBuffer : DeviceBuffer
{
    private const nuint Alignment = 64;
    private void* _base;
    private float* _data;
    private readonly long _length;

    /// <summary>Allocates and zero-fills <paramref name="length"/> floats.</summary>
    public HostBuffer(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        _length = length;
        nuint bytes = (nuint)Math.Max(1, length) * sizeof(float);
        // calloc has no aligned form: over-allocate and round the start up to the next 64 bytes.
        _base = NativeMemory.AllocZeroed(bytes + Alignment);
        _data = (float*)(((nuint)_base + Alignment - 1) & ~(Alignment - 1));
        // A large buffer (a model's parameters, gradients, moments) gets 2 MiB pages from its first writes on: fewer
        // faults while it is filled, and no copy when a decoder later asks for huge pages. Untouched pages stay unmapped.
        if ((long)bytes >= HugeFrom) HugePages.AdviseFresh(_base, (long)bytes + (long)Alignment);
    }

    /// <summary>Buffers from this many bytes on are advised 2 MiB pages before their first write.</summary>
    private const long HugeFrom = 64L << 20;

    /// <inheritdoc />
    public override long Length => _length;

    /// <summary>Whether <see cref="Dispose"/> has freed the memory.</summary>
    public bool IsDisposed => _data == null;

    /// <summary>The floats of a view of this buffer.</summary>
    public Span<float> Span(long offset, long length)
    {
        ObjectDisposedException.ThrowIf(_data == null, this);
        if (offset < 0 || length < 0 || offset + length > _length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, {offset + length}) outside a buffer of {_length} floats");
        if (length > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(length), $"a view of {length} floats is more than one span can address");
        return new Span<float>(_data + offset, (int)length);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        if (_data != null)
        {
            NativeMemory.Free(_base);
            _base = null;
            _data = null;
        }
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the memory if the owner forgot to.</summary>
    ~HostBuffer() => Dispose();
}
