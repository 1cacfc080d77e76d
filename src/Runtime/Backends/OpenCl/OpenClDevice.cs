using System.Reflection;
using System.Text;
using Silk.NET.OpenCL;

namespace Hyper.Runtime.Backends.OpenCl;

/// <summary>
/// The OpenCL host glue: picks a device, owns its context, in-order queue and the one program
/// built from Kernels/*.cl, hands out cached kernels and moves bytes. Every cl* status is checked.
/// </summary>
internal sealed unsafe class OpenClDevice : IDisposable
{
    /// <summary>Environment variable that picks a device by its index in <see cref="ListDevices"/>.</summary>
    public const string DeviceVariable = "HYPER_OPENCL_DEVICE";

    private readonly CL _cl;
    private readonly nint _device;
    private nint _context, _queue, _program; // zeroed once released, so Dispose can run twice
    private readonly Dictionary<string, OpenClKernel> _kernels = [];
    private readonly OpenClBuffer _dummy;
    private nint _ints;
    private long _intCapacity;

    /// <summary>
    /// Opens the selected device and builds the kernels, plus <paramref name="extraSource"/> (tests
    /// use it to see a build fail); <see cref="BackendUnavailableException"/> when there is no device.
    /// </summary>
    public OpenClDevice(string extraSource = "")
    {
        try { _cl = CL.GetApi(); }
        catch (Exception e) { throw new BackendUnavailableException($"the OpenCL library (libOpenCL) cannot be loaded: {e.Message}"); }

        List<(nint Platform, nint Device, string PlatformName, string DeviceName, bool IsGpu)> devices;
        try { devices = ListDevices(_cl); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new BackendUnavailableException($"the OpenCL library (libOpenCL) cannot be used: {e.Message}");
        }
        if (devices.Count == 0) throw new BackendUnavailableException("no OpenCL platform or device found (is an ICD such as pocl-opencl-icd installed?)");
        int pick = devices.FindIndex(d => d.IsGpu);
        string? chosen = Environment.GetEnvironmentVariable(DeviceVariable);
        if (!string.IsNullOrEmpty(chosen))
        {
            if (!int.TryParse(chosen, out pick) || pick < 0 || pick >= devices.Count)
                throw new BackendUnavailableException($"{DeviceVariable}={chosen} is not a device index in 0..{devices.Count - 1}");
        }
        var (platform, device, platformName, deviceName, _) = devices[Math.Max(pick, 0)];
        _device = device;

        int err;
        nint* props = stackalloc nint[] { (nint)ContextProperties.Platform, platform, 0 };
        _context = _cl.CreateContext(props, 1, &device, null, null, &err);
        OpenClError.Check(err, "clCreateContext");
        try
        {
            _queue = _cl.CreateCommandQueue(_context, device, CommandQueueProperties.None, &err);
            OpenClError.Check(err, "clCreateCommandQueue");
            WorkGroupSize = ReductionWorkGroup((long)GetDeviceInfo<nuint>(DeviceInfo.MaxWorkGroupSize));
            long units = GetDeviceInfo<uint>(DeviceInfo.MaxComputeUnits);
            long mib = (long)(GetDeviceInfo<ulong>(DeviceInfo.GlobalMemSize) >> 20);
            Description = $"{platformName}: {deviceName}, {units} compute units, {mib} MiB";
            _program = Build($"-cl-std=CL1.2 -cl-fp32-correctly-rounded-divide-sqrt -D WG={WorkGroupSize}", extraSource);
            _dummy = Allocate(1);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Platform and device names and size, one line.</summary>
    public string Description { get; }

    /// <summary>Work-items per work-group of the row-reduction kernels (WG in the .cl sources).</summary>
    public int WorkGroupSize { get; }

    /// <summary>Every device of every platform, in platform then device order (the indices of HYPER_OPENCL_DEVICE).</summary>
    public static List<(nint Platform, nint Device, string PlatformName, string DeviceName, bool IsGpu)> ListDevices(CL cl)
    {
        var found = new List<(nint, nint, string, string, bool)>();
        uint platformCount;
        // No ICD at all is reported as CL_PLATFORM_NOT_FOUND_KHR: an empty list, not an error.
        if (cl.GetPlatformIDs(0, null, &platformCount) != 0 || platformCount == 0) return found;
        var platforms = new nint[platformCount];
        fixed (nint* p = platforms) OpenClError.Check(cl.GetPlatformIDs(platformCount, p, null), "clGetPlatformIDs");
        foreach (nint platform in platforms)
        {
            uint deviceCount;
            if (cl.GetDeviceIDs(platform, DeviceType.All, 0, null, &deviceCount) != 0 || deviceCount == 0) continue;
            var devices = new nint[deviceCount];
            fixed (nint* d = devices) OpenClError.Check(cl.GetDeviceIDs(platform, DeviceType.All, deviceCount, d, null), "clGetDeviceIDs");
            string platformName = PlatformString(cl, platform);
            foreach (nint device in devices)
            {
                ulong type;
                OpenClError.Check(cl.GetDeviceInfo(device, DeviceInfo.Type, sizeof(ulong), &type, null), "clGetDeviceInfo(TYPE)");
                found.Add((platform, device, platformName, DeviceString(cl, device), (type & (ulong)DeviceType.Gpu) != 0));
            }
        }
        return found;
    }

    /// <summary>The cached kernel of that name.</summary>
    public OpenClKernel Kernel(string name)
    {
        if (!_kernels.TryGetValue(name, out var kernel))
        {
            int err;
            nint handle = _cl.CreateKernel(_program, name, &err);
            OpenClError.Check(err, $"clCreateKernel({name})");
            _kernels[name] = kernel = new OpenClKernel(_cl, _queue, handle, name, _dummy.Mem);
        }
        return kernel;
    }

    /// <summary>A zero-filled buffer of <paramref name="length"/> floats (at least one is allocated: OpenCL has no empty buffers).</summary>
    public OpenClBuffer Allocate(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        int err;
        nuint bytes = (nuint)Math.Max(1, length) * sizeof(float);
        nint mem = _cl.CreateBuffer(_context, MemFlags.ReadWrite, bytes, null, &err);
        OpenClError.Check(err, $"clCreateBuffer({bytes} bytes)");
        var buffer = new OpenClBuffer(_cl, mem, length);
        Fill(mem, 0, Math.Max(1, length));
        return buffer;
    }

    /// <summary>Zeroes <paramref name="count"/> floats from float <paramref name="offset"/>.</summary>
    public void Fill(nint mem, long offset, long count)
    {
        if (count == 0) return;
        float zero = 0;
        OpenClError.Check(_cl.EnqueueFillBuffer(_queue, mem, &zero, sizeof(float), (nuint)(offset * sizeof(float)),
            (nuint)(count * sizeof(float)), 0, null, null), "clEnqueueFillBuffer");
    }

    /// <summary>Blocking copy of host floats into the device at a float offset.</summary>
    public void Write(nint mem, long offset, ReadOnlySpan<float> source)
    {
        if (source.IsEmpty) return;
        fixed (float* p = source)
            OpenClError.Check(_cl.EnqueueWriteBuffer(_queue, mem, true, (nuint)(offset * sizeof(float)),
                (nuint)(source.Length * sizeof(float)), p, 0, null, null), "clEnqueueWriteBuffer");
    }

    /// <summary>Blocking copy of device floats at a float offset into the host (waits for every queued kernel).</summary>
    public void Read(nint mem, long offset, Span<float> destination)
    {
        if (destination.IsEmpty) return;
        fixed (float* p = destination)
            OpenClError.Check(_cl.EnqueueReadBuffer(_queue, mem, true, (nuint)(offset * sizeof(float)),
                (nuint)(destination.Length * sizeof(float)), p, 0, null, null), "clEnqueueReadBuffer");
    }

    /// <summary>Device-side copy of <paramref name="count"/> floats (regions in one buffer must not overlap).</summary>
    public void Copy(nint source, long sourceOffset, nint destination, long destinationOffset, long count)
    {
        if (count == 0) return;
        OpenClError.Check(_cl.EnqueueCopyBuffer(_queue, source, destination, (nuint)(sourceOffset * sizeof(float)),
            (nuint)(destinationOffset * sizeof(float)), (nuint)(count * sizeof(float)), 0, null, null), "clEnqueueCopyBuffer");
    }

    /// <summary>
    /// Copies host ints (token ids, targets) into the one reusable device int buffer, grown as
    /// needed, and returns it. The write blocks, and the queue is in order, so kernels queued
    /// earlier have read the previous contents before they are replaced.
    /// </summary>
    public nint UploadInts(ReadOnlySpan<int> values)
    {
        if (values.Length > _intCapacity)
        {
            if (_ints != 0) OpenClError.Check(_cl.ReleaseMemObject(_ints), "clReleaseMemObject");
            _ints = 0;
            long capacity = Math.Max(1024, 2L * values.Length);
            int err;
            _ints = _cl.CreateBuffer(_context, MemFlags.ReadOnly, (nuint)(capacity * sizeof(int)), null, &err);
            OpenClError.Check(err, "clCreateBuffer(ints)");
            _intCapacity = capacity;
        }
        if (!values.IsEmpty)
            fixed (int* p = values)
                OpenClError.Check(_cl.EnqueueWriteBuffer(_queue, _ints, true, 0, (nuint)(values.Length * sizeof(int)), p, 0, null, null),
                    "clEnqueueWriteBuffer(ints)");
        return _ints;
    }

    /// <summary>Waits for every command queued so far.</summary>
    public void Finish() => OpenClError.Check(_cl.Finish(_queue), "clFinish");

    /// <inheritdoc />
    public void Dispose()
    {
        // Also called by a constructor that failed half-way: only what exists is released.
        if (_queue != 0) OpenClError.Check(_cl.Finish(_queue), "clFinish");
        foreach (var kernel in _kernels.Values) OpenClError.Check(_cl.ReleaseKernel(kernel.Handle), "clReleaseKernel");
        _kernels.Clear();
        _dummy?.Dispose();
        if (_ints != 0) OpenClError.Check(_cl.ReleaseMemObject(_ints), "clReleaseMemObject");
        _ints = 0;
        if (_program != 0) OpenClError.Check(_cl.ReleaseProgram(_program), "clReleaseProgram");
        _program = 0;
        if (_queue != 0) OpenClError.Check(_cl.ReleaseCommandQueue(_queue), "clReleaseCommandQueue");
        _queue = 0;
        if (_context != 0) OpenClError.Check(_cl.ReleaseContext(_context), "clReleaseContext");
        _context = 0;
    }

    /// <summary>The largest power of two ≤ 256 the device allows per work-group.</summary>
    private static int ReductionWorkGroup(long deviceMax)
    {
        int wg = 256;
        while (wg > deviceMax) wg /= 2;
        return wg;
    }

    /// <summary>Builds every embedded .cl file as one program, common.cl first; a failure throws with the build log.</summary>
    private nint Build(string options, string extraSource)
    {
        var assembly = typeof(OpenClDevice).Assembly;
        string[] names = assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith("Hyper.OpenCl.", StringComparison.Ordinal) && n.EndsWith(".cl", StringComparison.Ordinal))
            .OrderBy(n => n.EndsWith(".common.cl", StringComparison.Ordinal) ? 0 : 1).ThenBy(n => n, StringComparer.Ordinal)
            .ToArray();
        string[] sources = [.. names.Select(n => ReadResource(assembly, n)), extraSource];
        int err;
        nint program = _cl.CreateProgramWithSource(_context, (uint)sources.Length, sources, null, &err);
        OpenClError.Check(err, "clCreateProgramWithSource");
        nint device = _device;
        int status = _cl.BuildProgram(program, 1, &device, options, null, null);
        if (status != 0)
        {
            string log = BuildLog(program);
            _cl.ReleaseProgram(program);
            throw new InvalidOperationException($"OpenCL clBuildProgram failed: {OpenClError.Name(status)} ({status}); build log:\n{log}");
        }
        return program;
    }

    private string BuildLog(nint program)
    {
        nuint size;
        if (_cl.GetProgramBuildInfo(program, _device, ProgramBuildInfo.BuildLog, 0, null, &size) != 0) return "(no build log)";
        var bytes = new byte[(int)size];
        fixed (byte* b = bytes)
            if (_cl.GetProgramBuildInfo(program, _device, ProgramBuildInfo.BuildLog, size, b, null) != 0) return "(no build log)";
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0', '\n');
    }

    private static string ReadResource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private T GetDeviceInfo<T>(DeviceInfo info) where T : unmanaged
    {
        T value;
        OpenClError.Check(_cl.GetDeviceInfo(_device, info, (nuint)sizeof(T), &value, null), $"clGetDeviceInfo({info})");
        return value;
    }

    private static string DeviceString(CL cl, nint device)
    {
        nuint size;
        OpenClError.Check(cl.GetDeviceInfo(device, DeviceInfo.Name, 0, null, &size), "clGetDeviceInfo(NAME)");
        var bytes = new byte[(int)size];
        fixed (byte* b = bytes) OpenClError.Check(cl.GetDeviceInfo(device, DeviceInfo.Name, size, b, null), "clGetDeviceInfo(NAME)");
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0').Trim();
    }

    private static string PlatformString(CL cl, nint platform)
    {
        nuint size;
        OpenClError.Check(cl.GetPlatformInfo(platform, PlatformInfo.Name, 0, null, &size), "clGetPlatformInfo(NAME)");
        var bytes = new byte[(int)size];
        fixed (byte* b = bytes) OpenClError.Check(cl.GetPlatformInfo(platform, PlatformInfo.Name, size, b, null), "clGetPlatformInfo(NAME)");
        return Encoding.UTF8.GetString(bytes).TrimEnd('\0').Trim();
    }
}
