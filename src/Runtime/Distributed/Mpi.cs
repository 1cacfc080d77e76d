using System.Runtime.InteropServices;

namespace Hyper.Runtime.Distributed;

/// <summary>
/// Collectives over the system's MPI library (Open MPI's libmpi.so.40), bound at run time so a
/// machine without MPI builds and runs everything else. Ranks come from the launcher
/// (<c>mpirun -np N hyper ...</c>); on one machine Open MPI moves the data through shared memory,
/// across machines through TCP or InfiniBand, whichever it finds.
/// <para>
/// Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM) are not integers as in MPICH but the
/// addresses of exported globals (<c>ompi_mpi_comm_world</c>, ...), which is what the C macros
/// expand to; MPICH's ABI differs, so only Open MPI is bound here and another library is refused
/// by name.
/// </para>
/// </summary>
public sealed unsafe class Mpi : ICollectives
{
    /// <summary>The library names tried, Debian's and Red Hat's first.</summary>
    private static readonly string[] LibraryNames = ["libmpi.so.40", "libmpi.so"];

    // MPI counts are C ints: a larger arena is reduced in pieces of this many elements.
    private const int MaxCount = 1 << 30;
    private const int ThreadSerialized = 2; // Open MPI's MPI_THREAD_SERIALIZED
    private static readonly IntPtr InPlace = 1; // Open MPI's MPI_IN_PLACE is ((void *) 1)

    private readonly IntPtr _lib, _world, _float, _double, _byte, _sum;
    private readonly delegate* unmanaged<int*, IntPtr, int, int*, int> _initThread;
    private readonly delegate* unmanaged<int> _finalize;
    private readonly delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int> _allreduce;
    private readonly delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int> _bcast;
    private readonly delegate* unmanaged<IntPtr, int> _barrier;
    private bool _disposed;

    /// <inheritdoc />
    public int Rank { get; }
    /// <inheritdoc />
    public int WorldSize { get; }
    /// <inheritdoc />
    public string Name => "mpi";

    /// <summary>Whether an MPI library can be loaded here, and if not, why.</summary>
    public static bool IsAvailable(out string reason)
    {
        foreach (string name in LibraryNames)
        {
            if (NativeLibrary.TryLoad(name, out var h))
            {
                bool ompi = NativeLibrary.TryGetExport(h, "ompi_mpi_comm_world", out _);
                reason = ompi ? "" : $"{name} is not Open MPI (no ompi_mpi_comm_world); only Open MPI's ABI is bound";
                return ompi;
            }
        }
        reason = $"no MPI library ({string.Join(", ", LibraryNames)}); install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev)";
        return false;
    }

    /// <summary>Initialises MPI (MPI_Init_thread) and joins MPI_COMM_WORLD; throws <see cref="NotSupportedException"/> where there is no Open MPI.</summary>
    public Mpi()
    {
        if (!IsAvailable(out string reason)) throw new NotSupportedException($"MPI is not available: {reason}");
        _lib = LibraryNames.Select(n => NativeLibrary.TryLoad(n, out var h) ? h : 0).First(h => h != 0);
        _world = Export("ompi_mpi_comm_world");
        _float = Export("ompi_mpi_float");
        _double = Export("ompi_mpi_double");
        _byte = Export("ompi_mpi_byte");
        _sum = Export("ompi_mpi_op_sum");
        _initThread = (delegate* unmanaged<int*, IntPtr, int, int*, int>)Export("MPI_Init_thread");
        _finalize = (delegate* unmanaged<int>)Export("MPI_Finalize");
        _allreduce = (delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int>)Export("MPI_Allreduce");
        _bcast = (delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int>)Export("MPI_Bcast");
        _barrier = (delegate* unmanaged<IntPtr, int>)Export("MPI_Barrier");
        var rank = (delegate* unmanaged<IntPtr, int*, int>)Export("MPI_Comm_rank");
        var size = (delegate* unmanaged<IntPtr, int*, int>)Export("MPI_Comm_size");

        // MPI_Init_thread(NULL, NULL, ...) is allowed since MPI-2; the launcher passes what it needs in
        // the environment. MPI_THREAD_SERIALIZED: the gradient buckets are summed on a thread of their
        // own while the backward runs (GradientBuckets), never while another thread is inside MPI.
        int provided;
        Check(_initThread(null, 0, ThreadSerialized, &provided), "MPI_Init_thread");
        CallableFromAnotherThread = provided >= ThreadSerialized;
        int r, s;
        Check(rank(_world, &r), "MPI_Comm_rank");
        Check(size(_world, &s), "MPI_Comm_size");
        Rank = r;
        WorldSize = s;
    }

    /// <inheritdoc />
    public bool CallableFromAnotherThread { get; }

    /// <inheritdoc />
    public void AllReduceSum(Span<float> data) => Reduce(data, _float);

    /// <inheritdoc />
    public void AllReduceSum(Span<double> data) => Reduce(data, _double);

    /// <inheritdoc />
    public void Broadcast(Span<float> data, int root = 0) => Bcast(data, _float, root);

    /// <inheritdoc />
    public void Broadcast(Span<byte> data, int root = 0) => Bcast(data, _byte, root);

    /// <inheritdoc />
    public void Barrier() => Check(_barrier(_world), "MPI_Barrier");

    private void Reduce<T>(Span<T> data, IntPtr type) where T : unmanaged
    {
        for (int at = 0; at < data.Length; at += MaxCount)
        {
            var piece = data.Slice(at, Math.Min(MaxCount, data.Length - at));
            fixed (T* p = piece)
                Check(_allreduce(InPlace, (IntPtr)p, piece.Length, type, _sum, _world), "MPI_Allreduce");
        }
    }

    private void Bcast<T>(Span<T> data, IntPtr type, int root) where T : unmanaged
    {
        for (int at = 0; at < data.Length; at += MaxCount)
        {
            var piece = data.Slice(at, Math.Min(MaxCount, data.Length - at));
            fixed (T* p = piece)
                Check(_bcast((IntPtr)p, piece.Length, type, root, _world), "MPI_Bcast");
        }
    }

    private IntPtr Export(string name) => NativeLibrary.GetExport(_lib, name);

    // With MPI's default handler (errors are fatal) a failing call aborts the job before it
    // returns; this catches a library set up otherwise.
    private static void Check(int rc, string call)
    {
        if (rc != 0) throw new IOException($"{call} failed with MPI error {rc}");
    }

    /// <summary>MPI_Finalize: every rank must call it before exiting, or mpirun reports the job as failed.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _finalize();
    }
}
