using System.Text.Json.Nodes;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Training;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>
/// A run that diverges (a learning rate of 1e30 overflows the weights after one step, so the
/// second step's loss is NaN) stops with one clear line, exit 2, and leaves the folder with its
/// last good checkpoint; --on-nonfinite skip drops such steps without touching the weights.
/// </summary>
[NonParallelizable]
public class NonFiniteTrainingTests : TempDirTest
{
    private static string[] Train(string outDir, int steps, params string[] extra) =>
        ["train", "--model", "tiny", "--data", Text, "--out", outDir, "--steps", $"{steps}", "--batch", "2", "--seq", "16",
         "--lr", "1e30", "--eval-every", "0", "--eval-windows", "2", .. extra];

    private static JsonObject[] Log(string dir) =>
        File.ReadAllLines(Path.Combine(dir, Trainer.LogFile)).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();

    [Test]
    public void ADivergedTrainingStopsAndKeepsItsLastCheckpoint()
    {
        string run = Path.Combine(Dir, "run");
        CliRunner.RunExpectingRunError(Train(run, 6, "--save-every", "1"),
            "training diverged", "step 2 has loss NaN, gradient norm NaN", "its update was not applied", $"{run} keeps the checkpoint of step 1");

        // The folder is the complete save of step 1: it loads, and nothing of step 2 is in it.
        using var backend = BackendRegistry.Create("cpu");
        var (model, state) = Checkpoint.Load(run, backend, withOptimizer: true);
        using (model) Assert.That((state.Step, model.Step), Is.EqualTo((1, 1)));
        Assert.That(Directory.GetDirectories(run), Is.Empty, "no staging folder left");
        Assert.That(Log(run).Select(l => (int)l["step"]!), Is.EqualTo(new[] { 0, 1 }));

        // Its weights are finite but overflow float32 in the forward pass: eval says so instead of printing NaN.
        CliRunner.RunExpectingUserError(["eval", "--model", run, "--data", Text, "--seq", "16", "--json"], run, "loss on", "is NaN", "overflow");
    }

    [Test]
    public void ARunThatDivergesBeforeItsFirstSaveLeavesNoCheckpoint()
    {
        string run = Path.Combine(Dir, "run");
        CliRunner.RunExpectingRunError(Train(run, 6), "step 2 has loss NaN", $"no checkpoint was saved to {run} yet");
        Assert.That(Checkpoint.IsCheckpoint(run), Is.False);
    }

    [Test]
    public void SkippedStepsChangeNeitherWeightsNorMoments()
    {
        // Stopped at step 2 with the save of step 1, against skipping steps 2 and 3 and saving at 3:
        // the two folders hold the same weights and AdamW moments, bit for bit.
        string stopped = Path.Combine(Dir, "stopped"), skipped = Path.Combine(Dir, "skipped");
        CliRunner.RunExpectingRunError(Train(stopped, 3, "--save-every", "1"), "step 2 has loss NaN");
        var (code, _, err) = CliRunner.Run(Train(skipped, 3, "--on-nonfinite", "skip"));
        Assert.That(code, Is.Zero, err);
        Assert.That(err, Does.Contain("step 2: loss NaN, gradient norm NaN; update skipped (non-finite steps are skipped)"));
        Assert.That(err, Does.Contain("step 3: loss NaN, gradient norm NaN; update skipped"));

        var log = Log(skipped);
        Assert.That(log.Select(l => (int)l["step"]!), Is.EqualTo(new[] { 0, 1, 2, 3 }));
        Assert.That(log[2]["skipped"]?.GetValue<string>(), Is.EqualTo("loss NaN, gradient norm NaN"));
        Assert.That(log[3]["skipped"], Is.Not.Null);
        Assert.That(File.Exists(Path.Combine(skipped, Trainer.PlotFile)), Is.True, "the plot leaves the skipped steps out");

        foreach (string file in new[] { Checkpoint.ModelFile, Checkpoint.OptimizerFile })
        {
            using var a = SafeTensors.Open(Path.Combine(stopped, file));
            using var b = SafeTensors.Open(Path.Combine(skipped, file));
            Assert.That(b.Names, Is.EqualTo(a.Names));
            foreach (string name in a.Names) Assert.That(b.ReadFloats(name), Is.EqualTo(a.ReadFloats(name)), $"{file}: {name}");
        }
        Assert.That(Checkpoint.ReadState(skipped, Checkpoint.ReadConfig(skipped)).Step, Is.EqualTo(3), "skipped steps still count");
    }

