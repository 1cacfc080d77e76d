using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>
/// Every trainer refuses to resume a run with settings other than the ones it was saved with (one
/// check, <c>ResumeSettings</c>, for all three); only the run's length may change.
/// </summary>
[NonParallelizable]
public class ResumeSettingsTests : TempDirTest
{
    private static void Ok(params string[] args)
    {
        var (code, _, err) = CliRunner.Run(args);
        Assert.That(code, Is.Zero, err);
    }

    [Test]
    public void TrainResumesOnlyTheSameRun()
    {
        string run = Path.Combine(Dir, "run");
        string[] Args(string batch, string steps) =>
            ["train", "--model", "tiny", "--data", Text, "--out", run, "--steps", steps, "--batch", batch, "--seq", "16", "--eval-windows", "2"];
        Ok(Args("2", "2"));
        CliRunner.RunExpectingUserError([.. Args("3", "4"), "--resume"], "--resume changes batch from 2 (in", ") to 3;", "hyper.json", "only steps may change");
        Ok([.. Args("2", "4"), "--resume"]); // a longer run is the same run
    }

    [Test]
    public void HyperfitResumesOnlyTheSameRun()
    {
        string model = Path.Combine(Dir, "model"), fit = Path.Combine(Dir, "fit");
        Ok("train", "--model", "tiny", "--data", Text, "--out", model, "--steps", "1", "--batch", "2", "--seq", "16", "--eval-windows", "2");
        string[] Args(string batch, string epochs) =>
            ["hyperfit", "--model", model, "--data", Text, "--out", fit, "--samples", "4", "--seq", "16", "--batch", batch, "--epochs", epochs,
             "--eval-windows", "2", "--prompts", "0"];
        Ok(Args("2", "1"));
        CliRunner.RunExpectingUserError([.. Args("4", "2"), "--resume"], "--resume changes batch from 2 (in", ") to 4;", "only epochs may change");
        Ok([.. Args("2", "2"), "--resume"]);
    }

    [Test]
    public void HypernetTrainResumesOnlyTheSameRun()
    {
        string config = Path.Combine(Dir, "config.json"), run = Path.Combine(Dir, "hyper");
        File.WriteAllText(config, """{"n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 16, "vocab_size": 256}""");
        string[] Args(string batch) =>
            ["hypernet", "train", "--data-a", Text, "--data-b", Text, "--model", config, "--out", run, "--seq", "16", "--batch", batch,
             "--steps", "2", "--eval-windows", "1", "--hidden", "8"];
        Ok(Args("2"));
        CliRunner.RunExpectingUserError([.. Args("3"), "--resume"], "--resume changes batch from 2 (in", ") to 3;");
    }
}
