using System.Text.Json.Nodes;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>
/// --resume on a run that already reached its end says there is nothing to do (exit 0), prints no
/// NaN "final loss", and changes no file of the folder.
/// </summary>
[NonParallelizable]
public class NothingToDoTests : TempDirTest
{
    private static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir).ToDictionary(f => f, File.ReadAllBytes);

    private static void AssertNothingDone(string[] args, string dir, string says)
    {
        var before = Snapshot(dir);
        var (code, output, err) = CliRunner.Run([.. args, "--json"]);
        Assert.That(code, Is.Zero, err);
        Assert.That(err, Does.Contain($"nothing to do: {Path.GetFullPath(dir)} {says}"));
        Assert.That(err + output, Does.Not.Contain("NaN"));
        var json = JsonNode.Parse(output.Trim().Split('\n')[^1])!;
        Assert.That(json["nothing_to_do"]!.GetValue<bool>(), Is.True);
        var after = Snapshot(dir);
        Assert.That(after.Keys, Is.EquivalentTo(before.Keys));
        foreach (var (file, bytes) in before) Assert.That(after[file], Is.EqualTo(bytes), file);
    }

    [Test]
    public void TrainResumedAtItsLastStep()
    {
        string run = Path.Combine(Dir, "run");
        string[] args = ["train", "--model", "tiny", "--data", Text, "--out", run, "--steps", "2", "--batch", "2", "--seq", "16", "--eval-windows", "2"];
        Assert.That(CliRunner.Run(args).Code, Is.Zero);
        AssertNothingDone([.. args, "--resume"], run, "is already at step 2 (--steps 2); raise --steps");
        // A lower --steps is nothing to do as well.
        AssertNothingDone(["train", "--resume", "--data", Text, "--out", run, "--steps", "1", "--batch", "2", "--seq", "16"], run, "is already at step 2 (--steps 1)");
    }

    [Test]
    public void HyperfitResumedAfterItsLastEpoch()
    {
        string model = Path.Combine(Dir, "model"), fit = Path.Combine(Dir, "fit");
        Assert.That(CliRunner.Run("train", "--model", "tiny", "--data", Text, "--out", model, "--steps", "1", "--batch", "2", "--seq", "16", "--eval-windows", "2").Code, Is.Zero);
        string[] args = ["hyperfit", "--model", model, "--data", Text, "--out", fit, "--samples", "4", "--seq", "16", "--batch", "2", "--epochs", "2",
            "--eval-windows", "2", "--prompts", "0"];
        var (code, _, err) = CliRunner.Run(args);
        Assert.That(code, Is.Zero, err);
        AssertNothingDone([.. args, "--resume"], fit, "has done all 2 epochs (--epochs 2); raise --epochs");
    }

    [Test]
    public void HypernetTrainResumedAtItsLastStep()
    {
        string config = Path.Combine(Dir, "config.json"), run = Path.Combine(Dir, "hyper");
        File.WriteAllText(config, """{"n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 16, "vocab_size": 256}""");
        string[] args = ["hypernet", "train", "--data-a", Text, "--data-b", Text, "--model", config, "--out", run, "--seq", "16", "--batch", "2",
            "--steps", "2", "--eval-windows", "1", "--hidden", "8"];
        var (code, _, err) = CliRunner.Run(args);
        Assert.That(code, Is.Zero, err);
        AssertNothingDone([.. args, "--resume"], run, "is already at step 2 (--steps 2)");
    }
}
