namespace Hyper.Tests.Backends;

/// <summary>The CUDA build file, checked where no nvcc exists.</summary>
public class CudaBuildFileTests
{
    private static string CMakeLists()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "native", "cuda", "CMakeLists.txt");
            if (File.Exists(path)) return path;
        }
        Assert.Ignore("native/cuda/CMakeLists.txt not found above the test directory");
        return "";
    }

    [Test]
    public void TheDefaultArchitecturesAreSetBeforeProjectEnablesCuda()
    {
        // project(... CUDA) fills CMAKE_CUDA_ARCHITECTURES with nvcc's default; a default set after
        // it is dead code and the library is built for an architecture nobody chose.
        var lines = File.ReadAllLines(CMakeLists()).Select(l => l.Trim()).ToList();
        int project = lines.FindIndex(l => l.StartsWith("project(", StringComparison.Ordinal));
        int arch = lines.FindIndex(l => l.StartsWith("set(CMAKE_CUDA_ARCHITECTURES", StringComparison.Ordinal));
        Assert.That(project, Is.GreaterThanOrEqualTo(0), "project()");
        Assert.That(arch, Is.GreaterThanOrEqualTo(0), "a default for CMAKE_CUDA_ARCHITECTURES");
        Assert.That(arch, Is.LessThan(project), "the default comes before project()");
        Assert.That(lines[arch], Does.Contain("80").And.Contain("90"), "A100 and H100/H200");
    }

    [Test]
    public void TheTensorCoreSourcesAreAnOptionalPartOfTheBuild()
    {
        // Where the WMMA sources do not compile, -DHYPER_CUDA_TENSOR_CORES=OFF must still build the
        // rest: they are added only under the option, and the core sources never need them.
        string path = CMakeLists(), dir = Path.GetDirectoryName(path)!;
        string text = File.ReadAllText(path);
        var sources = System.Text.RegularExpressions.Regex.Matches(text, @"src/[\w/]+\.cu\b").Select(m => m.Value).Distinct().ToList();
        Assert.That(sources, Has.Count.GreaterThan(5));
        foreach (string source in sources) Assert.That(File.Exists(Path.Combine(dir, source)), source);
        var tensorCore = sources.Where(x => x.StartsWith("src/tensorcore/", StringComparison.Ordinal)).ToList();
        Assert.That(tensorCore, Is.EquivalentTo(new[] { "src/tensorcore/matmul_tf32.cu", "src/tensorcore/attention_tf32.cu" }));
        int option = text.IndexOf("if(HYPER_CUDA_TENSOR_CORES)", StringComparison.Ordinal);
        int end = text.IndexOf("endif()", option, StringComparison.Ordinal);
        Assert.That(option, Is.GreaterThan(0), "the option guards them");
        foreach (string source in tensorCore)
            Assert.That(text.IndexOf(source, StringComparison.Ordinal), Is.InRange(option, end), $"{source} is added under the option only");
        Assert.That(text[option..end], Does.Contain("HYPER_HAVE_TENSOR_CORES"));
        // The core sources call into them only behind that definition.
        foreach (string core in new[] { "src/matmul.cu", "src/attention.cu" })
        {
            string code = File.ReadAllText(Path.Combine(dir, core));
            Assert.That(code, Does.Contain("#ifdef HYPER_HAVE_TENSOR_CORES").And.Contain("HYPER_CUDA_NOT_BUILT"), core);
        }
    }
}
