using System.Diagnostics;

namespace Hyper.Tests.Backends;

/// <summary>
/// The TF32 tensor-core kernels (native/cuda/src/tensorcore) built with g++ on a host emulation of
/// CUDA and WMMA (native/cuda/tests/emulate) and checked against double-precision loops: their
/// tiling, masking and online softmax, where no GPU or nvcc exists. Whether nvcc accepts them, and
/// how fast they run, only a GPU run says.
/// </summary>
public class TensorCoreEmulationTests
{
    [Test]
    public void TheTensorCoreKernelsMatchTheReferenceOnTheHostEmulation()
    {
        string? script = null;
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null && script is null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "native", "cuda", "tests", "emulate", "emulate.sh");
            if (File.Exists(path)) script = path;
        }
        if (script is null) Assert.Ignore("native/cuda/tests/emulate/emulate.sh not found above the test directory");
        foreach (string tool in new[] { "g++", "python3" })
            if (!OnPath(tool)) Assert.Ignore($"{tool} is not on PATH");
        string build = Directory.CreateTempSubdirectory("hyper-emulate-").FullName;
        try
        {
            var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(script!);
            start.ArgumentList.Add(build);
            using var process = Process.Start(start)!;
            var err = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd() + err.Result;
            process.WaitForExit();
            Assert.That(process.ExitCode, Is.EqualTo(0), output);
            Assert.That(output, Does.Contain("all passed"));
            Assert.That(output.Split('\n').Count(l => l.StartsWith("ok ", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(15), output);
        }
        finally
        {
            Directory.Delete(build, recursive: true);
        }
    }

    private static bool OnPath(string tool) => (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, tool)));
}
