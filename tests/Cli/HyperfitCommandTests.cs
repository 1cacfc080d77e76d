using Hyper.Runtime;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hyper.Cli;
using Hyper.Cli.Commands;
using Hyper.Runtime.Hyperfitting;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Runtime.Training;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper hyperfit` end to end on a micro model: the loss falls, the log, plot and summary, frozen blocks, bad input.</summary>
[NonParallelizable]
public class HyperfitCommandTests
{
    private string _root = "";
    private string _model = "";
    private string _dir = "";

    [OneTimeSetUp]
    public void MakeModel()
    {
        _root = Corpora.TempDir();
        _model = Path.Combine(_root, "pretrained");
        // A 3-block tiny model, briefly trained: hyperfitting only needs a starting point.
        File.WriteAllText(Path.Combine(_root, "config.json"), """{"n_embd": 64, "n_layer": 3, "n_head": 2, "n_positions": 64, "vocab_size": 256}""");
        Trainer.Run(new TrainOptions { DataPath = Corpora.Require("moby-dick.txt"), OutDir = _model, Model = Path.Combine(_root, "config.json"), Steps = 20, Batch = 4, Seq = 32, EvalWindows = 2 });
    }

    [OneTimeTearDown]
    public void RemoveModel() => Directory.Delete(_root, recursive: true);

    [SetUp]
    public void SetUp() => _dir = Corpora.TempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// A small, fast run (8 sequences of 32 tokens, batch 4, a learning rate that moves a micro model within
    /// 3 epochs); <paramref name="more"/> adds flags or, given again, replaces these (flag-value pairs, or a lone --json).
    /// </summary>
    private string[] Args(string data, string @out, params string[] more)
    {
        var flags = new List<(string Flag, string? Value)>
        {
            ("--model", _model), ("--data", data), ("--out", @out), ("--samples", "8"), ("--seq", "32"), ("--batch", "4"), ("--lr", "3e-3"),
            ("--eval-windows", "2"), ("--prompt-tokens", "8"), ("--new-tokens", "24"),
        };
        for (int i = 0; i < more.Length; i++)
        {
            string flag = more[i];
            string? value = flag == "--json" ? null : more[++i];
            flags.RemoveAll(f => f.Flag == flag);
            flags.Add((flag, value));
        }
        return ["hyperfit", .. flags.SelectMany(f => f.Value is null ? new[] { f.Flag } : [f.Flag, f.Value])];
    }

    [Test]
    public void TheGreedyTtrProbeIsFittedToAShortContextAndSaysSo()
    {
        // The paper's 32 + 96 tokens do not fit this model's context of 64: the run goes on with a
        // probe of the same proportions that fills it, and measures the TTR every epoch.
        string run = Path.Combine(_dir, "hf");
        var (code, output, err) = CliRunner.Run(Args(Corpora.Require("moby-dick.txt"), run,
            "--epochs", "1", "--prompts", "2", "--prompt-tokens", "32", "--new-tokens", "96", "--json"));
        Assert.That(code, Is.Zero, err);
        Assert.That(err, Does.Contain("greedy-TTR probe: 16 prompt + 48 new tokens, not 32 + 96: the model's context is 64 tokens"));
        var lines = File.ReadAllLines(Path.Combine(run, Hyperfitter.LogFile)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.That(lines, Has.Count.EqualTo(2));
        foreach (var l in lines) Assert.That(l["ttr"]!.GetValue<double>(), Is.InRange(0, 100));
        using var doc = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var probe = doc.RootElement.GetProperty("ttr_probe");
        Assert.That((probe.GetProperty("prompt_tokens").GetInt32(), probe.GetProperty("new_tokens").GetInt32()), Is.EqualTo((16, 48)));
    }

    [TestCase(32, 96, 1024, 32, 96, false)]
    [TestCase(32, 96, 128, 32, 96, false)]
    [TestCase(32, 96, 64, 16, 48, true)]
    [TestCase(32, 96, 3, 1, 2, true)]
    [TestCase(1, 500, 10, 1, 9, true)]
    [TestCase(500, 1, 10, 9, 1, true)]
    public void TtrProbeFit(int prompt, int fresh, int context, int fitPrompt, int fitNew, bool shrunk)
    {
        var p = TtrProbe.Fit(prompt, fresh, context)!;
        Assert.That((p.PromptTokens, p.NewTokens, p.Shrunk), Is.EqualTo((fitPrompt, fitNew, shrunk)));
        Assert.That(p.PromptTokens + p.NewTokens, Is.LessThanOrEqualTo(context));
    }

    [Test]
    public void TtrProbeNeedsTwoTokensOfContext()
    {
        Assert.That(TtrProbe.Fit(32, 96, 1), Is.Null);
        Assert.That(TtrProbe.Fit(32, 96, 2), Is.EqualTo(new TtrProbe(1, 1, true)));
    }

    [Test]
    public void LossFallsAndLogPlotSummaryAndCheckpointAreWritten()
    {
        string data = Corpora.Require("moby-dick.txt"), run = Path.Combine(_dir, "hf");
        var (code, output, err) = CliRunner.Run(Args(data, run, "--epochs", "3", "--prompts", "2", "--json"));
        Assert.That(code, Is.Zero, err);

        // log.jsonl: epoch 0 (the starting model, no train loss) then one line per epoch.
        var lines = File.ReadAllLines(Path.Combine(run, Hyperfitter.LogFile)).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.That(lines.Select(l => l["epoch"]!.GetValue<int>()), Is.EqualTo(new[] { 0, 1, 2, 3 }));
        Assert.That(lines[0].ContainsKey("train_loss"), Is.False);
        foreach (var l in lines)
        {
            Assert.That(l["heldout_loss"]!.GetValue<double>(), Is.GreaterThan(0));
            Assert.That(l["entropy"]!.GetValue<double>(), Is.InRange(0, Math.Log(256)));
            Assert.That(l["top1"]!.GetValue<double>(), Is.InRange(1.0 / 256, 1));
            Assert.That(l["ttr"]!.GetValue<double>(), Is.InRange(0, 100));
        }
        double first = lines[1]["train_loss"]!.GetValue<double>(), last = lines[3]["train_loss"]!.GetValue<double>();
        TestContext.Out.WriteLine($"train loss {first:F4} -> {last:F4}, entropy {lines[0]["entropy"]} -> {lines[3]["entropy"]}");
        // 8 sequences seen 3 times at lr 3e-3: the micro model memorises fast (about 2.6 -> 1.6 nats here);
        // a loop that did not update, or updated the wrong way, stays at or above the first epoch.
        Assert.That(last, Is.LessThan(0.85 * first));
        // ... but nowhere near zero, so the run ends by saying so and naming the flags to change.
        Assert.That(err, Does.Contain(FormattableString.Invariant($"final train loss {last:F3} is not near zero")).And.Contain("--lr"));

        var png = File.ReadAllBytes(Path.Combine(run, Hyperfitter.PlotFile));
        Assert.That(png[1..4], Is.EqualTo("PNG"u8.ToArray()));

        // --json: the summary's final_train_loss and per-epoch list match the log.
        using var doc = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        var root = doc.RootElement;
        Assert.That(root.GetProperty("final_train_loss").GetDouble(), Is.EqualTo(last));
        Assert.That(root.GetProperty("epochs").GetArrayLength(), Is.EqualTo(4));
        Assert.That(root.GetProperty("epochs")[2].GetProperty("train_loss").GetDouble(), Is.EqualTo(lines[2]["train_loss"]!.GetValue<double>()));
        Assert.That(root.GetProperty("steps").GetInt32(), Is.EqualTo(3 * 2));

        // The sequences file holds 8 passages of the training part (the first 90% of the corpus), none of the held-out tail.
        string text = File.ReadAllText(data);
        var sequences = File.ReadAllText(Path.Combine(run, Hyperfitter.SequencesFile)).Split("\n\n");
        Assert.That(sequences.Count(s => s.Length > 0), Is.EqualTo(8));
        string heldOut = File.ReadAllText(Path.Combine(run, Hyperfitter.HeldOutFile));
        Assert.That(text, Does.EndWith(heldOut));
        foreach (string s in sequences.Where(s => s.Trim().Length > 0))
        {
            Assert.That(text, Does.Contain(s.TrimEnd('\n')));
            Assert.That(heldOut, Does.Not.Contain(s.TrimEnd('\n')));
        }

        // The checkpoint is a model the other commands read.
        var (genCode, genOut, genErr) = CliRunner.Run("generate", "--model", run, "--prompt", "The whale", "--max-new-tokens", "8");
        Assert.That(genCode, Is.Zero, genErr);
        Assert.That(genOut, Does.StartWith("The whale"));
    }

    [Test]
    public void TrainLayersLastOneLeavesEarlierBlocksAndEmbeddingsBitIdentical()
    {
        string data = Corpora.Require("moby-dick.txt"), run = Path.Combine(_dir, "last1");
        var (code, _, err) = CliRunner.Run(Args(data, run, "--epochs", "1", "--train-layers", "last:1", "--prompts", "0"));
        Assert.That(code, Is.Zero, err);
        var config = (Gpt2Config)Checkpoint.ReadConfig(_model);
        var before = Checkpoint.ReadWeights(_model, config, out _);
        var after = Checkpoint.ReadWeights(run, config, out _);
        var layout = new ParameterLayout(config);
        foreach (var e in layout.Entries)
        {
            // Per-block tensors stack the blocks on a leading axis of n_layer (the embeddings' leading axes are 256 and 64).
            bool perLayer = e.Shape.Length >= 2 && e.Shape[0] == config.NLayer;
            int per = (int)(perLayer ? e.Count / config.NLayer : e.Count);
            // Frozen: the embeddings and every block but the last; trained: the last block and the final layernorm.
            int frozen = e.Name is "wte" or "wpe" ? (int)e.Count : perLayer ? per * (config.NLayer - 1) : 0;
            var b = before.AsSpan((int)e.Offset, (int)e.Count);
            var a = after.AsSpan((int)e.Offset, (int)e.Count);
            Assert.That(a[..frozen].SequenceEqual(b[..frozen]), $"{e.Name}: frozen part unchanged");
            if (frozen < e.Count) Assert.That(a[frozen..].SequenceEqual(b[frozen..]), Is.False, $"{e.Name}: trained part moved");
        }
    }

    [Test]
    public void CancelledRunSavesTheStartingModelAndStops()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var result = Hyperfitter.Run(new HyperfitOptions
        {
            ModelDir = _model,
            DataPath = Corpora.Require("moby-dick.txt"),
            OutDir = Path.Combine(_dir, "cancelled"),
            Samples = 8,
            Seq = 32,
            Batch = 4,
            EvalWindows = 2,
            Prompts = 0,
        }, cancel: cts.Token);
        Assert.That(result.Interrupted);
        Assert.That(result.Steps, Is.Zero);
        Assert.That(result.Epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 0 }));
        Assert.That(Checkpoint.IsCheckpoint(result.OutDir));
    }

    [Test]
    public void AnInterruptedRunResumesBitExactly()
    {
        HyperfitOptions Options(string outDir, int epochs, bool resume = false) => new()
        {
            ModelDir = _model, DataPath = Corpora.Require("moby-dick.txt"), OutDir = Path.Combine(_dir, outDir),
            Samples = 12, Seq = 32, Batch = 4, Epochs = epochs, Lr = 1e-3f, EvalWindows = 2, Prompts = 0, Resume = resume,
        };
        var straight = Hyperfitter.Run(Options("straight", 4));

        // Stop after five steps (an epoch is three: 12 sequences, batch 4), in the middle of epoch 2;
        // resume up to epoch 3, then again up to epoch 4 (--epochs may grow on resume).
        using var cts = new CancellationTokenSource();
        int steps = 0;
        var first = Hyperfitter.Run(Options("resumed", 4), progress: _ => { if (++steps == 5) cts.Cancel(); }, cancel: cts.Token);
        Assert.That(first.Interrupted);
        Assert.That(first.Steps, Is.EqualTo(5));
        var half = Hyperfitter.Run(Options("resumed", 3, resume: true));
        Assert.That(half.Steps, Is.EqualTo(9));
        var rest = Hyperfitter.Run(Options("resumed", 4, resume: true));
        Assert.That(rest.Steps, Is.EqualTo(straight.Steps));

        var config = Checkpoint.ReadConfig(straight.OutDir);
        Assert.That(Checkpoint.ReadWeights(rest.OutDir, config, out _), Is.EqualTo(Checkpoint.ReadWeights(straight.OutDir, config, out _)),
            "the same updates in the same order from the same Adam state");
        Assert.That(rest.Epochs.Select(e => (e.Epoch, e.TrainLoss)), Is.EqualTo(straight.Epochs.Select(e => (e.Epoch, e.TrainLoss))),
            "every epoch's training loss, the one split by the interruption included");
        Assert.That(File.ReadLines(Path.Combine(rest.OutDir, Hyperfitter.LogFile)).Count(), Is.EqualTo(5), "epochs 0-4, once each");

        // A resume with other settings is refused, naming the setting.
        Assert.Throws<SettingException>(() => Hyperfitter.Run(Options("resumed", 5, resume: true) with { Lr = 2e-3f }));
        Assert.Throws<SettingException>(() => Hyperfitter.Run(Options("nothing-here", 2, resume: true)));
    }

    [Test]
    public void BadInputIsAOneLineUserError()
    {
        string data = Corpora.Require("moby-dick.txt"), run = Path.Combine(_dir, "bad");
        CliRunner.RunExpectingUserError(Args(Path.Combine(_dir, "missing.txt"), run), "--data", "missing.txt", "no such file");
        CliRunner.RunExpectingUserError(Args(data, run, "--samples", "0"), "--samples 0");
        CliRunner.RunExpectingUserError(Args(data, run, "--train-layers", "last:99"), "last:99", "3 blocks");
        CliRunner.RunExpectingUserError(Args(data, run, "--train-layers", "first:2"), "--train-layers 'first:2'", "last:N");
        CliRunner.RunExpectingUserError(Args(data, run, "--samples", "100000"), "--samples 100000", "non-overlapping");
        CliRunner.RunExpectingUserError(Args(data, run, "--seq", "65"), "--seq 65", "n_positions");
        CliRunner.RunExpectingUserError(Args(data, _model), "--out", "the folder of the model to hyperfit");
        string[] unknown = ["hyperfit", "--model", Path.Combine(_dir, "nope"), "--data", data, "--out", run];
        CliRunner.RunExpectingUserError(unknown, "--model", "nope", "no such folder");
        Assert.That(Directory.Exists(run), Is.False, "nothing written for bad input");
    }

    [Test]
    public void TheNotNearZeroNoteAppearsOnlyForAFinishedRunAtOrAboveTheBar()
    {
        var o = new HyperfitOptions { ModelDir = "m", DataPath = "d", OutDir = "o" };
        HyperfitResult Run(double? loss, bool interrupted = false) => new("o",
            [new HyperfitEpoch(0, null, 2, 1, 0.5, null, 0), .. loss is double l ? new[] { new HyperfitEpoch(1, l, 2, 1, 0.5, null, 1) } : []],
            1, 1, 1, interrupted, "p", "s", "h");

        Assert.That(HyperfitRun.NotNearZeroHint(Run(1.728), o), Does.Contain("1.728 is not near zero").And.Contain("--lr 1e-06 --samples 2000 --epochs 20"));
        Assert.That(HyperfitRun.NotNearZeroHint(Run(HyperfitRun.NearZeroLoss), o), Is.Not.Null);
        Assert.That(HyperfitRun.NotNearZeroHint(Run(0.099), o), Is.Null);
        Assert.That(HyperfitRun.NotNearZeroHint(Run(1.728, interrupted: true), o), Is.Null, "an interrupted run is not finished");
        Assert.That(HyperfitRun.NotNearZeroHint(Run(null), o), Is.Null, "no completed epoch, no train loss to judge");
    }
}
