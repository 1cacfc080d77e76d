using Hyper.Kernels.Cpu;

namespace Hyper.Tests.Kernels;

/// <summary>The decode kernels' fork/join: every index exactly once, nested and concurrent calls, errors, the thread count.</summary>
public class CpuWorkersTests
{
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(7)]
    [TestCase(1000)]
    public void RunsEveryIndexOnce(int count)
    {
        for (int round = 0; round < 50; round++)
        {
            var hits = new int[count];
            CpuWorkers.For(count, i => Interlocked.Increment(ref hits[i]));
            Assert.That(hits, Is.All.EqualTo(1), $"round {round}");
        }
    }

    [Test]
    public void RangesCoverTheInterval()
    {
        foreach (var (n, minChunk) in new[] { (1, 1), (5, 1), (100, 7), (1000, 1), (1000, 2000), (65, 16) })
        {
            var hits = new int[n];
            CpuWorkers.ForRange(n, minChunk, (a, b) =>
            {
                Assert.That(b - a, Is.GreaterThanOrEqualTo(Math.Min(n, minChunk)));
                for (int i = a; i < b; i++) Interlocked.Increment(ref hits[i]);
            });
            Assert.That(hits, Is.All.EqualTo(1), $"n={n} minChunk={minChunk}");
        }
    }

    [Test]
    public void NestedAndConcurrentCallsRunInline()
    {
        // A call from inside a chunk, and calls from several threads at once, must neither deadlock
        // nor lose or repeat an index.
        var outer = new int[8 * 16];
        Parallel.For(0, 4, t =>
        {
            for (int r = 0; r < 20; r++)
                CpuWorkers.For(8, i => CpuWorkers.For(16, j => Interlocked.Increment(ref outer[i * 16 + j])));
        });
        Assert.That(outer, Is.All.EqualTo(4 * 20));
    }

    [Test]
    public void AnExceptionReachesTheCaller()
    {
        var e = Assert.Throws<AggregateException>(() => CpuWorkers.For(10, i =>
        {
            if (i == 7) throw new InvalidOperationException("chunk 7");
        }));
        Assert.That(e!.InnerException!.Message, Is.EqualTo("chunk 7"));
        // The workers are still there for the next job.
        var hits = new int[10];
        CpuWorkers.For(10, i => Interlocked.Increment(ref hits[i]));
        Assert.That(hits, Is.All.EqualTo(1));
    }

    [Test]
    [NonParallelizable]
    public void OneThreadRunsInline()
    {
        int saved = CpuParallel.Threads;
        try
        {
            CpuParallel.Threads = 1;
            int caller = Environment.CurrentManagedThreadId;
            var threads = new HashSet<int>();
            CpuWorkers.For(20, i => { lock (threads) threads.Add(Environment.CurrentManagedThreadId); });
            Assert.That(threads, Is.EquivalentTo(new[] { caller }));
        }
        finally
        {
            CpuParallel.Threads = saved;
        }
    }
}
