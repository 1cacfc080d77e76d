using Hyper.Runtime.Backends;

namespace Hyper.Runtime.Distributed;

/// <summary>
/// Collectives that reduce device buffers where they lie (NCCL on GPUs), so the gradient arena
/// never crosses to the host. <see cref="DataParallel"/> uses it when it can, and the host path
/// of <see cref="ICollectives"/> otherwise.
/// </summary>
public interface IDeviceAllReduce
{
    /// <summary>Whether <paramref name="view"/> lives where this reduces (a CUDA buffer for NCCL).</summary>
    bool Reduces(TensorView view);

    /// <summary><paramref name="view"/> = <paramref name="scale"/> · (sum over the ranks of <paramref name="view"/>), in place, ordered with the backend's kernels.</summary>
    void AllReduceSum(TensorView view, float scale);
}
