using System.Text.Json.Nodes;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper hypernet` end to end on two small corpora and a micro target (seconds).</summary>
[NonParallelizable]
public class HypernetCommandTests
{
    private string _dir = "", _a = "", _b = "", _config = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Corpora.TempDir();
        // Two styles: a slice of Moby-Dick, and a synthetic address with another vocabulary.
        _a = Path.Combine(_dir, "a.txt");
        File.WriteAllText(_a, File.ReadAllText(Corpora.Require("moby-dick.txt")).Substring(50_000, 12_000));
        _b = Path.Combine(_dir, "b.txt");
        File.WriteAllText(_b, string.Concat(Enumerable.Range(0, 300).Select(i => $"THE UNION IS STRONG {i % 17}; CONGRESS SHALL ACT. ")));
        _config = Path.Combine(_dir, "config.json");
        File.WriteAllText(_config, """{"n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 16, "vocab_size": 256}""");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string[] TrainArgs(string run, params string[] extra) =>
        ["hypernet", "train", "--data-a", _a, "--data-b", _b, "--model", _config, "--out", run, "--seq", "16", "--batch", "3",
         "--steps", "6", "--eval-every", "3", "--eval-windows", "2", "--hidden", "8", "--lr", "3e-3", "--json", .. extra];

    private string Train(string name, params string[] extra)
    {
        string run = Path.Combine(_dir, name);
        var (code, output, err) = CliRunner.Run(TrainArgs(run, extra));
        Assert.That(code, Is.EqualTo(0), err);
        return output;
    }

    [Test]
    public void AnInterruptedTrainingResumesBitExactly()
    {
        Hyper.Runtime.Hypernetworks.HyperTrainOptions Options(string outDir, bool resume = false) => new()
        {
            DataA = _a, DataB = _b, Model = _config, OutDir = Path.Combine(_dir, outDir), Steps = 7, Batch = 3, Seq = 16, EvalEvery = 3,
            EvalWindows = 2, Lr = 3e-3f, Schedule = "cosine", Warmup = 2, Resume = resume,
            Network = Hyper.Runtime.Hypernetworks.HyperNetworkOptions.Mip with { Hidden = [8] },
        };
        var straight = Hyper.Runtime.Hypernetworks.HyperTrainer.Run(Options("straight"));

        // Stopped after step 4 (between the evaluations at 3 and 6), then resumed to the end.
        using var cts = new CancellationTokenSource();
        var first = Hyper.Runtime.Hypernetworks.HyperTrainer.Run(Options("resumed"), p => { if (p.Step == 4) cts.Cancel(); }, cancel: cts.Token);
        Assert.That((first.Interrupted, first.Steps), Is.EqualTo((true, 4)));
        var rest = Hyper.Runtime.Hypernetworks.HyperTrainer.Run(Options("resumed", resume: true));
        Assert.That((rest.Interrupted, rest.Steps), Is.EqualTo((false, 7)));

        Assert.That(File.ReadAllBytes(Path.Combine(rest.OutDir, "hypernet.safetensors")),
            Is.EqualTo(File.ReadAllBytes(Path.Combine(straight.OutDir, "hypernet.safetensors"))), "same data, γ draws, updates and Adam state");
        static List<string> Curve(string log) => File.ReadLines(log).Select(l => JsonNode.Parse(l)!.AsObject())
            .Select(o => $"{o["step"]} {o["loss"]} {o["eval_loss"]}").ToList();
        Assert.That(Curve(rest.LogPath), Is.EqualTo(Curve(straight.LogPath)), "one log, as if never interrupted");
        Assert.That((rest.FinalLoss, rest.StepsToTarget), Is.EqualTo((straight.FinalLoss, straight.StepsToTarget)));

        CliRunner.RunExpectingUserError(TrainArgs(Path.Combine(_dir, "resumed"), "--resume", "--seed", "5"), "--resume", "same settings");
        CliRunner.RunExpectingUserError(TrainArgs(Path.Combine(_dir, "resumed")), "already holds a hypernetwork", "--resume");
        CliRunner.RunExpectingUserError(TrainArgs(Path.Combine(_dir, "empty"), "--resume"), "--resume", "no hypernetwork");
    }

    [Test]
    public void TrainReportsStepsToTargetAndFinalLossAndWritesItsFiles()
    {
        var json = JsonNode.Parse(Train("run", "--target-loss", "100"))!.AsObject();
        // Every evaluation is below 100 nats, so the first one (step 0) reaches it.
        Assert.That(json["steps_to_target"]!.GetValue<int>(), Is.EqualTo(0));
        double final = json["final_loss"]!.GetValue<double>();
        Assert.That(final, Is.GreaterThan(0).And.LessThan(Math.Log(256) + 0.5));
        Assert.That(json["steps"]!.GetValue<int>(), Is.EqualTo(6));
        Assert.That(json["settings"]!["encoding"]!.GetValue<string>(), Is.EqualTo("CosSin"));
        var log = File.ReadAllLines(json["log"]!.GetValue<string>()).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.That(log.Select(l => l["step"]!.GetValue<int>()), Is.EqualTo(new[] { 0, 1, 2, 3, 4, 5, 6 }));
        Assert.That(log.Count(l => l["eval_loss"] is not null), Is.EqualTo(3)); // steps 0, 3, 6
        Assert.That(log[^1]["eval_loss"]!.GetValue<double>(), Is.EqualTo(final));
        Assert.That(File.Exists(json["plot"]!.GetValue<string>()));
        Assert.That(File.Exists(Path.Combine(_dir, "run", "hypernet.safetensors")));

        // A target below any loss is never reached: null, not a number.
        var never = JsonNode.Parse(Train("never", "--target-loss", "0.001"))!.AsObject();
        Assert.That(never.ContainsKey("steps_to_target") && never["steps_to_target"] is null);
    }

    [Test]
    public void ExportedCheckpointHasTheHypernetworksLossAndGeneratesTheSameText()
    {
        Train("run");
        string run = Path.Combine(_dir, "run"), exported = Path.Combine(_dir, "exported");
        var (code, _, err) = CliRunner.Run("hypernet", "export", "--hypernet", run, "--gamma", "0.3", "--out", exported);
        Assert.That(code, Is.EqualTo(0), err);

        double Loss(params string[] args)
        {
            var (c, o, e) = CliRunner.Run(args);
            Assert.That(c, Is.EqualTo(0), e);
            return JsonNode.Parse(o)!["loss"]!.GetValue<double>();
        }
        double fromCheckpoint = Loss("eval", "--model", exported, "--data", _a, "--json");
        double fromHypernet = Loss("hypernet", "eval", "--hypernet", run, "--gamma", "0.3", "--data", _a, "--json");
        Assert.That(fromCheckpoint, Is.EqualTo(fromHypernet), "the same float weights, the same windows: the same loss");
        double elsewhere = Loss("hypernet", "eval", "--hypernet", run, "--gamma", "0.9", "--data", _a, "--json");
        Assert.That(elsewhere, Is.Not.EqualTo(fromHypernet), "gamma changes the generated model");

        var (g1, t1, e1) = CliRunner.Run("generate", "--model", exported, "--prompt", "The", "--max-new-tokens", "8", "--json");
        var (g2, t2, e2) = CliRunner.Run("generate", "--hypernet", run, "--gamma", "0.3", "--prompt", "The", "--max-new-tokens", "8", "--json");
        Assert.That((g1, g2), Is.EqualTo((0, 0)), e1 + e2);
        Assert.That(JsonNode.Parse(t2)!["text"]!.GetValue<string>(), Is.EqualTo(JsonNode.Parse(t1)!["text"]!.GetValue<string>()));
    }

    [Test]
    public void CompareTabulatesRuns()
    {
        Train("on", "--target-loss", "100");
        Train("off", "--mip", "off", "--target-loss", "100");
        var (code, output, err) = CliRunner.Run("hypernet", "compare", "--target-loss", "100", "--plot", Path.Combine(_dir, "curves.png"),
            Path.Combine(_dir, "on"), Path.Combine(_dir, "off"));
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(output, Does.Contain("| MIP | 0.003 | 1 | 1/1 | 0 ± 0 |"));
        Assert.That(output, Does.Contain("| plain | 0.003 | 1 | 1/1 | 0 ± 0 |"));
        Assert.That(File.Exists(Path.Combine(_dir, "curves.png")));
    }

    [Test]
    public void BadInputIsOneLineAndExitCode2()
    {
        string run = Path.Combine(_dir, "run");
        CliRunner.RunExpectingUserError(TrainArgs(run, "--mip", "maybe"), "--mip", "maybe");
        CliRunner.RunExpectingUserError(TrainArgs(run, "--encoding", "fourier"), "--encoding", "fourier");
        CliRunner.RunExpectingUserError(["hypernet", "train", "--data-a", _a, "--data-b", _b, "--out", run, "--hidden", "8,0"], "--hidden", "8,0");
        CliRunner.RunExpectingUserError(["hypernet", "train", "--data-a", _a, "--data-b", Path.Combine(_dir, "missing.txt"), "--out", run], "--data-b", "missing.txt");
        Assert.That(Directory.Exists(run), Is.False, "a rejected run writes nothing");
        CliRunner.RunExpectingUserError(["hypernet", "export", "--hypernet", _dir, "--gamma", "0.5", "--out", Path.Combine(_dir, "x")], "not a hypernetwork folder");
        Train("run");
        CliRunner.RunExpectingUserError(["hypernet", "eval", "--hypernet", run, "--gamma", "1.5", "--data", _a], "--gamma", "[0, 1]");
        CliRunner.RunExpectingUserError(["generate", "--hypernet", run, "--prompt", "x"], "--gamma");
        CliRunner.RunExpectingUserError(["generate", "--model", run, "--hypernet", run, "--gamma", "0.5", "--prompt", "x"], "--model", "--hypernet");
        CliRunner.RunExpectingUserError(TrainArgs(run), "already holds a hypernetwork");
    }
}
