using System.Text.Json.Nodes;
using Hyper.Runtime;
using Hyper.Runtime.Hyperfitting;
using Hyper.Runtime.Hypernetworks;
using Hyper.Runtime.Training;
using Hyper.Tests.Support;

namespace Hyper.Tests.Training;

/// <summary>
/// The three trainers (train, hyperfit, hypernet train) through the one run folder: each is
/// stopped part-way, resumed, and must end with the log an uninterrupted run writes (every
/// number but the timings, read with <see cref="RunFolder.ReadLog"/>, a line cut by the kill
/// dropped); a new run into its folder
/// is refused with the resume remedy, a resume of an empty folder is refused, and a resume of a
/// finished run has nothing to do.
/// </summary>
[NonParallelizable]
public class RunLoopTests : TempDirTest
{
    /// <summary>One trainer as this test drives it: run into a folder, stopping after some progress reports when asked.</summary>
    private delegate (bool Interrupted, bool NothingToDo, string Log) Run(string outDir, bool resume, int stopAfter);

    private Run Trainer(string kind) => kind switch
    {
        "train" => (dir, resume, stopAfter) =>
        {
            using var cts = new CancellationTokenSource();
            int n = 0;
            var r = Hyper.Runtime.Training.Trainer.Run(new TrainOptions
            {
                DataPath = Text, OutDir = dir, Model = "llama-tiny", Steps = 6, Batch = 2, Seq = 16, EvalEvery = 2, EvalWindows = 2, Resume = resume,
            }, _ => { if (++n == stopAfter) cts.Cancel(); }, cancel: cts.Token);
            return (r.Interrupted, r.NothingToDo, Path.Combine(dir, Hyper.Runtime.Training.Trainer.LogFile));
        },
        "hyperfit" => (dir, resume, stopAfter) =>
        {
            using var cts = new CancellationTokenSource();
            int n = 0;
            var r = Hyperfitter.Run(new HyperfitOptions
            {
                ModelDir = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "llama", "qwen2"), DataPath = Text, OutDir = dir,
                Samples = 6, Seq = 16, Batch = 2, Epochs = 2, Lr = 1e-3f, EvalWindows = 1, Prompts = 0, Resume = resume,
            }, progress: _ => { if (++n == stopAfter) cts.Cancel(); }, cancel: cts.Token);
            return (r.Interrupted, r.NothingToDo, Path.Combine(dir, Hyperfitter.LogFile));
        },
        "hypernet" => (dir, resume, stopAfter) =>
        {
            using var cts = new CancellationTokenSource();
            int n = 0;
            var r = HyperTrainer.Run(new HyperTrainOptions
            {
                DataA = Text, DataB = Text, Model = "tiny", OutDir = dir, Steps = 5, Batch = 2, Seq = 16, EvalEvery = 2, EvalWindows = 1,
                Lr = 3e-3f, Resume = resume, Network = HyperNetworkOptions.Mip with { Hidden = [8] },
            }, _ => { if (++n == stopAfter) cts.Cancel(); }, cancel: cts.Token);
            return (r.Interrupted, r.NothingToDo, r.LogPath);
        },
        _ => throw new ArgumentException(kind),
    };

    // Every field but the wall-clock ones, in order.
    private static List<string> Numbers(string log) => RunFolder.ReadLog(log).Select(o =>
        string.Join(" ", o.Where(kv => kv.Key is not ("ms" or "seconds" or "tokens_per_s")).Select(kv => $"{kv.Key}={kv.Value?.ToJsonString()}"))).ToList();

    [TestCase("train")]
    [TestCase("hyperfit")]
    [TestCase("hypernet")]
    public void StoppedAndResumedEqualsUninterrupted(string kind)
    {
        var run = Trainer(kind);
        string straight = Path.Combine(Dir, "straight"), resumed = Path.Combine(Dir, "resumed");
        var whole = run(straight, false, 0);
        Assert.That(whole.Interrupted, Is.False);
        Assert.That(Numbers(whole.Log), Has.Count.AtLeast(3), "a log to compare (hyperfit: epochs 0-2)");

        var first = run(resumed, false, 2);
        Assert.That(first.Interrupted, Is.True, "stopped after two progress reports");
        // A line cut by a kill: the resumed run reads past it and drops it.
        File.AppendAllText(first.Log, "{\"step\": 10");
        var e = Assert.Throws<SettingException>(() => run(resumed, false, 0));
        Assert.That((e!.Setting, e.Remedy?.Setting), Is.EqualTo(("OutDir", "Resume")), "a new run never overwrites a saved one");
        var rest = run(resumed, true, 0);
        Assert.That(rest.Interrupted, Is.False);
        Assert.That(Numbers(rest.Log), Is.EqualTo(Numbers(whole.Log)), "one log, as if never interrupted");

        Assert.That(run(resumed, true, 0).NothingToDo, Is.True, "a finished run resumed has nothing to do");
        Assert.That(Assert.Throws<SettingException>(() => run(Path.Combine(Dir, "empty"), true, 0))!.Setting, Is.EqualTo("Resume"));
    }
}
