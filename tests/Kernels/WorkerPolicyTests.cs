using Hyper.Kernels.Cpu;

namespace Hyper.Tests.Kernels;

/// <summary>When the decode workers step aside: a hiccup costs little, a loaded machine backs off.</summary>
public class WorkerPolicyTests
{
    /// <summary>Feeds slow jobs until the policy sends one inline; returns how many jobs then run inline in all.</summary>
    private static int TripAndCountInline(WorkerPolicy p)
    {
        for (int jobs = 0; !p.TakeInline(); jobs++)
        {
            Assert.That(jobs, Is.LessThan(100), "a run of slow jobs must trip the policy");
            p.Record(0.2);
        }
        int n = 1;
        while (p.TakeInline()) n++;
        return n;
    }

    [Test]
    public void OneSlowJobDoesNotTrip()
    {
        var p = new WorkerPolicy();
        for (int i = 0; i < 1000; i++) p.Record(1.9);
        p.Record(0);
        for (int i = 0; i < 10; i++) p.Record(1.9);
        Assert.That(p.TakeInline(), Is.False);
    }

    [Test]
    public void TripsAfterARunOfSlowJobsAndBacksOffWhileTheyContinue()
    {
        var p = new WorkerPolicy();
        var inline = new List<int>();
        for (int trip = 0; trip < 8; trip++)
        {
            inline.Add(TripAndCountInline(p));
        }
        Assert.That(inline, Is.EqualTo(new[] { 64, 128, 256, 512, 1024, 2048, 2048, 2048 }));
    }

    [Test]
    public void AHealthyStretchResetsTheBackOff()
    {
        var p = new WorkerPolicy();
        TripAndCountInline(p);
        TripAndCountInline(p);
        Assert.That(p.Backoff, Is.EqualTo(4 * WorkerPolicy.MinInlineJobs));
        for (int i = 0; i < WorkerPolicy.HealthyJobs; i++) p.Record(1.9);
        Assert.That(p.Backoff, Is.EqualTo(WorkerPolicy.MinInlineJobs));
        Assert.That(TripAndCountInline(p), Is.EqualTo(WorkerPolicy.MinInlineJobs));
    }
}
