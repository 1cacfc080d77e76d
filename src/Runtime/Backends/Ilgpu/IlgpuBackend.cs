using Hyper.Kernels.Ilgpu;
using ILGPU;
using ILGPU.Runtime;
using K = Hyper.Kernels.Ilgpu;

namespace Hyper.Runtime.Backends.Ilgpu;

/// <summary>
/// The op set as ILGPU kernels (<see cref="Hyper.Kernels.Ilgpu"/>), on ILGPU's CUDA accelerator
/// when an NVIDIA GPU is present and on its CPU accelerator otherwise (which simulates a GPU with
/// host threads: right answers, roughly a thousand times slower than <see cref="CpuBackend"/>,
/// for tests on tiny shapes). <c>HYPER_ILGPU_DEVICE=cpu|cuda</c> forces one.
/// <para>
/// Every kernel is compiled on first use and its launcher kept for the whole process (about
/// 150 ms per kernel on the CPU accelerator), shared by all instances with the accelerator. Ops are queued on the accelerator's default stream;
/// the host waits only where it reads results (downloads, sum of squares). Token ids and
/// targets are uploaded per call into one reusable int buffer.
/// </para>
/// </summary>
public sealed partial class IlgpuBackend : IBackend, IKernelVariants, IPackedWeightsBackend
{
    /// <summary>The environment variable that forces the device: <c>cpu</c> or <c>cuda</c>.</summary>
    public const string DeviceVariable = "HYPER_ILGPU_DEVICE";

    /// <summary>
    /// The ops with a kernel here. The rest run on <see cref="IBackend"/>'s reference default
    /// (<see cref="ReferenceFallback"/>), except HyperAttention, which does not run here.
    /// </summary>
    internal static readonly HashSet<Op> Native =
    [
        Op.Encoder, Op.LayerNorm, Op.Matmul, Op.Attention, Op.AttentionKv, Op.Gelu, Op.Residual,
        Op.SoftmaxCrossEntropy, Op.AdamW,
        Op.RmsNorm, Op.Rope, Op.SwiGlu, Op.GroupedQueryAttention, Op.GroupedQueryAttentionKv,
    ];

    private readonly Accelerator _accelerator;
    private readonly AcceleratorStream _stream;
    private readonly bool _cuda;
    // Threads per row of the layernorm and softmax kernels, and per group of the sum of squares.
    private readonly int _rowGroup;
    // Upper bound on Br, the rows per group of the attention kernels (the shared memory budget lowers it per head size).
    private readonly int _attentionRows;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _dummy;
    private readonly IlgpuKernels _kernels;
    private MemoryBuffer1D<int, Stride1D.Dense>? _ints;
    private MemoryBuffer1D<float, Stride1D.Dense>? _delta;
    private MemoryBuffer1D<double, Stride1D.Dense>? _partials;

    /// <summary>
    /// Creates the backend on the CUDA accelerator if there is one, else on the CPU accelerator,
    /// unless <see cref="DeviceVariable"/> forces one.
    /// </summary>
    /// <exception cref="BackendUnavailableException">The forced device is missing, or the variable holds something else.</exception>
    public IlgpuBackend()
    {
        string forced = (Environment.GetEnvironmentVariable(DeviceVariable) ?? "").Trim().ToLowerInvariant();
        if (forced is not ("" or "cpu" or "cuda"))
            throw new BackendUnavailableException($"{DeviceVariable}={forced} is neither cpu nor cuda");
        var device = IlgpuDevice.Get(forced);
        _cuda = device.IsCuda;
        _accelerator = device.Accelerator;
        _kernels = device.Kernels;
        _stream = _accelerator.DefaultStream;
        // The CPU accelerator runs a group's threads as host threads, and a barrier costs about
        // 0.1 ms per thread of the group (measured on 2 busy cores: 0.17 ms for groups of 4,
        // 28 ms for 256). So there the reductions and attention use tiny groups and the matmul
        // uses the variant without barriers (see VariantsOf); the kernels are the same.
        _rowGroup = _cuda ? 256 : 4;
        _attentionRows = _cuda ? 32 : 4;
        _matmulVariant = _cuda ? "tiled" : "naive";
        _dummy = _accelerator.Allocate1D<float>(1);
    }

    /// <inheritdoc />
    public string Name => "ilgpu";

    /// <inheritdoc />
    public string Description => _cuda
        ? $"ILGPU CUDA accelerator: {_accelerator.Name}, {_accelerator.MemorySize / (1L << 30)} GiB"
        : $"ILGPU CPU accelerator (GPU simulated on host threads, for tests on tiny shapes): {_accelerator.Name}";

