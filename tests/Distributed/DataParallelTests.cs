using Hyper.Runtime;
using Hyper.Runtime.Distributed;

namespace Hyper.Tests.Distributed;

/// <summary>How <see cref="DataParallel"/> splits a global batch over W ranks, checked without MPI.</summary>
public class DataParallelTests
{
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
            var (start, count) = DataParallel.Rows(rows, r, world);
            Assert.That(start, Is.EqualTo(next), $"rank {r} starts where rank {r - 1} ended");
            Assert.That(count, Is.InRange(rows / world, rows / world + 1), "as even as the count allows");
            next += count;
            // Each rank's mean loss is scaled by its share times W; the all-reduce then divides by W.
            weight += DataParallel.LossScale(count, rows, world) / world;
        }
        Assert.That(next, Is.EqualTo(rows));
        Assert.That(weight, Is.EqualTo(1).Within(1e-6), "the shares add up to the whole batch");
    }

    [Test]
    public void AGlobalBatchThatDoesNotSplitIsRefusedNamingTheBatch()
    {
        var e = Assert.Throws<SettingException>(() => DataParallel.LocalBatch(3, 2))!;
        Assert.That(e.Setting, Is.EqualTo("Batch"));
        Assert.That(e.Problem, Does.StartWith("3 does not split evenly over 2 ranks"));
        Assert.That(DataParallel.LocalBatch(8, 2), Is.EqualTo(4));
    }

    [Test]
    public void ASingleProcessLeadsTakesTheWholeBatchAndStopsOnItsOwnSignal()
    {
        var dp = new DataParallel(SingleProcess.Instance);
        Assert.That(dp.IsLeader, Is.True);
        Assert.That(dp.Rows(8), Is.EqualTo((0, 8)));
        Assert.That(dp.StopRequested(new CancellationToken(true)), Is.True);
        Assert.That(dp.StopRequested(CancellationToken.None), Is.False);
    }
}
