using Hyper.Runtime.Data;

namespace Hyper.Tests.Data;

public class BatchSamplerTests
{
    // 103 tokens with T = 8: windows start at 0, 8, …, 88 (start + 9 ≤ 103), so 12 windows;
    // B = 5 does not divide 12, so batches straddle epoch boundaries.
    private static readonly int[] Tokens = Enumerable.Range(1000, 103).ToArray();
    private const int B = 5, T = 8;

    private static (int[] Inputs, int[] Targets) Batch(BatchSampler s)
    {
        var x = new int[B * T];
        var y = new int[B * T];
        s.Next(x, y);
        return (x, y);
    }

    private static List<int[]> Batches(BatchSampler s, int count) =>
        Enumerable.Range(0, count).Select(_ => Batch(s).Inputs).ToList();

    [Test]
    public void Window_count()
    {
        Assert.That(new BatchSampler(Tokens, B, T, 1).WindowCount, Is.EqualTo(12));
        Assert.That(new BatchSampler(Tokens[..9], 1, T, 1).WindowCount, Is.EqualTo(1));
        Assert.That(new BatchSampler(Tokens[..17], 1, T, 1).WindowCount, Is.EqualTo(2));
        Assert.That(new BatchSampler(Tokens[..16], 1, T, 1).WindowCount, Is.EqualTo(1));
    }

    [Test]
    public void Same_seed_same_batches_other_seed_other_batches()
    {
        var a = Batches(new BatchSampler(Tokens, B, T, 42), 10);
        var b = Batches(new BatchSampler(Tokens, B, T, 42), 10);
        var c = Batches(new BatchSampler(Tokens, B, T, 43), 10);
        Assert.That(b, Is.EqualTo(a));
        Assert.That(c, Is.Not.EqualTo(a));
    }

    [Test]
    public void Targets_are_inputs_shifted_by_one_at_window_starts()
    {
        var s = new BatchSampler(Tokens, B, T, 7);
        for (int n = 0; n < 6; n++)
        {
            var (x, y) = Batch(s);
            for (int b = 0; b < B; b++)
            {
                int start = x[b * T] - 1000;
                Assert.That(start % T, Is.Zero, "window starts at a multiple of T");
                Assert.That(start + T + 1, Is.LessThanOrEqualTo(Tokens.Length));
                Assert.That(x.AsSpan(b * T, T).ToArray(), Is.EqualTo(Tokens[start..(start + T)]));
                Assert.That(y.AsSpan(b * T, T).ToArray(), Is.EqualTo(Tokens[(start + 1)..(start + T + 1)]));
            }
        }
    }

    [Test]
    public void Every_window_once_per_epoch_and_epochs_differ()
    {
        var s = new BatchSampler(Tokens, B, T, 3);
        var orders = new List<int[]>();
        for (int epoch = 0; epoch < 4; epoch++)
        {
            Assert.That(s.Epoch, Is.EqualTo(epoch));
            int[] order = Enumerable.Range(0, s.WindowCount).Select(_ => s.NextWindow()).ToArray();
            Assert.That(order.Order(), Is.EqualTo(Enumerable.Range(0, s.WindowCount)));
            orders.Add(order);
        }
        Assert.That(s.Position, Is.EqualTo(4L * s.WindowCount));
        Assert.That(orders.Distinct(new SequenceComparer()).Count(), Is.EqualTo(4));
    }

    [Test]
    public void Batches_cover_each_epoch_exactly()
    {
        // 12 batches of 5 = 60 windows = 5 epochs: each window appears 5 times.
        var s = new BatchSampler(Tokens, B, T, 11);
        var counts = new int[s.WindowCount];
        for (int n = 0; n < 12; n++)
        {
            var (x, _) = Batch(s);
            for (int b = 0; b < B; b++) counts[(x[b * T] - 1000) / T]++;
        }
        Assert.That(counts, Has.All.EqualTo(5));
        Assert.That(s.Epoch, Is.EqualTo(5));
        Assert.That(s.Position, Is.EqualTo(60));
    }

    [TestCase(0L)]
    [TestCase(3L)]
    [TestCase(12L)]
    [TestCase(25L)]
    [TestCase(1_000_003L)]
    public void Restore_equals_continuation(long position)
    {
        var original = new BatchSampler(Tokens, B, T, 99);
        for (long i = 0; i < position; i++) original.NextWindow();
        var restored = BatchSampler.Restore(Tokens, B, T, 99, position);
        Assert.That(restored.Position, Is.EqualTo(original.Position));
        Assert.That(restored.Epoch, Is.EqualTo(original.Epoch));
        for (int n = 0; n < 7; n++)
        {
            var (x0, y0) = Batch(original);
            var (x1, y1) = Batch(restored);
            Assert.That(x1, Is.EqualTo(x0), $"inputs of batch {n} after restoring at {position}");
            Assert.That(y1, Is.EqualTo(y0));
        }
    }

    [Test]
    public void Short_corpus_is_a_clear_error()
    {
        var e = Assert.Throws<ArgumentException>(() => new BatchSampler(Tokens[..8], 1, T, 1));
        Assert.That(e!.Message, Does.Contain("8 tokens").And.Contain("T+1 = 9"));
    }

    [Test]
    public void Wrong_buffer_size_is_a_clear_error()
    {
        var s = new BatchSampler(Tokens, B, T, 1);
        var e = Assert.Throws<ArgumentException>(() => s.Next(new int[B * T], new int[B * T - 1]));
        Assert.That(e!.Message, Does.Contain("40"));
    }

    private sealed class SequenceComparer : IEqualityComparer<int[]>
    {
        public bool Equals(int[]? a, int[]? b) => a!.SequenceEqual(b!);
        public int GetHashCode(int[] a) => a.Aggregate(17, (h, v) => h * 31 + v);
    }
}
