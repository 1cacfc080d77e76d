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

    private static (int Code, string Output) Bash(params string[] args) => Bash(new Dictionary<string, string>(), args);

    private static (int Code, string Output) Bash(Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string a in args) start.ArgumentList.Add(a);
        foreach (var (key, value) in environment) start.Environment[key] = value;
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
        Assert.That(output, Does.Contain("flash_tf32").And.Contain("HYPER_CUDA_TENSOR_CORES=OFF").And.Contain("never been compiled or run"));
    }

    // Stand-ins for the GPU machine's tools. nvcc logs its arguments, fails on the tensor-core
    // sources when FAKE_TC_FAILS=1, and otherwise writes its -o output: the check program as a
    // script printing one passing check. cmake always fails, so the plain nvcc line is the one used.
    private const string FakeNvcc = """
        #!/usr/bin/env bash
        echo "$*" >> "$FAKE_LOG"
        [ "$1" = --version ] && { echo "Cuda compilation tools, release 13.0 (fake)"; exit 0; }
        case "$*" in *tensorcore/*) [ "$FAKE_TC_FAILS" = 1 ] && { echo "matmul_tf32.cu(1): error: fake" >&2; exit 1; } ;; esac
        out=""; prev=""
        for a in "$@"; do [ "$prev" = -o ] && out="$a"; prev="$a"; done
        { echo '#!/bin/sh'; echo "echo '{\"kind\":\"check\",\"op\":\"matmul\",\"variant\":0,\"shape\":\"s\",\"rel_error\":0,\"ok\":true,\"error\":\"\"}'"; } > "$out"
        chmod +x "$out"
        """;

    private const string FakeNvidiaSmi = """
        #!/usr/bin/env bash
        case "$*" in *name,*) echo "Fake H100, 81559 MiB, 580.00, 9.0" ;; *) echo "9.0" ;; esac
        """;

    [TestCase(true)]
    [TestCase(false)]
    public void RunShBuildsWithoutTheTensorCoreSourcesWhenTheyFailAndSaysSo(bool tensorCoresFail)
    {
        string root = Directory.CreateTempSubdirectory("hyper-runsh-").FullName;
        try
        {
            string bundle = Path.Combine(root, "bundle"), bin = Path.Combine(root, "bin"), log = Path.Combine(root, "nvcc.log");
            foreach (string dir in new[] { "native/cuda/src/tensorcore", "native/cuda/tests" }) Directory.CreateDirectory(Path.Combine(bundle, dir));
            foreach (string file in new[] { "src/matmul.cu", "src/tensorcore/matmul_tf32.cu", "tests/check.cu" })
                File.WriteAllText(Path.Combine(bundle, "native/cuda", file), "");
            File.Copy(Path.Combine(Bench(), "gpu-run.sh"), Path.Combine(bundle, "run.sh"));
            File.Copy(Path.Combine(Bench(), "gpu-summary.py"), Path.Combine(bundle, "summary.py"));
            Directory.CreateDirectory(bin);
            foreach (var (name, text) in new[] { ("nvcc", FakeNvcc), ("nvidia-smi", FakeNvidiaSmi), ("cmake", "#!/bin/sh\nexit 1\n") })
            {
                string path = Path.Combine(bin, name);
                File.WriteAllText(path, text.Replace("\r", "") + "\n");
            }
            Assert.That(Bash("-c", $"chmod +x '{bin}'/*").Code, Is.Zero);
            string output = Path.Combine(root, "out");
            var (code, text2) = Bash(new Dictionary<string, string>
            {
                ["PATH"] = bin + ":" + Environment.GetEnvironmentVariable("PATH"),
                ["OUT"] = output,
                ["HYPER_GPU_BUDGET"] = "120",
                ["FAKE_LOG"] = log,
                ["FAKE_TC_FAILS"] = tensorCoresFail ? "1" : "0",
            }, Path.Combine(bundle, "run.sh"));
            Assert.That(code, Is.EqualTo(0), text2);
            string summary = File.ReadAllText(Path.Combine(output, "summary.md"));
            Assert.That(summary, Does.Contain("| build | ok |"), summary);
            Assert.That(summary, Does.Contain("hypercuda_check: 1 of 1 checks pass"), "the rest of the session ran on the library it got");
            var libraryBuilds = File.ReadAllLines(log).Where(l => l.Contains("libhypercuda.so -o", StringComparison.Ordinal) || l.EndsWith("libhypercuda.so", StringComparison.Ordinal)).ToList();
            Assert.That(libraryBuilds[0], Does.Contain("tensorcore/matmul_tf32.cu").And.Contain("-DHYPER_HAVE_TENSOR_CORES"));
            if (tensorCoresFail)
            {
                Assert.That(summary, Does.Contain("tensor-core variants: left out, their build failed"));
                Assert.That(libraryBuilds, Has.Count.EqualTo(2));
                Assert.That(libraryBuilds[1], Does.Not.Contain("tensorcore").And.Not.Contain("HYPER_HAVE_TENSOR_CORES"));
            }
            else
            {
                Assert.That(summary, Does.Contain("tensor-core variants: built"));
                Assert.That(libraryBuilds, Has.Count.EqualTo(1));
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
