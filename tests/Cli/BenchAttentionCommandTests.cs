using System.Text.Json;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper bench attention` end to end, in process, at tiny lengths.</summary>
[NonParallelizable]
public class BenchAttentionCommandTests
{
    [Test]
    public void JsonHasOneLinePerLengthWithTheKeys()
    {
        var (code, output, err) = CliRunner.Run("bench", "attention", "--n", "64,100", "--heads", "2", "--dim", "16", "--causal", "--backward",
            "--block", "16", "--samples", "8", "--min-seq", "16", "--repeats", "1", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        string[] lines = output.Trim().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(2));
        int[] lengths = [64, 100];
        for (int i = 0; i < 2; i++)
        {
            using var doc = JsonDocument.Parse(lines[i]);
            JsonElement root = doc.RootElement;
            Assert.That(root.GetProperty("n").GetInt32(), Is.EqualTo(lengths[i]));
            Assert.That(root.GetProperty("causal").GetBoolean(), Is.True);
            double exact = root.GetProperty("exact_ms").GetDouble(), hyper = root.GetProperty("hyper_ms").GetDouble();
            Assert.That(exact, Is.GreaterThan(0));
            Assert.That(hyper, Is.GreaterThan(0));
            // Times are printed unrounded, so the speedup is the same division.
            Assert.That(root.GetProperty("speedup").GetDouble(), Is.EqualTo(exact / hyper).Within(1e-12).Percent);
            Assert.That(root.GetProperty("speedup_fwd_bwd").GetDouble(),
                Is.EqualTo(root.GetProperty("exact_fwd_bwd_ms").GetDouble() / root.GetProperty("hyper_fwd_bwd_ms").GetDouble()).Within(1e-12).Percent);
            // Blocks of 16 and 8 samples at these lengths approximate: errors are positive and finite.
            foreach (string key in new[] { "rel_error", "spectral_error", "rel_error_dq", "rel_error_dk", "rel_error_dv" })
                Assert.That(root.GetProperty(key).GetDouble(), Is.GreaterThan(0).And.LessThan(1e3), key);
        }
    }

    [Test]
    public void ModelDataTakesQkvFromACheckpoint()
    {
        string dir = Data.Corpora.TempDir();
        try
        {
            string model = Path.Combine(dir, "m");
            Generation.TinyModel.Save(model);
            string text = Data.Corpora.Require("moby-dick.txt");
            // Three windows of the tiny model's 64-token context laid end to end (the last in part).
            var (code, output, err) = CliRunner.Run("bench", "attention", "--n", "150", "--heads", "2", "--dim", "32", "--causal",
                "--data", $"model:{model}", "--text", text, "--block", "16", "--samples", "8", "--min-seq", "32", "--repeats", "1", "--json");
            Assert.That(code, Is.EqualTo(0), err);
            using var doc = JsonDocument.Parse(output.Trim());
            Assert.That(doc.RootElement.GetProperty("n").GetInt32(), Is.EqualTo(150));
            Assert.That(doc.RootElement.GetProperty("rel_error").GetDouble(), Is.GreaterThan(0).And.LessThan(10));
            CliRunner.RunExpectingUserError(["bench", "attention", "--n", "64", "--heads", "1", "--dim", "16", "--data", $"model:{model}", "--text", text], "head size 32");
            CliRunner.RunExpectingUserError(["bench", "attention", "--n", "64", "--data", $"model:{dir}/none"], "not a checkpoint");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Test]
    public void OneBlockOfEveryKeyHasNoError()
    {
        // Block ≥ n makes HyperAttention exact: only fp32 rounding separates it from flash.
        var (code, output, err) = CliRunner.Run("bench", "attention", "--n", "80", "--dim", "8", "--block", "128", "--min-seq", "8",
            "--data", "clustered", "--repeats", "1", "--json");
        Assert.That(code, Is.EqualTo(0), err);
        using var doc = JsonDocument.Parse(output.Trim());
        Assert.That(doc.RootElement.GetProperty("rel_error").GetDouble(), Is.LessThan(1e-5));
        Assert.That(doc.RootElement.TryGetProperty("exact_fwd_bwd_ms", out _), Is.False, "backward keys only with --backward");
    }

    [Test]
    public void TablePrintsARowPerLength()
    {
        var (code, output, err) = CliRunner.Run("bench", "attention", "--n", "32,48", "--dim", "16", "--repeats", "1");
        Assert.That(code, Is.EqualTo(0), err);
        string[] lines = output.Trim().Split('\n');
        Assert.That(lines, Has.Length.EqualTo(4), output); // settings, header, two rows
        Assert.That(lines[1], Does.Contain("speedup"));
        Assert.That(lines[2].Trim(), Does.StartWith("32 "));
        Assert.That(lines[3].Trim(), Does.StartWith("48 "));
    }

    [TestCase("--n", "0", "--n")]
    [TestCase("--n", "12,x", "--n")]
    [TestCase("--data", "gaussian", "--data")]
    [TestCase("--order", "binary", "--order")]
    [TestCase("--block", "0", "--block")]
    [TestCase("--lsh-projs", "17", "--lsh-projs")]
    public void BadFlagsAreUserErrors(string flag, string value, string named)
    {
        string[] args = flag == "--n" ? ["bench", "attention", flag, value] : ["bench", "attention", "--n", "16", flag, value];
        CliRunner.RunExpectingUserError(args, named);
    }
}
