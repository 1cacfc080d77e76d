using Hyper.Kernels;
using Hyper.Runtime.Backends;
using Hyper.Tests.Support;

namespace Hyper.Tests.Backends;

/// <summary>
/// The CPU backend's packed low-precision copies live in one native arena per parameter buffer
/// (<see cref="PackedArena"/>): aligned pieces that do not overlap, freed with the buffer's model.
/// </summary>
public sealed class PackedArenaTests
{
    [Test]
    public unsafe void PiecesAreAlignedAndDoNotOverlap()
    {
        using var arena = new PackedArena();
        // Small pieces, then one larger than a slab, then small again: every piece 64-byte aligned and
        // writable over its whole length without touching another's.
        long[] counts = [1, 100, 5000, 40L << 20, 3, 1L << 20];
        var pieces = counts.Select(n => ((nint)arena.Take<byte>(n), n)).ToList();
        Assert.That(pieces.Select(p => (long)p.Item1 % 64), Is.All.EqualTo(0L));
        for (int i = 0; i < pieces.Count; i++)
            new Span<byte>((void*)pieces[i].Item1, checked((int)pieces[i].n)).Fill((byte)(i + 1));
        for (int i = 0; i < pieces.Count; i++)
        {
            var span = new ReadOnlySpan<byte>((void*)pieces[i].Item1, checked((int)pieces[i].n));
            Assert.That(span.IndexOfAnyExcept((byte)(i + 1)), Is.EqualTo(-1), $"piece {i} was overwritten");
        }
        Assert.That(arena.Used, Is.EqualTo(counts.Sum(n => (n + 63) & ~63L)));
    }

    [Test]
    public void ATakeAfterDisposeIsRefused()
    {
        var arena = new PackedArena();
        arena.Dispose();
        Assert.Throws<ObjectDisposedException>(() => { unsafe { arena.Take<float>(4); } });
    }

    [TestCase(WeightFormat.Bf16)]
    [TestCase(WeightFormat.Q8)]
    public void ADisposedBuffersCopiesAreFreedByTheNextPacking(WeightFormat format)
    {
        const int N = 1, C = 96, OC = 40;
        using var be = new CpuBackend();
        LowPrecision.Use(be, format);
        long Multiply(DeviceBuffer w, DeviceBuffer x, DeviceBuffer y)
        {
            be.Upload(Check.Random(OC * C, 2), w.All);
            be.MatmulForward(y.All, x.All, w.All, TensorView.Empty, N, C, OC);
            return be.ArenaBytes;
        }
        using DeviceBuffer x = be.Allocate(N * C), y = be.Allocate(N * OC);
        be.Upload(Check.Random(N * C, 1), x.All);
        var first = be.Allocate(OC * C);
        long one = Multiply(first, x, y);
        Assert.That(one, Is.GreaterThanOrEqualTo(LowPrecision.Bytes(format, OC, C)), "the copy is in the arena");
        Assert.That(be.PackedFloats, Is.EqualTo((long)OC * C));

        first.Dispose(); // the first model is let go
        using var second = be.Allocate(OC * C);
        Assert.That(Multiply(second, x, y), Is.EqualTo(one), "only the live buffer's copy is held");
        Assert.That(be.PackedFloats, Is.EqualTo((long)OC * C), "the disposed buffer's view was dropped");

        using var third = be.Allocate(OC * C);
        Assert.That(Multiply(third, x, y), Is.EqualTo(2 * one), "two live buffers, two arenas");
    }
}
