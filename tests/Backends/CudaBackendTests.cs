using System.Globalization;
using System.Text.RegularExpressions;
using Hyper.Runtime.Benchmarks;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Backends.Cuda;

namespace Hyper.Tests.Backends;

/// <summary>
/// The CUDA backend where a CPU machine can test it: the header and the managed bindings agree,
/// and a missing or broken library or device gives a clear reason instead of a crash.
/// </summary>
[NonParallelizable]
public partial class CudaBackendTests
{
    private static string HeaderPath()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "native", "cuda", "hyper_cuda.h");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("native/cuda/hyper_cuda.h not found above the test folder");
    }

    [GeneratedRegex(@"^(?:int|const char\*)\s+(hyper_cuda_\w+)\s*\(([^)]*)\)\s*;", RegexOptions.Multiline)]
    private static partial Regex Declaration();

    // What each C parameter must be on the managed side. Device memory is an address (nint);
    // host memory is a typed pointer, and a void* is host memory exactly when its name says so.
    private static string ManagedType(string parameter)
    {
        string p = Regex.Replace(parameter.Replace("const ", ""), @"\s+", " ").Trim();
        string name = p[(p.LastIndexOfAny([' ', '*']) + 1)..];
        string type = p[..^name.Length].Replace(" ", "");
        return type switch
        {
            "int" => "Int32",
            "longlong" => "Int64",
            "float" => "Single",
            "int*" => "Int32*",
            "longlong*" => "Int64*",
            "double*" => "Double*",
            "char*" => "Byte*",
            "void**" => "IntPtr*",
            "float*" => "IntPtr",
            "void*" => name.StartsWith("host", StringComparison.Ordinal) ? "Void*" : "IntPtr",
            _ => throw new InvalidDataException($"hyper_cuda.h: no managed mapping for parameter '{parameter}'"),
        };
    }

    [Test]
    public void HeaderAndBindingsAgreeOneForOne()
    {
        string header = File.ReadAllText(HeaderPath());
        var declared = Declaration().Matches(header).ToDictionary(
            m => m.Groups[1].Value,
            m => m.Groups[2].Value.Trim() is "void" or "" ? [] : m.Groups[2].Value.Split(',').Select(ManagedType).ToArray());
        Assert.That(declared, Has.Count.GreaterThanOrEqualTo(25), "the header's declarations were not all found");

        var bound = CudaNative.BindingFields.ToDictionary(
            f => CudaNative.ExportName(f.Name),
            f => f.FieldType.GetFunctionPointerParameterTypes().Select(t => t.Name).ToArray());
        Assert.That(bound.Keys, Is.EquivalentTo(declared.Keys), "every hyper_cuda_* function has exactly one binding");
        foreach (var (name, parameters) in declared)
            Assert.That(bound[name], Is.EqualTo(parameters), $"{name}: parameter types");
    }

    [GeneratedRegex(@"^#define\s+HYPER_(MATMUL|ATTENTION|CUDA)_(\w+)\s+\(?(-?\d+)\)?", RegexOptions.Multiline)]
    private static partial Regex Define();

    [Test]
    public void VariantNamesAreTheHeadersIdsInOrder()
    {
        // The backend passes a variant's index in its list as the library's id: the two must agree.
        var defines = Define().Matches(File.ReadAllText(HeaderPath()))
            .Select(m => (Group: m.Groups[1].Value, Name: m.Groups[2].Value.ToLowerInvariant(), Id: int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture)))
            .ToList();
        string[] Ids(string group) => defines.Where(d => d.Group == group).OrderBy(d => d.Id).Select(d => d.Name).ToArray();
        Assert.That(Ids("MATMUL"), Is.EqualTo(CudaBackend.MatmulVariants));
        Assert.That(Ids("ATTENTION"), Is.EqualTo(CudaBackend.AttentionVariants));
        Assert.That(defines.Where(d => d.Group == "MATMUL").Select(d => d.Id), Is.EqualTo(Enumerable.Range(0, CudaBackend.MatmulVariants.Length)).AsCollection);
        Assert.That(defines.Where(d => d.Group == "ATTENTION").Select(d => d.Id), Is.EqualTo(Enumerable.Range(0, CudaBackend.AttentionVariants.Length)).AsCollection);
        Assert.That(defines.Single(d => d.Group == "CUDA" && d.Name == "bad_argument").Id, Is.EqualTo(CudaNative.BadArgument));
        Assert.That(defines.Single(d => d.Group == "CUDA" && d.Name == "not_built").Id, Is.EqualTo(CudaNative.NotBuilt));
        Assert.That(CudaBackend.MatmulVariants.Concat(CudaBackend.AttentionVariants).Where(v => v.EndsWith("tf32", StringComparison.Ordinal))
            .Select(v => KernelLab.ToleranceOf(v, Hyper.Kernels.WeightFormat.F32)), Is.All.EqualTo(KernelLab.Tf32Tolerance));
    }

    [Test]
    public void ExportNamesFollowTheFieldNames()
    {
        Assert.That(CudaNative.ExportName("MatmulForward"), Is.EqualTo("hyper_cuda_matmul_forward"));
        Assert.That(CudaNative.ExportName("SoftmaxCrossEntropyBackward"), Is.EqualTo("hyper_cuda_softmax_cross_entropy_backward"));
        Assert.That(CudaNative.ExportName("Init"), Is.EqualTo("hyper_cuda_init"));
    }

    [Test]
    public void RegistryKnowsCudaAndSaysWhyItIsMissing()
    {
        Assert.That(BackendRegistry.Names, Does.Contain("cuda"));
        if (BackendRegistry.TryCreate("cuda", out var backend, out string reason))
        {
            using (backend)
            {
                Assert.That(backend!.Description, Does.Contain("compute capability"));
                Assert.That(((IKernelVariants)backend).VariantsOf(Op.Matmul), Is.EqualTo(new[] { "naive", "tiled", "blocked", "tf32" }));
                Assert.That(((IKernelVariants)backend).VariantsOf(Op.Attention), Is.EqualTo(new[] { "naive", "flash", "flash_tf32" }));
            }
            return;
        }
        Assert.That(reason, Does.StartWith("backend 'cuda' is not available here: "));
        Assert.That(reason, Does.Contain("libhypercuda.so").Or.Contain("CUDA device"), reason);
        var e = Assert.Throws<ArgumentException>(() => BackendRegistry.Create("cuda"))!;
        Assert.That(e.Message, Is.EqualTo(reason));
    }

    [Test]
    public void AMissingLibraryNamesWhereItLookedAndHowToBuildIt()
    {
        Assume.That(CudaNative.IsLoaded, Is.False, "the library is loaded in this process; a missing one cannot be simulated");
        string missing = Path.Combine(Path.GetTempPath(), $"hyper-no-such-dir-{Guid.NewGuid():N}", CudaNative.LibraryFile);
        var e = WithLibraryPath(missing, () => Assert.Throws<BackendUnavailableException>(() => CudaNative.Load()))!;
        Assert.That(e.Message, Does.StartWith("libhypercuda.so not found"));
        Assert.That(e.Message, Does.Contain(missing));
        Assert.That(e.Message, Does.Contain("dotnet cake --target=Native"));
        Assert.That(e.Message, Does.Not.Contain("\n"));
    }

    [Test]
    public void ALibraryThatDoesNotLoadSaysSo()
    {
        Assume.That(CudaNative.IsLoaded, Is.False, "the library is loaded in this process; a broken one cannot be simulated");
        string dir = Directory.CreateTempSubdirectory("hyper-cuda-").FullName;
        try
        {
            string path = Path.Combine(dir, CudaNative.LibraryFile);
            File.WriteAllText(path, "not an ELF file");
            var e = WithLibraryPath(path, () => Assert.Throws<BackendUnavailableException>(() => new CudaBackend()))!;
            Assert.That(e.Message, Does.Contain(path).And.Contain("does not load"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static T WithLibraryPath<T>(string path, Func<T> action)
    {
        string? saved = Environment.GetEnvironmentVariable(CudaNative.PathVariable);
        Environment.SetEnvironmentVariable(CudaNative.PathVariable, path);
        try { return action(); }
        finally { Environment.SetEnvironmentVariable(CudaNative.PathVariable, saved); }
    }
}
