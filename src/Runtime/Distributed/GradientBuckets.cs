using System.Collections.Concurrent;
using System.Numerics.Tensors;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Models;

namespace Hyper.Runtime.Distributed;

/// <summary>
/// Sums a host gradient arena over the ranks in buckets, on a thread of its own, while the backward
/// goes on: the backward finishes the blocks from the last down, so the top blocks' gradients can
/// travel while the lower ones are still being computed (what PyTorch DDP's buckets do).
/// <para>
/// The buckets are fixed by the layout and the bucket size alone: runs of consecutive blocks, from
/// the top, each at least <c>bucketBytes</c> (the last may be smaller). Block tensors are stored
/// [L, ...], so a run of blocks is one contiguous range per block tensor. Every rank therefore
/// makes the same collective calls in the same order, whenever its own backward reaches each
/// block, and a rank without rows in a step (no backward at all) makes them all in
/// <see cref="Finish"/>. Everything outside the blocks (embeddings, the final norm, an untied head)
/// is only final when the backward returns, and goes last.
/// </para>
/// <para>
/// Two ranks add each element once, and addition commutes, so over two ranks the result is
/// bit-identical to one all-reduce of the whole arena; over more, the order of the partial sums may
/// differ by bucket.
/// </para>
/// </summary>
internal sealed class GradientBuckets : IDisposable
{
    private const int Rest = -1;

    private readonly ICollectives _collectives;
    private readonly List<(int LowestBlock, (long Offset, long Count)[] Ranges)> _buckets = [];
    private readonly (long Offset, long Count)[] _rest;
    private readonly BlockingCollection<int> _queue = new();
    private readonly SemaphoreSlim _finished = new(0);
    private readonly Thread _thread;
    private HostBuffer? _buffer;
    private long _base;
    private float _scale;
    private int _next;
    private Exception? _error;

    /// <summary>Plans the buckets of <paramref name="layout"/>'s gradients for <paramref name="collectives"/>.</summary>
    public GradientBuckets(ICollectives collectives, ParameterLayout layout, long bucketBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bucketBytes, 1);
        _collectives = collectives;
        var blockTensors = layout.Entries.Where(e => e.Part == LayoutPart.Block).ToArray();
        int L = layout.Layers;
        long bytesPerBlock = blockTensors.Sum(e => e.Count / L) * sizeof(float);
        for (int hi = L - 1; hi >= 0 && bytesPerBlock > 0;)
        {
            int lo = hi;
            while (lo > 0 && (hi - lo + 1) * bytesPerBlock < bucketBytes) lo--;
            int blocks = hi - lo + 1;
            _buckets.Add((lo, blockTensors.Select(e => (layout.LayerRange(e, lo).Offset, e.Count / L * blocks)).ToArray()));
            hi = lo - 1;
        }
        _rest = Complement(_buckets.SelectMany(b => b.Ranges), layout.Total);
        _thread = new Thread(Work) { IsBackground = true, Name = "hyper-gradient-buckets" };
        _thread.Start();
    }

    /// <summary>How many buckets a step sums: the runs of blocks, and the rest last.</summary>
    public int Count => _buckets.Count + 1;

    /// <summary>Starts a step over the gradients at <paramref name="offset"/> of <paramref name="buffer"/>, each sum then scaled by <paramref name="scale"/> (1/W: the mean).</summary>
    public void Begin(HostBuffer buffer, long offset, float scale)
    {
        _buffer = buffer;
        _base = offset;
        _scale = scale;
        _next = 0;
        _error = null;
    }

    /// <summary>The backward has finished block <paramref name="l"/> (and every block above it): hands over the buckets now complete.</summary>
    public void BlockDone(int l)
    {
        while (_next < _buckets.Count && _buckets[_next].LowestBlock >= l) _queue.Add(_next++);
    }

    /// <summary>Hands over what is left, in plan order, and waits until every bucket is summed; rethrows what failed on the bucket thread.</summary>
    public void Finish()
    {
        while (_next < _buckets.Count) _queue.Add(_next++);
        _queue.Add(Rest);
        _finished.Wait();
        if (_error is { } e) throw new IOException($"summing the gradients over the ranks failed: {e.Message}", e);
    }

    private void Work()
    {
        foreach (int bucket in _queue.GetConsumingEnumerable())
        {
            try
            {
                if (_error is null) Sum(bucket == Rest ? _rest : _buckets[bucket].Ranges);
            }
            catch (Exception e) { _error = e; }
            if (bucket == Rest) _finished.Release();
        }
    }

    private void Sum(IEnumerable<(long Offset, long Count)> ranges)
    {
        foreach (var (offset, count) in ranges)
        {
            for (long at = 0; at < count; at += int.MaxValue)
            {
                var span = _buffer!.Span(_base + offset + at, Math.Min(int.MaxValue, count - at));
                _collectives.AllReduceSum(span);
                TensorPrimitives.Multiply(span, _scale, span);
            }
        }
    }

    /// <summary>The parts of [0, total) that <paramref name="ranges"/> (disjoint) leave out, in order.</summary>
    private static (long Offset, long Count)[] Complement(IEnumerable<(long Offset, long Count)> ranges, long total)
    {
        var gaps = new List<(long, long)>();
        long at = 0;
        foreach (var (offset, count) in ranges.OrderBy(r => r.Offset))
        {
            if (offset > at) gaps.Add((at, offset - at));
            at = offset + count;
        }
        if (at < total) gaps.Add((at, total - at));
        return gaps.ToArray();
    }

    /// <summary>Ends the bucket thread.</summary>
    public void Dispose()
    {
        _queue.CompleteAdding();
        _thread.Join();
        _queue.Dispose();
        _finished.Dispose();
    }
}
