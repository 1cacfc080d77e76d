using System.Diagnostics;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Distributed;

/// <summary>
/// Data-parallel training over <see cref="ICollectives"/>, written once for every trainer: each
/// rank holds the whole model, runs forward and backward on its slice of the global batch, and
/// one all-reduce per step turns the ranks' gradients into the gradient of the global batch. The
/// all-reduce comes before the gradient norm, so the norm, the clip factor and AdamW see the same
/// numbers on every rank and the parameters never drift apart.
/// <para>
/// With a bucket size (<c>bucketBytes</c> &gt; 0), a host gradient arena and collectives that may be
/// called from another thread, the all-reduce starts during the backward instead
/// (<see cref="BeginBackward"/>, <see cref="GradientBuckets"/>): the blocks' gradients are summed
/// bucket by bucket as the backward finishes them, and <see cref="AllReduceGradients"/> waits for
/// the last buckets only.
/// </para>
/// </summary>
public sealed class DataParallel(ICollectives collectives, long bucketBytes = 0) : IDisposable
{
    private float[]? _staging; // a host copy of the gradients, for backends whose buffers are not host memory
    private bool _stopAgreed;
    private GradientBuckets? _buckets;
    private bool _bucketing; // this step's buckets were handed to the model's backward

    /// <summary>The collectives underneath.</summary>
    public ICollectives Collectives { get; } = collectives;

    /// <summary>Whether this rank writes files (checkpoints, logs, plots) and reports progress.</summary>
    public bool IsLeader => Collectives.Rank == 0;

    /// <summary>Bytes this rank sent into the all-reduces of the last step (the gradient arena, plus the loss).</summary>
    public long StepBytes { get; private set; }

    /// <summary>
    /// Milliseconds the last step waited for the collectives after its backward, slower ranks
    /// included (with buckets, only what the backward did not hide).
    /// </summary>
    public double StepMs { get; private set; }

    /// <summary>
    /// The sequences each rank takes of a global batch of <paramref name="globalBatch"/>; throws
    /// <see cref="SettingException"/> when the batch does not split evenly, since unequal slices
    /// would weigh sequences unequally in the averaged gradient.
    /// </summary>
    public int LocalBatch(int globalBatch) => LocalBatch(globalBatch, Collectives.WorldSize);

    /// <summary><see cref="LocalBatch(int)"/> for a world of <paramref name="w"/> ranks.</summary>
    public static int LocalBatch(int globalBatch, int w)
    {
        if (globalBatch % w != 0)
            throw new SettingException("Batch", $"{globalBatch} does not split evenly over {w} ranks (it is the global batch: each rank takes batch / ranks sequences)");
        return globalBatch / w;
    }

    /// <summary>
    /// This rank's rows of a global batch of <paramref name="rows"/> sequences: contiguous, and as
    /// even as the count allows (a short last batch of an epoch may leave a rank fewer, or none).
    /// </summary>
    public (int Start, int Count) Rows(int rows) => Rows(rows, Collectives.Rank, Collectives.WorldSize);

    /// <summary><see cref="Rows(int)"/> of rank <paramref name="r"/> in a world of <paramref name="w"/>.</summary>
    public static (int Start, int Count) Rows(int rows, int r, int w)
    {
        int start = (int)((long)rows * r / w), end = (int)((long)rows * (r + 1) / w);
        return (start, end - start);
    }

    /// <summary>
    /// The loss scale of this rank's backward over <paramref name="localRows"/> of <paramref name="rows"/>:
    /// its mean loss weighs localRows/rows of the global mean, and the all-reduce divides by W.
    /// </summary>
    public float LossScale(int localRows, int rows) => LossScale(localRows, rows, Collectives.WorldSize);

    /// <summary><see cref="LossScale(int, int)"/> in a world of <paramref name="w"/>.</summary>
    public static float LossScale(int localRows, int rows, int w) => (float)((double)localRows * w / rows);

    /// <summary>The gradient bucket size in bytes; 0 sums the whole arena after the backward.</summary>
    public long BucketBytes { get; } = bucketBytes >= 0 ? bucketBytes : throw new ArgumentOutOfRangeException(nameof(bucketBytes));

    /// <summary>
    /// Called before <see cref="ICausalLm.Backward"/>: where buckets apply (see the class), hooks the
    /// model so that each bucket of block gradients is summed over the ranks as soon as the backward
    /// has finished it; otherwise does nothing. <see cref="AllReduceGradients"/> completes the step either way.
    /// </summary>
    public void BeginBackward(ICausalLm model)
    {
        if (Buckets(model) is not { } buckets) return;
        var grads = model.Gradients;
        buckets.Begin((HostBuffer)grads.Buffer, grads.Offset, 1f / Collectives.WorldSize);
        model.BlockGradientsDone = buckets.BlockDone;
        _bucketing = true;
    }

