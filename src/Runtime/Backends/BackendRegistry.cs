namespace Hyper.Runtime.Backends;

/// <summary>
/// The backends this build knows, by command-line name. A backend whose device or driver is
/// missing throws <see cref="BackendUnavailableException"/> from its constructor, with the reason;
/// <see cref="TryCreate"/> turns that into a message for `hyper info` and test skips.
/// </summary>
public static class BackendRegistry
{
    /// <summary>One known backend: its name, a one-line summary, and how to create it.</summary>
    public sealed record Entry(string Name, string Summary, Func<IBackend> Factory);

    private static readonly Entry[] Entries =
    [
        new("cpu", "SIMD kernels (Vector512/Vector256, FMA) on every core", () => new CpuBackend()),
        new("opencl", "hand-written OpenCL C 1.2 kernels on any OpenCL device (HYPER_OPENCL_DEVICE=N picks one)", () => new OpenCl.OpenClBackend()),
        new("reference", "scalar reference kernels: the oracle every other backend is tested against", () => new ReferenceBackend()),
        new("cuda", "hand-written CUDA kernels (native/cuda, libhypercuda.so) on an NVIDIA GPU", () => new Cuda.CudaBackend()),
        new("ilgpu", "ILGPU kernels on the CUDA accelerator, or on the CPU accelerator without a GPU (slow; tests)", () => new Ilgpu.IlgpuBackend()),
    ];

    /// <summary>Every known backend, available here or not.</summary>
    public static IReadOnlyList<Entry> All => Entries;

    /// <summary>Names accepted by --device / --backend.</summary>
    public static IReadOnlyList<string> Names { get; } = Entries.Select(e => e.Name).ToArray();

    /// <summary>Creates a backend by name, with a clear error for an unknown or unavailable one.</summary>
    public static IBackend Create(string name)
    {
        var entry = Entries.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"unknown backend '{name}' (known: {string.Join(", ", Names)})");
        try { return entry.Factory(); }
        catch (BackendUnavailableException e) { throw new ArgumentException($"backend '{entry.Name}' is not available here: {e.Message}", e); }
    }

    /// <summary>Creates a backend, or gives the reason it is not available on this machine.</summary>
    public static bool TryCreate(string name, out IBackend? backend, out string reason)
    {
        backend = null;
        reason = "";
        try { backend = Create(name); return true; }
        catch (ArgumentException e) { reason = e.Message; return false; }
    }
}

/// <summary>Thrown by a backend's constructor when its device, driver or native library is missing.</summary>
public sealed class BackendUnavailableException(string reason) : Exception(reason);
