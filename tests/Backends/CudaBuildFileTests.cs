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
}
