using System.Text.Json.Nodes;
using Hyper.Runtime.Distributed;
using Hyper.Runtime.Hyperfitting;
using Hyper.Runtime.IO;
using Hyper.Runtime.Training;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Distributed;

/// <summary>
/// `mpirun -np 2 hyper train --distributed mpi` against one process with the same global batch:
/// the same losses step by step, a resume that changes the number of ranks, the refusal of a
/// batch that does not split, and a rank killed mid-run. Skipped with the reason where Open MPI
/// (libmpi and mpirun) is not installed.
/// </summary>
[NonParallelizable]
public class MpiTrainTests
{
    private const int Steps = 20;

    // The two runs differ only in the order of float additions: one process sums the gradient
    // over 4 sequences in its kernels' order, two ranks sum 2 + 2 and then add the halves (MPI's
    // order). Each step's gradient agrees to a few ulps; AdamW's division by sqrt(v) amplifies
    // that a little, and over 20 steps of this tiny model the losses agree to ~1e-6. 1e-4 is
    // far above that and far below a real error (a wrong slice or scale changes the loss by 1e-2).
    private const double Tolerance = 1e-4;

    private static readonly Dictionary<string, string> RootOk = new()
    {
        // Open MPI refuses to run as root without these (containers and CI run as root).
        ["OMPI_ALLOW_RUN_AS_ROOT"] = "1",
        ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1",
    };

    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        if (!Mpi.IsAvailable(out string reason)) Assert.Ignore(reason);
        if (Which("mpirun") is null) Assert.Ignore("mpirun is not on PATH; install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev)");
        _dir = Corpora.TempDir();
    }

    [TearDown]
    public void TearDown()
    {
        if (_dir.Length > 0) Directory.Delete(_dir, recursive: true);
    }

    // --oversubscribe: two ranks on a machine that may have fewer free cores than ranks.
    private static string[] Ranks(int n) => ["mpirun", "-np", $"{n}", "--oversubscribe"];

    // A constant schedule, so a run stopped early and resumed with a longer --steps is the same run.
    private static string[] Train(string outDir, int steps, bool distributed, bool resume = false, int batch = 4, string? bucketMb = null) =>
    [
        "train", "--model", "tiny", "--data", Corpora.Require("moby-dick.txt"), "--out", outDir,
        "--steps", $"{steps}", "--batch", $"{batch}", "--seq", "32", "--schedule", "constant", "--eval-every", "0", "--eval-windows", "2",
        "--seed", "7", "--threads", "1", .. distributed ? new[] { "--distributed", "mpi" } : [], .. resume ? new[] { "--resume" } : [],
        .. bucketMb is null ? [] : new[] { "--bucket-mb", bucketMb },
    ];

    private static List<(int Step, double Loss)> Losses(string outDir) =>
        RunFolder.ReadLog(Path.Combine(outDir, Trainer.LogFile))
            .Where(l => l["loss"] is not null)
            .Select(l => (l["step"]!.GetValue<int>(), l["loss"]!.GetValue<double>())).ToList();

    private string Reference()
    {
        string one = Path.Combine(_dir, "one");
        var (code, err) = ChildProcess.Run(Train(one, Steps, distributed: false));
        Assert.That(code, Is.EqualTo(0), err);
        return one;
    }

    private static void AssertSameLosses(string expected, string actual)
    {
        var e = Losses(expected);
        var a = Losses(actual);
        Assert.That(a.Select(x => x.Step), Is.EqualTo(e.Select(x => x.Step)));
        for (int i = 0; i < e.Count; i++)
            Assert.That(a[i].Loss, Is.EqualTo(e[i].Loss).Within(Tolerance), $"step {e[i].Step}");
    }

    [Test]
    public void TwoRanksGiveTheLossesOfOneProcessWithTheSameGlobalBatch()
    {
        string one = Reference(), two = Path.Combine(_dir, "two");
        var (code, err) = ChildProcess.Run(Train(two, Steps, distributed: true), RootOk, launcher: Ranks(2));
        Assert.That(code, Is.EqualTo(0), err);
        AssertSameLosses(one, two);
        Assert.That(err, Does.Contain("2 ranks (mpi) of 2 sequences and 1 CPU threads each"), "rank 0 reports the ranks");
        // Only rank 0 prints: one summary line, not two.
        Assert.That(err.Split('\n').Count(l => l.StartsWith("done:", StringComparison.Ordinal)), Is.EqualTo(1), err);
        var log = RunFolder.ReadLog(Path.Combine(two, Trainer.LogFile)).Where(l => l["loss"] is not null).ToList();
        Assert.That(log, Has.All.Matches<JsonObject>(l => l["comm_bytes"]!.GetValue<long>() > 0 && l["comm_ms"] is not null));
    }

    [Test]
    public void BucketsSummedDuringTheBackwardGiveTheLossesOfOneAllReduceBitForBit()
    {
        // tiny's blocks hold 50k floats (200 KB) each: 0.1 MB buckets are one block each, 2 buckets and the rest.
        // Over two ranks each element is one addition of the two ranks' values whichever call carries
        // it, so the losses must be identical, not merely close.
        string whole = Path.Combine(_dir, "whole"), buckets = Path.Combine(_dir, "buckets");
        var (code, err) = ChildProcess.Run(Train(whole, 8, distributed: true), RootOk, launcher: Ranks(2));
        Assert.That(code, Is.EqualTo(0), err);
        (code, err) = ChildProcess.Run(Train(buckets, 8, distributed: true, bucketMb: "0.1"), RootOk, launcher: Ranks(2));
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(Losses(buckets), Is.EqualTo(Losses(whole)));
        Assert.That(Losses(whole), Has.Count.EqualTo(8));
    }

    [Test]
    public void ResumedWithTwoRanksThenWithOneItContinuesTheSameRun()
    {
        string one = Reference(), run = Path.Combine(_dir, "run");
        var (code, err) = ChildProcess.Run(Train(run, 8, distributed: true), RootOk, launcher: Ranks(2));
        Assert.That(code, Is.EqualTo(0), err);
        (code, err) = ChildProcess.Run(Train(run, 14, distributed: true, resume: true), RootOk, launcher: Ranks(2));
        Assert.That(code, Is.EqualTo(0), err);
        (code, err) = ChildProcess.Run(Train(run, Steps, distributed: false, resume: true));
        Assert.That(code, Is.EqualTo(0), err);
        AssertSameLosses(one, run);
    }

    [Test]
    public void HyperfittingOnTwoRanksGivesTheEpochLossesOfOneProcess()
    {
        // 11 sequences in batches of 4: the last batch of each epoch (3) splits unevenly, 1 and 2.
        string model = Path.Combine(_dir, "model");
        var (code, err) = ChildProcess.Run(Train(model, 2, distributed: false));
        Assert.That(code, Is.EqualTo(0), err);
        string[] Hyperfit(string outDir, bool distributed, bool buckets = false) =>
        [
            "hyperfit", "--model", model, "--data", Corpora.Require("moby-dick.txt"), "--out", outDir, "--samples", "11", "--seq", "32",
            "--epochs", "3", "--batch", "4", "--lr", "1e-3", "--eval-windows", "2", "--prompts", "0", "--threads", "1",
            .. distributed ? new[] { "--distributed", "mpi" } : [], .. buckets ? new[] { "--bucket-mb", "0.1" } : [],
        ];
        string one = Path.Combine(_dir, "hf1"), two = Path.Combine(_dir, "hf2");
        (code, err) = ChildProcess.Run(Hyperfit(one, distributed: false));
        Assert.That(code, Is.EqualTo(0), err);
        (code, err) = ChildProcess.Run(Hyperfit(two, distributed: true), RootOk, launcher: Ranks(2));
        Assert.That(code, Is.EqualTo(0), err);
        static List<double> EpochLosses(string dir) => RunFolder.ReadLog(Path.Combine(dir, Hyperfitter.LogFile))
            .Where(l => l["train_loss"] is not null).Select(l => l["train_loss"]!.GetValue<double>()).ToList();
        var e = EpochLosses(one);
        Assert.That(e, Has.Count.EqualTo(3));
        Assert.That(EpochLosses(two), Is.EqualTo(e).Within(Tolerance));
        // With buckets summed during the backward: a batch of 1 sequence split over 2 ranks leaves one
        // rank without a backward, which must still make the same collective calls (or the job hangs).
        string three = Path.Combine(_dir, "hf3");
        string[] oneRow = [.. Hyperfit(three, distributed: true, buckets: true).Select(a => a == "11" ? "9" : a)];
        (code, err) = ChildProcess.Run(oneRow, RootOk, launcher: Ranks(2), timeoutMs: 120_000);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(EpochLosses(three), Has.Count.EqualTo(3));
    }

    [Test]
    public void ABatchThatDoesNotSplitOverTheRanksIsRefused()
    {
        var (code, err) = ChildProcess.Run(Train(Path.Combine(_dir, "odd"), Steps, distributed: true, batch: 3), RootOk, launcher: Ranks(2));
        Assert.That(code, Is.EqualTo(2), err);
        Assert.That(err, Does.Contain("hyper: --batch 3 does not split evenly over 2 ranks"));
    }

    [Test]
    public void ARankKilledMidRunEndsTheJobAndLeavesTheLastCheckpointWhole()
    {
        string run = Path.Combine(_dir, "killed");
        string[] args = [.. Train(run, 100_000, distributed: true), "--save-every", "5"];
        using var job = ChildProcess.Start(args, RootOk, launcher: Ranks(2), captureErr: true);
        try
        {
            // Wait for a first checkpoint, then kill one rank (not mpirun): the way a machine or a process dies.
            // Polled by its config file, not Checkpoint.IsCheckpoint: that one recovers an unfinished
            // save, which must not happen under a live run.
            string config = Path.Combine(run, Checkpoint.ConfigFile);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            var ranks = RankProcesses(job.Id);
            while ((!File.Exists(config) || ranks.Count != 2) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(100);
                ranks = RankProcesses(job.Id);
            }
            Assert.That(File.Exists(config), "no checkpoint within 60 s");
            Assert.That(ranks, Has.Count.EqualTo(2), "the two ranks under mpirun");
            ranks[^1].Kill(); // SIGKILL
            Assert.That(job.WaitForExit(60_000), "mpirun ends the job when a rank dies");
            Assert.That(job.ExitCode, Is.Not.EqualTo(0));
            string err0 = ChildProcess.Err(job);
            Assert.That(err0, Does.Contain("hyper: mpirun is ending the job").And.Contain($"{run} keeps its last complete checkpoint"), err0);
            Assert.That(err0, Does.Contain("rank 1"), "mpirun names the rank that died");
        }
        finally
        {
            if (!job.HasExited) job.Kill(entireProcessTree: true);
        }

        // The folder holds a whole checkpoint, which resumes (here in one process) for two more steps.
        int saved = JsonNode.Parse(File.ReadAllText(Path.Combine(run, Checkpoint.StateFile)))!["step"]!.GetValue<int>();
        var (code, err) = ChildProcess.Run(Train(run, saved + 2, distributed: false, resume: true));
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(Losses(run)[^1].Step, Is.EqualTo(saved + 2));
    }

    private static List<System.Diagnostics.Process> RankProcesses(int mpirun) =>
        System.Diagnostics.Process.GetProcesses().Where(p => ParentOf(p.Id) == mpirun).OrderBy(p => p.Id).ToList();

    private static int ParentOf(int pid)
    {
        // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1]);
        }
        catch (IOException) { return -1; }
    }

    private static string? Which(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, tool)).FirstOrDefault(File.Exists);
}
