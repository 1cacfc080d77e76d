using System.Text.Json.Nodes;
using Hyper.Runtime.IO;
using Hyper.Runtime.Training;
using Hyper.Tests.Data;

namespace Hyper.Tests.Training;

/// <summary>
/// A run stopped and resumed is the run that never stopped: every logged number and the final
/// weights and moments are bit-identical (on the CPU backend, whose sums have a fixed order).
/// </summary>
public class ResumeTests
{
    private const int Steps = 30, StopAt = 12;

    private string _dir = "";
    private string _uninterrupted = "";

    [OneTimeSetUp]
    public void RunUninterrupted()
    {
        _dir = Corpora.TempDir();
        _uninterrupted = Path.Combine(_dir, "A");
        var result = Trainer.Run(Options(_uninterrupted));
        Assert.That(result.Steps, Is.EqualTo(Steps));
        Assert.That(result.Interrupted, Is.False);
    }

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static TrainOptions Options(string outDir, int saveEvery = 0) => new()
    {
        DataPath = Corpora.Require("moby-dick.txt"),
        OutDir = outDir,
        Model = "tiny",
        Steps = Steps,
        Batch = 8,
        Seq = 64,
        // Held-out losses along the way, and a warm-up and cosine decay, so the resumed part must
        // get the schedule, the evaluations and the data position right, not just the weights.
        EvalEvery = 5,
        EvalWindows = 8,
        Warmup = 4,
        SaveEvery = saveEvery,
        Seed = 99,
    };

    private sealed record Line(int Step, int? LossBits, int? LrBits, double? GradNorm, long? ValLossBits);

    private static List<Line> Log(string dir) => File.ReadAllLines(Path.Combine(dir, Trainer.LogFile)).Select(l =>
    {
        var n = JsonNode.Parse(l)!.AsObject();
        int? F(string k) => n[k] is { } v ? BitConverter.SingleToInt32Bits(v.GetValue<float>()) : null;
        return new Line(n["step"]!.GetValue<int>(), F("loss"), F("lr"), n["grad_norm"]?.GetValue<double>(),
            n["val_loss"] is { } val ? BitConverter.DoubleToInt64Bits(val.GetValue<double>()) : null);
    }).ToList();

    private static int[] Bits(float[] a) => a.Select(BitConverter.SingleToInt32Bits).ToArray();

    private void AssertSameAsUninterrupted(string dir)
    {
        var expected = Log(_uninterrupted);
        Assert.That(expected, Has.Count.EqualTo(Steps + 1));
        // Records compare every field: the step sequence (no step lost or logged twice), and the
        // loss, learning rate, gradient norm and held-out loss of each step, bit for bit.
        Assert.That(Log(dir), Is.EqualTo(expected));

        var config = Checkpoint.ReadConfig(dir);
        Assert.That(Bits(Checkpoint.ReadWeights(dir, config, out _)), Is.EqualTo(Bits(Checkpoint.ReadWeights(_uninterrupted, config, out _))));
        using var a = SafeTensors.Open(Path.Combine(_uninterrupted, Checkpoint.OptimizerFile));
        using var b = SafeTensors.Open(Path.Combine(dir, Checkpoint.OptimizerFile));
        Assert.That(b.Names, Is.EqualTo(a.Names));
        Assert.That(a.Names, Has.Some.StartsWith("m.").And.Some.StartsWith("v."));
        foreach (string name in a.Names)
            Assert.That(Bits(b.ReadFloats(name)), Is.EqualTo(Bits(a.ReadFloats(name))), name);
        var sa = Checkpoint.ReadState(_uninterrupted, config);
        var sb = Checkpoint.ReadState(dir, config);
        Assert.That((sb.Step, sb.DataPosition, sb.Seed), Is.EqualTo((sa.Step, sa.DataPosition, sa.Seed)));
    }

    [TestCase(0)]
    [TestCase(5)]
    public void CancelledAndResumedRunEqualsTheUninterruptedOne(int saveEvery)
    {
        string dir = Path.Combine(_dir, $"B-cancel-{saveEvery}");
        using var cts = new CancellationTokenSource();
        var first = Trainer.Run(Options(dir, saveEvery), p => { if (p.Step == StopAt) cts.Cancel(); }, cancel: cts.Token);
        Assert.That(first.Interrupted, Is.True);
        Assert.That(first.Steps, Is.EqualTo(StopAt));
        Assert.That(Checkpoint.ReadState(dir, Checkpoint.ReadConfig(dir)).Step, Is.EqualTo(StopAt), "cancelling saves where it stopped");

        var second = Trainer.Run(Options(dir, saveEvery) with { Resume = true });
        Assert.That(second.Interrupted, Is.False);
        Assert.That(second.Steps, Is.EqualTo(Steps));
        AssertSameAsUninterrupted(dir);
    }

    [Test]
    public void CrashAfterAPeriodicSaveResumesFromThatSave()
    {
        // A crash (here an exception out of the progress callback) skips the final save, so the
        // run resumes from --save-every's last checkpoint (step 10) and logs steps 11..13 again.
        string dir = Path.Combine(_dir, "B-crash");
        Assert.Throws<InvalidOperationException>(() =>
            Trainer.Run(Options(dir, saveEvery: 10), p => { if (p.Step == 13) throw new InvalidOperationException("simulated crash"); }));
        Assert.That(Checkpoint.ReadState(dir, Checkpoint.ReadConfig(dir)).Step, Is.EqualTo(10));
        Assert.That(Log(dir).Max(l => l.Step), Is.EqualTo(13), "the log ran ahead of the checkpoint");

        var resumed = Trainer.Run(Options(dir, saveEvery: 10) with { Resume = true });
        Assert.That(resumed.Steps, Is.EqualTo(Steps));
        AssertSameAsUninterrupted(dir);
    }
}
