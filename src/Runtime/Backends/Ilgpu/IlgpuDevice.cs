using Hyper.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Hyper.Runtime.Backends.Ilgpu;

/// <summary>
/// One ILGPU context, accelerator and set of compiled kernels per process and device kind,
/// shared by every <see cref="IlgpuBackend"/>: compiling the kernels takes seconds (about
/// 150 ms each on this project's CPU accelerator), and a CUDA context is a per-process resource
/// anyway. Created on first use, released when the process exits.
/// </summary>
internal sealed class IlgpuDevice
{
    private static readonly Lock Gate = new();
    private static IlgpuDevice? _cpu, _cuda;

    private readonly Context _context;

    private IlgpuDevice(Context context, Accelerator accelerator, bool cuda)
    {
        _context = context;
        Accelerator = accelerator;
        IsCuda = cuda;
        Kernels = new IlgpuKernels(accelerator);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Release();
    }

    /// <summary>The accelerator the kernels run on.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>True for the CUDA accelerator.</summary>
    public bool IsCuda { get; }

    /// <summary>The kernel launchers, compiled on first use.</summary>
    public IlgpuKernels Kernels { get; }

    /// <summary>
    /// The CUDA device if there is one (or <paramref name="forced"/> is "cuda"), else the CPU
    /// accelerator (or when <paramref name="forced"/> is "cpu").
    /// </summary>
    /// <exception cref="BackendUnavailableException">CUDA is forced but missing.</exception>
    public static IlgpuDevice Get(string forced)
    {
        lock (Gate)
        {
            if (forced != "cpu")
            {
                if (_cuda is null)
                {
                    var context = Create();
                    var devices = context.GetCudaDevices();
                    if (devices.Count > 0) _cuda = new IlgpuDevice(context, devices[0].CreateAccelerator(context), cuda: true);
                    else context.Dispose();
                }
                if (_cuda is not null) return _cuda;
                if (forced == "cuda")
                    throw new BackendUnavailableException($"{IlgpuBackend.DeviceVariable}=cuda, but ILGPU finds no CUDA device (no NVIDIA GPU or driver)");
            }
            if (_cpu is null)
            {
                var context = Create();
                _cpu = new IlgpuDevice(context, CpuDevice.CreateAccelerator(context), cuda: false);
            }
            return _cpu;
        }
    }

    // Groups of up to 256 threads so that the 16×16 matmul tiles fit (ILGPU's default CPU
    // device allows 16). Warps of 4: launches cost less with small simulated warps (measured:
    // an elementwise kernel over 4096 floats took 285 ms with warps of 4, 1100 ms with 16).
    private static readonly CPUDevice CpuDevice = new(numThreadsPerWarp: 4, numWarpsPerMultiprocessor: 64, numMultiprocessors: 1);

    // Algorithms supplies the math functions (exp, log, sqrt) on every accelerator.
    private static Context Create() => Context.Create(b => b.Cuda().CPU(CpuDevice).EnableAlgorithms().Optimize(OptimizationLevel.O1));

    private void Release()
    {
        Accelerator.Dispose();
        _context.Dispose();
    }
}
