using System.Diagnostics;

namespace Hyper.Tests.Backends;

/// <summary>
/// The GPU bundle's scripts, checked where no GPU exists: they parse, and run.sh --help answers
/// without a card. Publishing the bundle takes minutes, so it is checked by hand (bench/RESULTS.md).
/// </summary>
public class GpuBundleScriptTests
{
    private static string Bench()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "bench", "gpu-run.sh"))) return Path.Combine(dir.FullName, "bench");
        Assert.Ignore("bench/gpu-run.sh not found above the test directory");
        return "";
    }

    private static (int Code, string Output) Bash(params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var err = process.StandardError.ReadToEndAsync(); // both drained at once: a full pipe would block the other
        string output = process.StandardOutput.ReadToEnd() + err.Result;
        process.WaitForExit();
        return (process.ExitCode, output);
    }

    [TestCase("gpu-bundle.sh")]
    [TestCase("gpu-run.sh")]
    [TestCase("gpu-hyper.sh")]
    [TestCase("gpu-check.sh")]
    public void TheScriptParses(string script)
    {
        var (code, output) = Bash("-n", Path.Combine(Bench(), script));
        Assert.That(code, Is.EqualTo(0), output);
    }

    [Test]
    public void RunShSaysWhatItNeedsAndWrites()
    {
        var (code, output) = Bash(Path.Combine(Bench(), "gpu-run.sh"), "--help");
        Assert.That(code, Is.EqualTo(0), output);
        Assert.That(output, Does.Contain("nvcc").And.Contain("summary.md").And.Contain("summary.json").And.Contain("HYPER_GPU_BUDGET"));
    }
}
