namespace Hyper.Runtime.Distributed;

/// <summary>
/// The collectives data-parallel training needs, over one group of ranks (processes): every rank
/// holds a full model, computes the gradient of its slice of the global batch, and the ranks sum
/// their gradients so every rank takes the same optimizer step. Calls are collective: every rank
/// makes the same calls in the same order, or the job hangs.
/// </summary>
public interface ICollectives : IDisposable
{
    /// <summary>This process's rank, 0..<see cref="WorldSize"/>-1; rank 0 alone writes files and prints.</summary>
    int Rank { get; }

    /// <summary>The number of ranks.</summary>
    int WorldSize { get; }

    /// <summary>What the implementation is ("single", "mpi", "nccl"), for logs and errors.</summary>
    string Name { get; }

    /// <summary>
    /// Whether the calls may come from a thread other than the one that opened the collectives, one
    /// thread at a time (MPI_THREAD_SERIALIZED): what summing gradient buckets during the backward needs.
    /// </summary>
    bool CallableFromAnotherThread => false;

    /// <summary>Sums <paramref name="data"/> element-wise over the ranks, in place on every rank.</summary>
    void AllReduceSum(Span<float> data);

    /// <summary>Sums a few doubles (a loss, a count) over the ranks, in place on every rank.</summary>
    void AllReduceSum(Span<double> data);

    /// <summary>Copies rank <paramref name="root"/>'s <paramref name="data"/> to every rank.</summary>
    void Broadcast(Span<float> data, int root = 0);

    /// <summary>Copies rank <paramref name="root"/>'s bytes to every rank (NCCL's unique id rides on this).</summary>
    void Broadcast(Span<byte> data, int root = 0);

    /// <summary>Returns on every rank once all ranks have called it.</summary>
    void Barrier();
}
