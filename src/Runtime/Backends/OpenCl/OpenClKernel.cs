using Silk.NET.OpenCL;

namespace Hyper.Runtime.Backends.OpenCl;

/// <summary>
/// One compiled kernel and the arguments of its next launch, set in order:
/// <c>kernel.View(out).View(inp).Int(N).Launch(n)</c>. A view is two arguments, the cl_mem and
/// the offset in floats (see Kernels/common.cl). Not thread-safe, as a backend is not.
/// </summary>
internal sealed unsafe class OpenClKernel(CL cl, nint queue, nint handle, string name, nint dummy)
{
    private uint _next;

    /// <summary>The cl_kernel handle (released by the backend).</summary>
    public nint Handle => handle;

    /// <summary>A float view; an empty one (a missing bias) passes a one-float stand-in buffer, since OpenCL has no null cl_mem argument (the kernel must not read it).</summary>
    public OpenClKernel View(TensorView view)
    {
        nint mem = view.IsEmpty ? dummy : Mem(view.Buffer);
        Set(sizeof(nint), &mem);
        ulong offset = view.IsEmpty ? 0 : (ulong)view.Offset;
        return Set(sizeof(ulong), &offset);
    }

    /// <summary>A device int array at an offset in ints.</summary>
    public OpenClKernel Ints(nint mem, long offset)
    {
        Set(sizeof(nint), &mem);
        ulong o = (ulong)offset;
        return Set(sizeof(ulong), &o);
    }

    /// <summary>An int argument.</summary>
    public OpenClKernel Int(int value) => Set(sizeof(int), &value);

    /// <summary>A float argument.</summary>
    public OpenClKernel Float(float value) => Set(sizeof(float), &value);

    /// <summary>Enqueues a 1-D launch of <paramref name="global"/> work-items (local size left to the driver when 0).</summary>
    public void Launch(long global, int local = 0) => Launch(global, 1, local, local == 0 ? 0 : 1);

    /// <summary>Enqueues a 2-D launch; nothing runs when either global size is 0.</summary>
    public void Launch(long global0, long global1, int local0, int local1)
    {
        uint count = _next;
        _next = 0;
        if (global0 == 0 || global1 == 0) return;
        var global = stackalloc nuint[] { (nuint)global0, (nuint)global1 };
        var local = stackalloc nuint[] { (nuint)local0, (nuint)local1 };
        OpenClError.Check(cl.EnqueueNdrangeKernel(queue, handle, 2, null, global, local0 == 0 ? null : local, 0, null, null),
            $"clEnqueueNDRangeKernel({name}, {count} args, global {global0}×{global1}, local {local0}×{local1})");
    }

    private OpenClKernel Set(int size, void* value)
    {
        OpenClError.Check(cl.SetKernelArg(handle, _next, (nuint)size, value), $"clSetKernelArg({name}, {_next})");
        _next++;
        return this;
    }

    private static nint Mem(DeviceBuffer buffer) => buffer as OpenClBuffer is { } b ? b.Mem
        : throw new ArgumentException($"a {buffer.GetType().Name} was passed to the OpenCL backend");
}