    /// <summary>How the gradients travel for <paramref name="model"/>, for the run's opening line.</summary>
    public string Describe(ICausalLm model) => Buckets(model) is { } b
        ? $"gradients summed in {b.Count} buckets during the backward"
        : "gradients summed in one all-reduce after the backward";

    /// <summary>The buckets for <paramref name="model"/>'s gradients where they apply (see the class), else null; the same answer on every rank.</summary>
    private GradientBuckets? Buckets(ICausalLm model)
    {
        var grads = model.Gradients;
        if (BucketBytes == 0 || Collectives.WorldSize == 1 || !Collectives.CallableFromAnotherThread || grads.Buffer is not HostBuffer
            || Collectives is IDeviceAllReduce device && device.Reduces(grads))
            return null;
        return _buckets ??= new GradientBuckets(Collectives, model.Layout, BucketBytes);
    }

    /// <summary>
    /// Sums the ranks' gradients and divides by W, so that after backwards scaled by
    /// <see cref="LossScale(int, int)"/> every rank holds the gradient of the global batch's mean loss; returns
    /// that mean loss from this rank's mean <paramref name="loss"/> over <paramref name="localRows"/>
    /// of <paramref name="rows"/>. A world of one returns at once.
    /// <para>
    /// <paramref name="stop"/> (this rank was asked to stop, Ctrl-C) rides on the same all-reduce:
    /// a signal reaches the ranks at different steps, and a rank that left the loop alone would
    /// leave the others waiting in the next all-reduce. <see cref="StopRequested"/> reads the result.
    /// </para>
    /// </summary>
    public float AllReduceGradients(ICausalLm model, float loss, int localRows, int rows, bool stop)
    {
        StepBytes = 0;
        StepMs = 0;
        int w = Collectives.WorldSize;
        if (w == 1) return loss;
        long t0 = Stopwatch.GetTimestamp();
        var grads = model.Gradients;
        if (_bucketing)
        {
            // Blocks already handed over may still be in flight; this waits for them and the rest.
            model.BlockGradientsDone = null;
            _bucketing = false;
            _buckets!.Finish();
        }
        else if (Collectives is IDeviceAllReduce device && device.Reduces(grads))
            device.AllReduceSum(grads, 1f / w);
        else if (grads.Buffer is HostBuffer host)
            MeanInPlace(host.Span(grads.Offset, grads.Length), w);
        else
        {
            // A device arena without a device all-reduce goes through the host: correct on any
            // backend, fast on none.
            _staging ??= new float[grads.Length];
            model.Backend.Download(grads, _staging);
            MeanInPlace(_staging, w);
            model.Backend.Upload(_staging, grads);
        }
        // A rank without rows contributes no loss (its mean is NaN or 0: weight 0 either way).
        Span<double> scalars = [localRows > 0 ? (double)loss * localRows / rows : 0, stop ? 1 : 0];
        Collectives.AllReduceSum(scalars);
        _stopAgreed = scalars[1] > 0;
        StepBytes = grads.Length * sizeof(float) + scalars.Length * sizeof(double);
        StepMs = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        return (float)scalars[0];
    }

    /// <summary>
    /// Whether the run stops before its next step: in one process when <paramref name="cancel"/>
    /// fired; over several ranks when any rank had been asked to at the last all-reduce, so all
    /// stop after the same step.
    /// </summary>
    public bool StopRequested(CancellationToken cancel) =>
        Collectives.WorldSize == 1 ? cancel.IsCancellationRequested : _stopAgreed;

    /// <summary>Copies rank 0's parameters to every rank, so a run starts from one set of weights whatever each rank initialised.</summary>
    public void BroadcastParameters(ICausalLm model)
    {
        if (Collectives.WorldSize == 1) return;
        float[] p = model.ReadParameters();
        Collectives.Broadcast(p);
        model.LoadParameters(p);
    }

    private void MeanInPlace(Span<float> g, int w)
    {
        Collectives.AllReduceSum(g);
        System.Numerics.Tensors.TensorPrimitives.Multiply(g, 1f / w, g);
    }

    /// <summary>Ends the bucket thread, if buckets were used (the collectives stay open: their owner closes them).</summary>
    public void Dispose() => _buckets?.Dispose();
}