    /// <summary>True on the CUDA accelerator, false on the CPU accelerator.</summary>
    public bool IsCuda => _cuda;

    /// <inheritdoc />
    public bool Supports(Op op) => Native.Contains(op);

    /// <inheritdoc />
    public DeviceBuffer Allocate(long length) => new IlgpuBuffer(_accelerator, length);

    /// <inheritdoc />
    public void Upload(ReadOnlySpan<float> source, TensorView destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"upload of {source.Length} floats into a view of {destination.Length}");
        if (source.Length == 0) return;
        Dense(destination).CopyFromCPU(_stream, source);
    }

    /// <inheritdoc />
    public void Download(TensorView source, Span<float> destination)
    {
        if (destination.Length != source.Length)
            throw new ArgumentException($"download of a view of {source.Length} floats into {destination.Length}");
        if (destination.Length == 0) return;
        Dense(source).CopyToCPU(_stream, destination);
        _stream.Synchronize();
    }

    /// <inheritdoc />
    public void Zero(TensorView view)
    {
        if (!view.IsEmpty) Dense(view).MemSetToZero(_stream);
    }

    /// <inheritdoc />
    public void Copy(TensorView source, TensorView destination)
    {
        if (source.Length != destination.Length)
            throw new ArgumentException($"copy of {source.Length} floats into a view of {destination.Length}");
        if (source.Length != 0) Dense(source).CopyTo(_stream, Dense(destination));
    }

    /// <inheritdoc />
    public double SumOfSquares(TensorView view)
    {
        if (view.IsEmpty) return 0;
        int groups = (int)Math.Min((view.Length + _rowGroup - 1) / _rowGroup, _cuda ? 1024 : 4);
        var partials = Grow(ref _partials, groups);
        _kernels.SumOfSquares(new KernelConfig(groups, _rowGroup), partials.View, V(view));
        var host = new double[groups];
        partials.View.SubView(0, groups).CopyToCPU(_stream, host);
        _stream.Synchronize();
        double sum = 0;
        foreach (double p in host) sum += p;
        return sum;
    }

    /// <summary>The accelerator memory of a view, which must belong to this kind of backend.</summary>
    private ArrayView1D<float, Stride1D.Dense> Dense(TensorView view)
    {
        if (view.IsEmpty) return _dummy.View;
        if (view.Buffer is not IlgpuBuffer buffer)
            throw new ArgumentException($"a {view.Buffer.GetType().Name} was passed to the ilgpu backend");
        return buffer.View(view.Offset, view.Length);
    }

    /// <summary>A view as a kernel argument; an empty view becomes a one-float dummy that the kernel is told not to use.</summary>
    private ArrayView<float> V(TensorView view) => Dense(view);

    /// <summary>Host ints (token ids, targets) on the device, in a buffer reused across calls.</summary>
    private ArrayView<int> UploadInts(ReadOnlySpan<int> values)
    {
        var buffer = Grow(ref _ints, values.Length);
        var view = buffer.View.SubView(0, values.Length);
        if (values.Length > 0) view.CopyFromCPU(_stream, values);
        return view;
    }

    /// <summary>A scratch buffer of at least <paramref name="length"/> elements, reallocated (doubling) when too small.</summary>
    private MemoryBuffer1D<T, Stride1D.Dense> Grow<T>(ref MemoryBuffer1D<T, Stride1D.Dense>? buffer, long length) where T : unmanaged
    {
        if (buffer is null || buffer.Length < length)
        {
            // Queued kernels may still read the old buffer.
            _stream.Synchronize();
            buffer?.Dispose();
            buffer = _accelerator.Allocate1D<T>(Math.Max(Math.Max(1, length), 2 * (buffer?.Length ?? 0)));
        }
        return buffer;
    }

    /// <summary>Grid groups to cover <paramref name="n"/> items with groups of <paramref name="group"/>.</summary>
    private static int Groups(int n, int group) => (n + group - 1) / group;

    private static void Expect(TensorView view, long length, string name, string op)
    {
        if (view.Length != length)
            throw new ArgumentException($"{op}: {name} has {view.Length} elements, expected {length}", name);
    }

    /// <summary>Frees this backend's scratch buffers; the accelerator is shared and stays (see <see cref="IlgpuDevice"/>).</summary>
    public void Synchronize() => _stream.Synchronize();

    /// <inheritdoc />
    public void Dispose()
    {
        _stream.Synchronize();
        _packedWeights?.Dispose();
        _ints?.Dispose();
        _delta?.Dispose();
        _partials?.Dispose();
        _dummy.Dispose();
    }
}
