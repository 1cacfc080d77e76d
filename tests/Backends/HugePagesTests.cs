using Hyper.Runtime.Backends;

namespace Hyper.Tests.Backends;

/// <summary>The huge-page hint is only a hint: contents survive it, and small, empty or odd views are fine.</summary>
public class HugePagesTests
{
    [Test]
    public void ContentsSurviveTheCollapse()
    {
        using var backend = new CpuBackend();
        const long n = 3L << 20; // 12 MiB: several whole 2 MiB pages inside, unaligned ends
        using var buffer = backend.Allocate(n);
        var data = new float[n];
        for (long i = 0; i < n; i++) data[i] = i * 0.5f - 7f;
        backend.Upload(data, buffer.All);
        HugePages.Advise(buffer.Slice(5, n - 11));
        HugePages.Advise(buffer.All);
        var back = new float[n];
        backend.Download(buffer.All, back);
        Assert.That(back, Is.EqualTo(data));
    }

    [Test]
    public void SmallAndEmptyViewsAreIgnored()
    {
        using var backend = new ReferenceBackend();
        using var buffer = backend.Allocate(100);
        var data = Enumerable.Range(0, 100).Select(i => i * 0.25f).ToArray();
        backend.Upload(data, buffer.All);
        Assert.DoesNotThrow(() =>
        {
            HugePages.Advise(buffer.All);
            HugePages.Advise(TensorView.Empty);
            HugePages.Advise(buffer.Slice(10, 0));
        });
        var back = new float[100];
        backend.Download(buffer.All, back);
        Assert.That(back, Is.EqualTo(data), "a hint on less than a page leaves the memory as it was");
    }
}