    [Test]
    public void SkippingStopsAfterTenNonFiniteStepsInARow()
    {
        string run = Path.Combine(Dir, "run");
        var (error, _, _) = CliRunner.RunExpectingRunError(Train(run, 40, "--on-nonfinite", "skip", "--save-every", "1"),
            "10 steps in a row were not finite (the last, step 11: loss NaN, gradient norm NaN)", $"{run} keeps the checkpoint of step 1");
        Assert.That(error, Does.Not.Contain("--on-nonfinite"), "a skipping run does not suggest skipping");
        Assert.That(Log(run).Count(l => l["skipped"] is not null), Is.EqualTo(NonFiniteGuard.MaxSkipsInARow - 1));
        // Skipped steps are not saved over the last good checkpoint either (saves come only after applied steps).
        Assert.That(Checkpoint.ReadState(run, Checkpoint.ReadConfig(run)).Step, Is.EqualTo(1));
    }

    [Test]
    public void TheGuardCountsOnlyStepsInARow()
    {
        var guard = new NonFiniteGuard(NonFinitePolicy.Skip);
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < NonFiniteGuard.MaxSkipsInARow - 1; i++) Assert.That(guard.Admit(i, double.NaN, 1, "kept"), Is.False);
            Assert.That(guard.Admit(99, 2.5, 1, "kept"), Is.True, "a finite step resets the count");
        }
        Assert.That(guard.Skipped, Is.EqualTo(3 * (NonFiniteGuard.MaxSkipsInARow - 1)));
        Assert.That(new NonFiniteGuard(NonFinitePolicy.Skip).Admit(1, 3, double.PositiveInfinity, "k"), Is.False, "an infinite gradient norm counts");
        var stop = Assert.Throws<TrainingDivergedException>(() => new NonFiniteGuard(NonFinitePolicy.Stop).Admit(7, double.NegativeInfinity, 1, "OUT keeps X"));
        Assert.That(stop!.Message, Is.EqualTo("training diverged: step 7 has loss -Inf; its update was not applied and OUT keeps X (lower the learning rate, or skip non-finite steps)"));
        Assert.That(NonFiniteGuard.Problem(1, 2), Is.Null);
    }

    [Test]
    public void ASaveNeverWritesNonFiniteWeights()
    {
        string run = Path.Combine(Dir, "run");
        Trainer.Run(new TrainOptions { DataPath = Text, OutDir = run, Model = "tiny", Steps = 2, Batch = 2, Seq = 16, EvalWindows = 2 });
        var before = Directory.GetFiles(run).ToDictionary(f => f, File.ReadAllBytes);
        using var backend = BackendRegistry.Create("cpu");
        var (model, state) = Checkpoint.Load(run, backend, withOptimizer: true);
        using (model)
        {
            var weights = model.ReadParameters();
            long at = model.Layout["qkvw"].Offset + 5;
            weights[at] = float.PositiveInfinity;
            model.LoadParameters(weights);
            var e = Assert.Throws<TrainingDivergedException>(() => Checkpoint.Save(run, model, state, withOptimizer: true));
            Assert.That(e!.Message, Does.Contain("hold ±Inf (tensor qkvw, index 5); not saved"));
        }
        foreach (var (file, bytes) in before) Assert.That(File.ReadAllBytes(file), Is.EqualTo(bytes), file);
        Assert.That(Directory.GetDirectories(run), Is.Empty);
    }

    [Test]
    public void HyperfitStopsWhenItDiverges()
    {
        string model = Path.Combine(Dir, "model"), fit = Path.Combine(Dir, "fit");
        Trainer.Run(new TrainOptions { DataPath = Text, OutDir = model, Model = "tiny", Steps = 2, Batch = 2, Seq = 16, EvalWindows = 2 });
        CliRunner.RunExpectingRunError(
            ["hyperfit", "--model", model, "--data", Text, "--out", fit, "--samples", "8", "--seq", "16", "--batch", "2", "--epochs", "3",
             "--lr", "1e30", "--eval-windows", "2", "--prompts", "0"],
            "training diverged", "loss NaN", $"no checkpoint was saved to {fit} yet");
        Assert.That(Checkpoint.IsCheckpoint(fit), Is.False);
    }

    [Test]
    public void HypernetTrainingStopsWhenItDiverges()
    {
        string config = Path.Combine(Dir, "config.json"), run = Path.Combine(Dir, "hyper");
        File.WriteAllText(config, """{"n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 16, "vocab_size": 256}""");
        CliRunner.RunExpectingRunError(
            ["hypernet", "train", "--data-a", Text, "--data-b", Text, "--model", config, "--out", run, "--seq", "16", "--batch", "2",
             "--steps", "6", "--eval-every", "0", "--eval-windows", "2", "--hidden", "8", "--lr", "1e30"],
            "training diverged", "NaN", $"no checkpoint was saved to {run} yet");
    }

    [Test]
    public void AnUnknownPolicyIsAUserError() =>
        CliRunner.RunExpectingUserError(Train(Path.Combine(Dir, "run"), 2, "--on-nonfinite", "ignore"), "--on-nonfinite must be stop or skip, not 'ignore'");
}
