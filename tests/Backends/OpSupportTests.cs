using System.Reflection;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Backends.Cuda;
using Hyper.Runtime.Backends.Ilgpu;
using Hyper.Runtime.Backends.OpenCl;

namespace Hyper.Tests.Backends;

/// <summary>
/// <see cref="IBackend.Supports"/> tells the truth: an op is native on a backend exactly when the
/// backend's class implements the op's methods itself, rather than leaving them to the interface's
/// reference default. Read from the classes, so it holds on machines without the devices too.
/// </summary>
public sealed class OpSupportTests
{
    private static IEnumerable<TestCaseData> NativeSets()
    {
        using (var cpu = new CpuBackend()) yield return Case(typeof(CpuBackend), cpu);
        using (var reference = new ReferenceBackend()) yield return Case(typeof(ReferenceBackend), reference);
        yield return new TestCaseData(typeof(OpenClBackend), OpenClBackend.Native.ToArray()).SetArgDisplayNames("opencl");
        yield return new TestCaseData(typeof(IlgpuBackend), IlgpuBackend.Native.ToArray()).SetArgDisplayNames("ilgpu");
        yield return new TestCaseData(typeof(CudaBackend), CudaBackend.Native.ToArray()).SetArgDisplayNames("cuda");

        static TestCaseData Case(Type type, IBackend backend) =>
            new TestCaseData(type, Enum.GetValues<Op>().Where(backend.Supports).ToArray()).SetArgDisplayNames(backend.Name);
    }

    [TestCaseSource(nameof(NativeSets))]
    public void NativeOpsAreTheOnesTheClassImplements(Type backend, Op[] native)
    {
        Assert.That(native, Is.EquivalentTo(ImplementedOps(backend)));
    }

    [Test]
    public void TheReferenceFallbackIsTheInterfacesDefaultMethods()
    {
        var defaults = typeof(IBackend).GetMethods().Where(m => !m.IsAbstract).Select(OpOf).ToHashSet();
        Assert.That(defaults, Has.None.Null, "every default method belongs to an op");
        Assert.That(ReferenceFallback.Ops, Is.EquivalentTo(defaults));
    }

    [Test]
    public void GpuBackendsLeaveHyperAttentionAndWhatTheyHaveNoKernelForToOthers()
    {
        using var cpu = new CpuBackend();
        Assert.That(cpu.Supports(Op.Matmul), Is.True);
        Assert.That(cpu.SupportOf(Op.RmsNorm), Is.EqualTo(OpSupport.Native));
        Assert.That(cpu.Supports(Op.HyperAttention), Is.True);
        foreach (var native in new[] { OpenClBackend.Native, IlgpuBackend.Native, CudaBackend.Native })
        {
            Assert.That(native, Does.Contain(Op.Matmul).And.Contain(Op.RmsNorm));
            Assert.That(native, Does.Not.Contain(Op.HyperAttention).And.Not.Contain(Op.LeakyRelu));
        }
        // Grouped-query attention, training and decoding, has a kernel on every GPU backend.
        foreach (var native in new[] { OpenClBackend.Native, IlgpuBackend.Native, CudaBackend.Native })
            Assert.That(native, Does.Contain(Op.GroupedQueryAttention).And.Contain(Op.GroupedQueryAttentionKv));
    }

    [Test]
    public void AProfiledBackendSupportsWhatItWraps()
    {
        using var profiled = new ProfilingBackend(new ReferenceBackend());
        Assert.That(Enum.GetValues<Op>().Where(profiled.Supports), Is.EquivalentTo(ReferenceBackend.Native));
        Assert.That(profiled, Is.InstanceOf<IHyperAttentionBackend>());
    }

    // The ops whose IBackend methods the type implements itself, plus HyperAttention where it implements that interface.
    private static HashSet<Op> ImplementedOps(Type type)
    {
        var map = type.GetInterfaceMap(typeof(IBackend));
        var ops = new HashSet<Op>();
        for (int i = 0; i < map.InterfaceMethods.Length; i++)
            if (OpOf(map.InterfaceMethods[i]) is Op op && map.TargetMethods[i].DeclaringType != typeof(IBackend))
                ops.Add(op);
        // An op is native only when all its methods are (a forward without its backward would not be).
        foreach (var m in map.InterfaceMethods.Where((m, i) => map.TargetMethods[i].DeclaringType == typeof(IBackend)))
            if (OpOf(m) is Op missing) ops.Remove(missing);
        if (typeof(IHyperAttentionBackend).IsAssignableFrom(type)) ops.UnionWith([Op.HyperAttention, Op.HyperAttentionKv]);
        return ops;
    }

    // EncoderForward → Encoder, AttentionKvForward → AttentionKv, AdamWUpdate → AdamW; null for Allocate, Upload, ...
    private static Op? OpOf(MethodInfo method)
    {
        foreach (string suffix in new[] { "Forward", "Backward", "Update" })
            if (method.Name.EndsWith(suffix, StringComparison.Ordinal) && Enum.TryParse(method.Name[..^suffix.Length], out Op op))
                return op;
        return null;
    }
}
