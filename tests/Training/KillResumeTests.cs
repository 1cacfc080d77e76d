using System.Diagnostics;
using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Training;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Training;

/// <summary>
/// A real `hyper train` child process killed with SIGKILL at random moments, again and again,
/// saving every step: after every kill the folder loads, and the run resumed after each kill ends
/// bit-identical to one that was never interrupted (every logged loss, the final weights and the
/// AdamW moments). HYPER_SAVE_PAUSE_MS stretches each stage of a save so that most kills land
/// inside one, before or after its commit; the test counts where they landed and requires both.
/// </summary>
[NonParallelizable]
public class KillResumeTests
{
    // Enough steps that 20 runs of up to 1.6 s each, on a quiet machine, cannot finish them all.
    private const int Steps = 1000, Kills = 20;

    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Corpora.TempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private static string[] Train(string outDir, bool resume) =>
    [
        "train", "--model", "tiny", "--data", Corpora.Require("moby-dick.txt"), "--out", outDir,
        "--steps", $"{Steps}", "--batch", "2", "--seq", "32", "--eval-every", "50", "--eval-windows", "2",
        "--save-every", "1", "--seed", "7", .. resume ? new[] { "--resume" } : [],
    ];

    [Test]
    public void KilledAtRandomMomentsTheFolderLoadsAndResumesBitExactly()
    {
        string reference = Path.Combine(_dir, "reference"), run = Path.Combine(_dir, "run");
        var (code, err) = ChildProcess.Run(Train(reference, resume: false));
        Assert.That(code, Is.EqualTo(0), err);

        var rng = new Random(2026);
        var slow = new Dictionary<string, string> { ["HYPER_SAVE_PAUSE_MS"] = "4" };
        int lastStep = 0, uncommitted = 0, committed = 0, between = 0;
        for (int kill = 0; kill < Kills; kill++)
        {
            bool resume = Checkpoint.IsCheckpoint(run);
            using var p = ChildProcess.Start(Train(run, resume), slow);
            // Start-up (runtime, JIT, tokenizing) takes a few hundred ms; kill somewhere after it.
            if (p.WaitForExit(rng.Next(400, 1600)))
                Assert.Fail($"the run ended (exit {p.ExitCode}) before kill {kill + 1}; it should still be training");
            p.Kill(); // SIGKILL
            p.WaitForExit();

            // Where the kill landed: inside a save before its commit, after it, or between saves.
            var pending = Directory.Exists(run) ? Directory.GetDirectories(run, FolderTransaction.PendingPrefix + "*") : [];
            if (pending.Length == 0) between++;
            else if (pending.Any(d => File.Exists(Path.Combine(d, FolderTransaction.CommitFile)))) committed++;
            else uncommitted++;

            if (!Checkpoint.IsCheckpoint(run)) continue; // killed before its first save: nothing to keep yet
            using var backend = BackendRegistry.Create("cpu");
            var (model, state) = Checkpoint.Load(run, backend, withOptimizer: true);
            using (model)
            {
                Assert.That(state.Step, Is.GreaterThanOrEqualTo(lastStep), $"kill {kill + 1}: the checkpoint went back in time");
                lastStep = state.Step;
            }
            Assert.That(Directory.GetDirectories(run, FolderTransaction.PendingPrefix + "*"), Is.Empty, "loading finishes or discards an interrupted save");
        }
        TestContext.Out.WriteLine($"{Kills} kills: {uncommitted} inside a save before its commit, {committed} after it, {between} between saves; last saved step {lastStep}");
        Assert.That(lastStep, Is.GreaterThan(0).And.LessThan(Steps), "the kills must leave work to resume");
        Assert.That(uncommitted, Is.GreaterThan(0), "some kills must land inside a save before its commit");
        Assert.That(committed, Is.GreaterThan(0), "some kills must land after a commit, while its files move in");

        (code, err) = ChildProcess.Run(Train(run, resume: true));
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(LogNumbers(run), Is.EqualTo(LogNumbers(reference)), "every step's loss, learning rate, gradient norm and held-out loss");
        foreach (string file in new[] { Checkpoint.ModelFile, Checkpoint.OptimizerFile })
            Assert.That(File.ReadAllBytes(Path.Combine(run, file)), Is.EqualTo(File.ReadAllBytes(Path.Combine(reference, file))), file);
    }

    /// <summary>The deterministic numbers of each log line (timings dropped), as text for a readable diff.</summary>
    private static List<string> LogNumbers(string dir) => File.ReadAllLines(Path.Combine(dir, Trainer.LogFile)).Select(l =>
    {
        var n = JsonNode.Parse(l)!.AsObject();
        return string.Join(' ', new[] { "step", "loss", "lr", "grad_norm", "val_loss" }.Select(k => $"{k}={n[k]?.ToJsonString() ?? "-"}"));
    }).ToList();
}
