using System.Text.Json;
using Hyper.Runtime.IO;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>--attention hyper through train, eval and generate: stored with the model, switchable, checked.</summary>
[NonParallelizable]
public class HyperAttentionCliTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Corpora.TempDir();

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    internal static double Loss(string stdout) => JsonDocument.Parse(stdout.Trim().Split('\n')[^1]).RootElement.GetProperty("loss").GetDouble();

    /// <summary>
    /// `hyper eval --json` of a folder trained with a stored hyper layer (blocks of 8) on 64-token windows:
    /// by default it differs from --attention exact, and --block 64 (every rectangle exact) gives the exact loss.
    /// Returns the eval command line.
    /// </summary>
    internal static string[] AssertEvalUsesTheStoredLayer(string run, string data)
    {
        string[] eval = ["eval", "--model", run, "--data", data, "--seq", "64", "--max-windows", "16", "--json"];
        var stored = CliRunner.Run(eval);
        var exact = CliRunner.Run([.. eval, "--attention", "exact"]);
        var wide = CliRunner.Run([.. eval, "--block", "64"]);
        Assert.That((stored.Code, exact.Code, wide.Code), Is.EqualTo((0, 0, 0)), stored.Err + exact.Err + wide.Err);
        TestContext.Out.WriteLine($"hyper {Loss(stored.Out)}, exact {Loss(exact.Out)}, block 64 {Loss(wide.Out)}");
        Assert.That(Loss(stored.Out), Is.Not.EqualTo(Loss(exact.Out)), "the stored hyper layer is used by default");
        // A block covering the whole window makes every rectangle exact: the exact loss.
        Assert.That(Loss(wide.Out), Is.EqualTo(Loss(exact.Out)).Within(1e-4));
        return eval;
    }

    [Test]
    public void TrainStoresHyperLayersAndEvalCanSwitchThem()
    {
        string data = Corpora.Require("moby-dick.txt"), run = Path.Combine(_dir, "run");
        var (code, _, err) = CliRunner.Run("train", "--model", "tiny", "--data", data, "--out", run, "--steps", "30", "--batch", "4", "--seq", "64",
            "--eval-every", "0", "--attention", "hyper", "--hyper-layers", "last:1", "--block", "8", "--samples", "8", "--min-seq", "16", "--lsh-projs", "4");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(File.Exists(Path.Combine(run, HyperAttentionFile.FileName)));

        AssertEvalUsesTheStoredLayer(run, data);

        var gen = CliRunner.Run("generate", "--model", run, "--prompt", "Call me Ishmael.", "--max-new-tokens", "40", "--temperature", "0");
        Assert.That(gen.Code, Is.EqualTo(0), gen.Err);
        Assert.That(gen.Out.Length, Is.GreaterThan(10));
    }

    [Test]
    public void ContradictoryOrBadFlagsExitWithCode2()
    {
        string model = Path.Combine(_dir, "m");
        Generation.TinyModel.Save(model);
        string data = Corpora.Require("moby-dick.txt");
        CliRunner.RunExpectingUserError(["eval", "--model", model, "--data", data, "--block", "8"], "--attention hyper");
        CliRunner.RunExpectingUserError(["eval", "--model", model, "--data", data, "--attention", "exact", "--samples", "8"], "contradicts");
        CliRunner.RunExpectingUserError(["eval", "--model", model, "--data", data, "--attention", "hyper", "--hyper-layers", "last:9"], "last:9");
        CliRunner.RunExpectingUserError(["eval", "--model", model, "--data", data, "--attention", "fast"], "exact or hyper");
        CliRunner.RunExpectingUserError(["eval", "--model", model, "--data", data, "--attention", "hyper", "--lsh-projs", "20"], "LSH");
    }
}
