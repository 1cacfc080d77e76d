using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>
/// Every command on Llama-family folders as they come from elsewhere (the reference's F32 and BF16
/// folders: llama, qwen2, qwen3) and on the llama-tiny preset: train (and resume), generate with
/// the KV cache, hyperfit with --train-layers last:N.
/// </summary>
[NonParallelizable]
public class LlamaCommandTests : TempDirTest
{
    private static string Fixture(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "llama", name);

    private static void Ok(params string[] args)
    {
        var (code, _, err) = CliRunner.Run(args);
        Assert.That(code, Is.EqualTo(0), $"hyper {string.Join(' ', args)}\n{err}");
    }

    [Test]
    public void PresetTrainsResumesAndGenerates()
    {
        string run = Path.Combine(Dir, "run");
        Ok("train", "--model", "llama-tiny", "--data", Text, "--out", run, "--steps", "3", "--batch", "2", "--seq", "32", "--eval-every", "0");
        Ok("train", "--resume", "--data", Text, "--out", run, "--steps", "5", "--batch", "2", "--seq", "32", "--eval-every", "0");
        var (code, stdout, err) = CliRunner.Run("generate", "--model", run, "--prompt", "Call me", "--max-new-tokens", "8");
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(stdout, Does.StartWith("Call me"));
        Assert.That(File.ReadAllText(Path.Combine(run, "config.json")), Does.Contain("\"model_type\": \"llama\""));
    }

    [TestCase("llama")]
    [TestCase("llama_bf16")]
    [TestCase("llama_sharded")]
    [TestCase("qwen2")]
    [TestCase("qwen2_bf16")]
    [TestCase("qwen3")]
    [TestCase("qwen3_bf16")]
    public void FolderFromElsewhereTrainsGeneratesAndHyperfits(string name)
    {
        Ok("train", "--model", Fixture(name), "--data", Text, "--out", Path.Combine(Dir, "train"), "--steps", "2", "--batch", "2", "--seq", "16", "--eval-every", "0");
        Ok("generate", "--model", Fixture(name), "--prompt", "It was", "--max-new-tokens", "6", "--temperature", "0.8", "--top-p", "0.9", "--repetition-penalty", "1.2");
        Ok("hyperfit", "--model", Fixture(name), "--data", Text, "--out", Path.Combine(Dir, "fit"), "--samples", "4", "--seq", "32", "--epochs", "1",
            "--batch", "2", "--lr", "1e-3", "--train-layers", "last:1", "--prompts", "1", "--prompt-tokens", "8", "--new-tokens", "8");
        Ok("eval", "--model", Path.Combine(Dir, "fit"), "--data", Text, "--seq", "32", "--max-windows", "2");
    }
}

[NonParallelizable]
public class InfoModelTests
{
    [Test]
    public void DescribesAShardedLlamaFolder()
    {
        string dir = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "llama", "llama_sharded");
        var (code, stdout, err) = CliRunner.Run("info", "--model", dir);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(stdout, Does.Contain("architecture: llama (LlamaForCausalLM)"));
        Assert.That(stdout, Does.Contain("4 heads of 16, 2 key/value heads, MLP 176, untied head"));
        // The reference's count: 125,248 parameters, all F32 across the two shards.
        Assert.That(stdout, Does.Contain("parameters:   125,248 stored in").And.Contain("F32 (21 tensors)"));
        Assert.That(stdout, Does.Contain("1.9 MiB to train"));
    }

    [Test]
    public void WithWeightsItLoadsTheFolderAndMeasuresIt()
    {
        string dir = Path.Combine(TestContext.CurrentContext.TestDirectory, "Fixtures", "llama", "llama_sharded");
        var (code, stdout, err) = CliRunner.Run("info", "--model", dir, "--weights", "q8");
        Assert.That(code, Is.EqualTo(0), err);
        string line = stdout.Split('\n').Single(l => l.StartsWith("loaded:", StringComparison.Ordinal));
        Assert.That(line, Does.Contain("--weights q8 on cpu").And.Contain("packed").And.Contain("after decoding one token"));
        if (OperatingSystem.IsLinux()) Assert.That(line, Does.Contain("peak resident").And.Not.Contain("not reported"));
        CliRunner.RunExpectingUserError(["info", "--model", dir, "--weights", "q4"], "--weights", "not a weight format");
        CliRunner.RunExpectingUserError(["info", "--weights", "bf16"], "--weights needs --model");
    }

    [Test]
    public void NotACheckpointIsAUserError() =>
        CliRunner.RunExpectingUserError(["info", "--model", Path.GetTempPath()], "not a checkpoint folder");
}
