using Hyper.Runtime;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Distributed;
using Hyper.Runtime.Models;

namespace Hyper.Tests.Distributed;

/// <summary>How <see cref="DataParallel"/> splits a global batch over W ranks and sums gradient buckets, checked without MPI.</summary>
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

    /// <summary>
    /// A world of two in one process whose "other rank" holds this rank's gradient plus one:
    /// every sum turns g into 2g + 1, so after the mean an element summed once reads g + 0.5,
    /// one summed twice g + 1, one never summed g.
    /// </summary>
    private sealed class PlusOneTwin : ICollectives
    {
        public readonly List<(int Thread, int Length)> Calls = [];
        public int Rank => 0;
        public int WorldSize => 2;
        public string Name => "twin";
        public bool CallableFromAnotherThread => true;
        public void AllReduceSum(Span<float> data)
        {
            lock (Calls) Calls.Add((Environment.CurrentManagedThreadId, data.Length));
            foreach (ref float x in data) x = 2 * x + 1;
        }
        public void AllReduceSum(Span<double> data) { for (int i = 0; i < data.Length; i++) data[i] *= 2; }
        public void Broadcast(Span<float> data, int root = 0) { }
        public void Broadcast(Span<byte> data, int root = 0) { }
        public void Barrier() { }
        public void Dispose() { }
    }

    [TestCase(0L)]
    [TestCase(1L)]           // one block per bucket
    [TestCase(300_000L)]     // two blocks (tiny: 200 KB each) in one bucket
    public void BucketsSumEveryGradientExactlyOnceOffTheCallersThread(long bucketBytes)
    {
        using var backend = new CpuBackend();
        using var model = new Gpt2(Gpt2Config.Tiny, backend);
        model.InitializeWeights(5);
        const int B = 2, T = 16;
        var rng = new Random(9);
        var x = Enumerable.Range(0, B * T).Select(_ => rng.Next(256)).ToArray();
        var y = Enumerable.Range(0, B * T).Select(_ => rng.Next(256)).ToArray();
        model.ZeroGradients();
        model.Forward(x, y, B, T);
        model.Backward();
        float[] g = model.ReadGradients();

        var twin = new PlusOneTwin();
        using var dp = new DataParallel(twin, bucketBytes);
        model.ZeroGradients();
        float loss = model.Forward(x, y, B, T);
        dp.BeginBackward(model);
        model.Backward();
        dp.AllReduceGradients(model, loss, B, B, stop: false);
        float[] summed = model.ReadGradients();

        for (int i = 0; i < g.Length; i++)
            if (Math.Abs(summed[i] - (g[i] + 0.5f)) > 1e-6f * (1 + Math.Abs(g[i])))
                Assert.Fail($"gradient {i}: {summed[i]}, expected {g[i]} + 0.5 (summed once)");
        Assert.That(model.BlockGradientsDone, Is.Null, "the hook is removed after the step");
        int me = Environment.CurrentManagedThreadId;
        if (bucketBytes == 0)
            Assert.That(twin.Calls, Is.EqualTo(new[] { (me, g.Length) }), "one all-reduce of the whole arena");
        else
        {
            Assert.That(twin.Calls.Select(c => c.Thread), Has.None.EqualTo(me), "the buckets are summed on their own thread");
            // tiny: 12 block tensors per bucket (2 buckets of 1 block, or 1 of 2), then the rest in two
            // runs: wte and wpe before the block tensors, lnfw and lnfb after them.
            Assert.That(twin.Calls, Has.Count.EqualTo(bucketBytes == 1 ? 2 * 12 + 2 : 12 + 2));
        }
        Assert.That(dp.Describe(model), Does.Contain(bucketBytes == 0 ? "one all-reduce" : "buckets during the backward"));
    }
}
