using ILGPU;
using ILGPU.Runtime;

namespace Hyper.Runtime.Backends.Ilgpu;

/// <summary>Floats in an ILGPU accelerator's memory (GPU memory, or host memory for the CPU accelerator).</summary>
public sealed class IlgpuBuffer : DeviceBuffer
{
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _memory;

    /// <summary>Allocates <paramref name="length"/> floats on <paramref name="accelerator"/> and zero-fills them.</summary>
    public IlgpuBuffer(Accelerator accelerator, long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        // ILGPU refuses empty allocations; an empty buffer keeps one unused float.
        _memory = accelerator.Allocate1D<float>(Math.Max(1, length));
        _memory.MemSetToZero();
        Length = length;
    }

    /// <inheritdoc />
    public override long Length { get; }

    /// <summary>The accelerator memory of a view of this buffer.</summary>
    public ArrayView1D<float, Stride1D.Dense> View(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > Length)
            throw new ArgumentOutOfRangeException(nameof(offset), $"[{offset}, {offset + length}) outside a buffer of {Length} floats");
        return _memory.View.SubView(offset, length);
    }

    /// <inheritdoc />
    public override void Dispose() => _memory.Dispose();
}
