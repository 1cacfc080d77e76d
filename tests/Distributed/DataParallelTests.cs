using Hyper.Runtime;
using Hyper.Runtime.Distributed;

namespace Hyper.Tests.Distributed;

/// <summary>How <see cref="DataParallel"/> splits a global batch over the ranks, without MPI: a stand-in world of W ranks.</summary>
public class DataParallelTests
{
    private sealed class World(int rank, int world) : ICollectives
    {
        public int Rank => rank;
        public int WorldSize => world;
        public string Name => "test";
        public void AllReduceSum(Span<float> data) { }
        public void AllReduceSum(Span<double> data) { }
        public void Broadcast(Span<float> data, int root = 0) { }
        public void Broadcast(Span<byte> data, int root = 0) { }
        public void Barrier() { }
        public void Dispose() { }
    }

    [TestCase(8, 1)]
    [TestCase(8, 2)]
    [TestCase(3, 2)]
    [TestCase(2, 4)]
    [TestCase(11, 3)]
    public void TheRanksRowsCoverTheBatchOnceInOrderAndTheirLossScalesWeighThem(int rows, int world)
    {
        int next = 0;
        double weight = 0;
        for (int r = 0; r < world; r++)
        {
            var dp = new DataParallel(new World(r, world));
            var (start, count) = dp.Rows(rows);
            Assert.That(start, Is.EqualTo(next), $"rank {r} starts where rank {r - 1} ended");
            Assert.That(count, Is.InRange(rows / world, rows / world + 1), "as even as the count allows");
            next += count;
            // Each rank's mean loss is scaled by its share times W; the all-reduce then divides by W.
            weight += dp.LossScale(count, rows) / world;
        }
        Assert.That(next, Is.EqualTo(rows));
        Assert.That(weight, Is.EqualTo(1).Within(1e-6), "the shares add up to the whole batch");
    }

    [Test]
    public void AGlobalBatchThatDoesNotSplitIsRefusedNamingTheBatch()
    {
        var e = Assert.Throws<SettingException>(() => new DataParallel(new World(0, 2)).LocalBatch(3))!;
        Assert.That(e.Setting, Is.EqualTo("Batch"));
        Assert.That(e.Problem, Does.StartWith("3 does not split evenly over 2 ranks"));
        Assert.That(new DataParallel(new World(1, 2)).LocalBatch(8), Is.EqualTo(4));
    }

    [Test]
    public void OneRankIsTheLeaderAndAWorldOfOneReducesNothing()
    {
        Assert.That(new DataParallel(new World(0, 2)).IsLeader, Is.True);
        Assert.That(new DataParallel(new World(1, 2)).IsLeader, Is.False);
        var single = new DataParallel(SingleProcess.Instance);
        Assert.That(single.StopRequested(new CancellationToken(true)), Is.True, "one process stops on its own signal");
        Assert.That(new DataParallel(new World(0, 2)).StopRequested(new CancellationToken(true)), Is.False,
            "several ranks stop only on what the all-reduce agreed");
    }
}
