using Hyper.Runtime;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Backends.Cuda;
using Hyper.Runtime.Models;
using Hyper.Runtime.Training;

namespace Hyper.Tests.Backends;

/// <summary>
/// Clocks read around the ops of an asynchronous device measure launches unless the device is
/// waited for first; and with HYPER_CUDA_SYNC=1 a fault is blamed on the op that launched it.
/// </summary>
public class SynchronizeTests
{
    [Test]
    public void TheProfilerWaitsForTheDeviceBeforeAndAfterEachTimedOp()
    {
        using var device = new JournalingBackend();
        var profiler = new ProfilingBackend(device);
        using var input = device.Allocate(16);
        using var output = device.Allocate(16);
        device.Journal.Clear();
        profiler.GeluForward(output.All, input.All, 16);
        Assert.That(device.Journal, Is.EqualTo(new[] { "Synchronize", "GeluForward", "Synchronize" }));
        Assert.That(profiler.Totals.Single().Op, Is.EqualTo("GeluForward"));
    }

    [Test]
    public void TheTrainBenchmarkWaitsForTheDeviceAroundEveryStep()
    {
        using var device = new JournalingBackend();
        const int warmup = 1, steps = 2;
        TrainBenchmark.Run("tiny", Gpt2Config.Tiny, device, 2, 8, steps, warmup);
        var journal = device.Journal;
        Assert.That(journal.Count(e => e == "Synchronize"), Is.EqualTo(2 * (warmup + steps)), "one before and one after each step");
        Assert.That(journal.LastIndexOf("Synchronize"), Is.GreaterThan(journal.LastIndexOf("AdamWUpdate")),
            "the clock stops after the last step's update has finished");
        // Each step's ops lie between a pair of synchronises: none runs before the first one.
        Assert.That(journal.IndexOf("Synchronize"), Is.LessThan(journal.IndexOf("EncoderForward")));
    }

    [Test]
    public void HostBackendsNeedNoSynchronise()
    {
        // The interface's default: a host backend has finished each op when the call returns.
        IBackend cpu = new CpuBackend();
        using var _ = cpu;
        Assert.DoesNotThrow(cpu.Synchronize);
    }

    [Test]
    public void WithTheSyncSwitchAFaultIsBlamedOnTheOpThatLaunchedIt()
    {
        int syncs = 0;
        int FaultingSync() { syncs++; return 700; } // cudaErrorIllegalAddress, found when the kernel ran
        // A device fault, which the kernel lab takes to mean the context is poisoned.
        var e = Assert.Throws<DeviceFaultException>(() => CudaNative.Check(0, "matmul forward", true, FaultingSync, () => "an illegal memory access"));
        Assert.That(e!.Message, Does.StartWith("cuda matmul forward (found by the synchronise after it, HYPER_CUDA_SYNC=1)"));
        Assert.That(syncs, Is.EqualTo(1));

        // Without the switch a clean launch returns at once and waits for nothing.
        Assert.DoesNotThrow(() => CudaNative.Check(0, "matmul forward", false, FaultingSync, () => ""));
        Assert.That(syncs, Is.EqualTo(1));
        // A launch that failed is reported as it is, without a synchronise on top.
        Assert.Throws<ArgumentException>(() => CudaNative.Check(-1, "matmul forward", true, FaultingSync, () => "bad shape"));
        Assert.That(syncs, Is.EqualTo(1));
        // So is a variant the library was built without: nothing ran, the context is fine.
        var notBuilt = Assert.Throws<VariantNotBuiltException>(() => CudaNative.Check(CudaNative.NotBuilt, "matmul forward", true, FaultingSync, () => "built without"));
        Assert.That(notBuilt!.Message, Does.Contain("built without"));
        Assert.That(syncs, Is.EqualTo(1));
    }

    [TestCase(null, false)]
    [TestCase("", false)]
    [TestCase("0", false)]
    [TestCase("1", true)]
    [TestCase(" 1 ", true)]
    public void TheSyncSwitchReads(string? value, bool on) => Assert.That(CudaNative.ParseSync(value), Is.EqualTo(on));

    [Test]
    public void TheSyncSwitchRefusesOtherValues() =>
        Assert.That(Assert.Throws<SettingException>(() => CudaNative.ParseSync("yes"))!.Setting, Is.EqualTo(CudaNative.SyncVariable));
}
