using Hyper.Runtime.Backends;
using Hyper.Runtime.Backends.Cuda;

namespace Hyper.Runtime.Distributed;

/// <summary>
/// GPU ranks: the gradient arena is summed by NCCL inside libhypercuda (native/cuda/src/comm.cu),
/// device to device; MPI launches the ranks, carries NCCL's unique id from rank 0 to the others
/// (as llm.c does) and does the small host collectives (the loss, a barrier). One GPU per rank.
/// <para>
/// Written against the C ABI and type-checked, but not yet run: the machine it was written on
/// has no GPU and no NCCL (docs/data-parallel.md says what was measured where).
/// </para>
/// </summary>
public sealed unsafe class Nccl : ICollectives, IDeviceAllReduce
{
    private const int IdBytes = 128; // HYPER_CUDA_COMM_ID_BYTES
    private readonly Mpi _mpi;
    private readonly CudaNative _native;
    private bool _disposed;

    private Nccl(Mpi mpi)
    {
        _mpi = mpi;
        _native = CudaNative.Load();
        var id = new byte[IdBytes];
        if (mpi.Rank == 0)
            fixed (byte* p = id) _native.Check(_native.CommUniqueId(p), "NCCL unique id");
        mpi.Broadcast(id.AsSpan());
        fixed (byte* p = id) _native.Check(_native.CommInit(p, mpi.Rank, mpi.WorldSize), "NCCL init");
    }

    /// <summary>Opens NCCL over the ranks of <paramref name="mpi"/>, which it then owns; disposes it when NCCL does not open.</summary>
    public static Nccl Open(Mpi mpi)
    {
        try { return new Nccl(mpi); }
        catch
        {
            mpi.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public int Rank => _mpi.Rank;
    /// <inheritdoc />
    public int WorldSize => _mpi.WorldSize;
    /// <inheritdoc />
    public string Name => "nccl";

    /// <inheritdoc />
    public bool Reduces(TensorView view) => view.Buffer is CudaBuffer;

    /// <inheritdoc />
    public void AllReduceSum(TensorView view, float scale)
    {
        var buffer = (CudaBuffer)view.Buffer;
        _native.Check(_native.CommAllReduceSum(buffer.At(view.Offset), view.Length, scale), "NCCL all-reduce");
    }

    // Host data goes over MPI: NCCL reduces device memory only.
    /// <inheritdoc />
    public void AllReduceSum(Span<float> data) => _mpi.AllReduceSum(data);
    /// <inheritdoc />
    public void AllReduceSum(Span<double> data) => _mpi.AllReduceSum(data);
    /// <inheritdoc />
    public void Broadcast(Span<float> data, int root = 0) => _mpi.Broadcast(data, root);
    /// <inheritdoc />
    public void Broadcast(Span<byte> data, int root = 0) => _mpi.Broadcast(data, root);
    /// <inheritdoc />
    public void Barrier() => _mpi.Barrier();

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _native.CommDestroy();
        _mpi.Dispose();
    }
}
