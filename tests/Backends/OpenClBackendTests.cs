using Hyper.Runtime.Backends;
using Hyper.Runtime.Backends.OpenCl;

namespace Hyper.Tests.Backends;

/// <summary>
/// What the op suite does not cover of the OpenCL backend: device selection, the kernel-variant
/// interface, and bad input refused on the host before anything reaches the device. Skipped with
/// the reason where this machine has no OpenCL device.
/// </summary>
[NonParallelizable] // sets HYPER_OPENCL_DEVICE, which every OpenCL backend reads
public sealed class OpenClBackendTests
{
    private IBackend? _backend;
    private string _reason = "";

    [OneTimeSetUp]
    public void Create() => BackendRegistry.TryCreate("opencl", out _backend, out _reason);

    [OneTimeTearDown]
    public void Dispose() => _backend?.Dispose();

    private IBackend Backend => _backend ?? throw new IgnoreException($"opencl is not available here: {_reason}");

    [Test]
    public void DescriptionNamesPlatformAndDevice()
    {
        string description = Backend.Description;
        TestContext.Out.WriteLine(description);
        Assert.That(description, Does.Match(@"^\S.*: \S.*, \d+ compute units, \d+ MiB$"));
    }

    [Test]
    public void DeviceIndexOutOfRangeIsUnavailableWithTheReason()
    {
        _ = Backend;
        string? saved = Environment.GetEnvironmentVariable("HYPER_OPENCL_DEVICE");
        try
        {
            Environment.SetEnvironmentVariable("HYPER_OPENCL_DEVICE", "99");
            Assert.That(BackendRegistry.TryCreate("opencl", out var backend, out string reason), Is.False);
            Assert.That(backend, Is.Null);
            Assert.That(reason, Does.Contain("HYPER_OPENCL_DEVICE=99 is not a device index"));
        }
        finally { Environment.SetEnvironmentVariable("HYPER_OPENCL_DEVICE", saved); }
    }

    [Test]
    public void MatmulVariantsAreListedAndSelectable()
    {
        var variants = (IKernelVariants)Backend;
        Assert.That(variants.VariantsOf(Op.Matmul), Is.EqualTo(new[] { "naive", "tiled", "blocked" }));
        Assert.That(variants.VariantsOf(Op.Gelu), Is.Empty);
        string before = variants.VariantOf(Op.Matmul);
        try
        {
            variants.UseVariant(Op.Matmul, "naive");
            Assert.That(variants.VariantOf(Op.Matmul), Is.EqualTo("naive"));
            Assert.That(() => variants.UseVariant(Op.Matmul, "winograd"), Throws.ArgumentException.With.Message.Contains("winograd"));
        }
        finally { variants.UseVariant(Op.Matmul, before); }
    }

    [Test]
    public void AnOpWithoutAKernelRunsOnTheReferenceFallback()
    {
        // No OpenCL leaky-ReLU kernel: Supports says so, and IBackend's default still gives the
        // reference's answer, through a host copy that leaves the rest of each buffer alone.
        Assert.That(Backend.Supports(Op.LeakyRelu), Is.False);
        Assert.That(Backend.SupportOf(Op.LeakyRelu), Is.EqualTo(OpSupport.Reference));
        Assert.That(Backend.SupportOf(Op.HyperAttention), Is.EqualTo(OpSupport.None));
        Assert.That(Backend.Supports(Op.Matmul), Is.True);
        Assert.That(Backend.Supports(Op.RmsNorm), Is.True, "OpenCL has its own RMSNorm kernel");

        const int N = 37;
        var rng = new Random(17);
        float[] Seeded(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        float[] x = Seeded(N), dout = Seeded(N), dx0 = Seeded(N);
        using var reference = new ReferenceBackend();
        float[][] Run(IBackend be)
        {
            using var h = new OpHarness(be);
            TensorView y = h.Put(new float[N]), inp = h.Put(x), dinp = h.Put(dx0), g = h.Put(dout);
            be.LeakyReluForward(y, inp, 0.1f, N);
            be.LeakyReluBackward(dinp, inp, g, 0.1f, N);
            float[][] outputs = [h.Read(y), h.Read(dinp)];
            h.CheckGuards();
            return outputs;
        }
        float[][] expected = Run(reference), actual = Run(Backend);
        // The same reference kernel on the same floats: equal to the bit.
        for (int i = 0; i < expected.Length; i++) Assert.That(actual[i], Is.EqualTo(expected[i]), $"output {i}");
    }

    [Test]
    public void BadInputIsRefusedOnTheHost()
    {
        using DeviceBuffer a = Backend.Allocate(1024), b = Backend.Allocate(1024);
        using var host = new HostBuffer(8);
        Assert.That(() => Backend.GeluForward(host.All, a.Slice(0, 8), 8), Throws.ArgumentException.With.Message.Contains("HostBuffer"));
        Assert.That(() => Backend.ResidualForward(a.Slice(0, 7), a.Slice(8, 8), b.Slice(0, 8), 8),
            Throws.ArgumentException.With.Message.Contains("out has 7 floats, expected 8"));
        // wte holds V = 4 rows of C = 2: token 4 would read past it.
        Assert.That(() => Backend.EncoderForward(a.Slice(0, 4), [1, 4], b.Slice(0, 8), b.Slice(8, 4), 1, 2, 2),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("token 4 is outside [0, 4)"));
        Assert.That(() => Backend.SoftmaxCrossEntropyForward(a.Slice(0, 2), b.Slice(0, 8), b.Slice(0, 8), [0, 4], 2, 4, 4),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("target 4 is not below V = 4"));
        Assert.That(() => Backend.AttentionForward(a.Slice(0, 258), a.Slice(0, 1), b.Slice(0, 774), 1, 1, 258, 1, causal: true),
            Throws.ArgumentException.With.Message.Contains("head size 258"));
    }

    [Test]
    public void ABuildFailureThrowsWithTheBuildLog()
    {
        _ = Backend;
        var e = Assert.Throws<InvalidOperationException>(() => new OpenClDevice("__kernel void broken(__global float* x) { x[0] = undeclared; }"));
        Assert.That(e!.Message, Does.StartWith("OpenCL clBuildProgram failed: CL_BUILD_PROGRAM_FAILURE (-11); build log:"));
        Assert.That(e.Message, Does.Contain("undeclared"));
    }

    [Test]
    public void DisposingTwiceIsHarmless()
    {
        _ = Backend;
        var backend = new OpenClBackend();
        using (DeviceBuffer buffer = backend.Allocate(3)) backend.Zero(buffer.All);
        backend.Dispose();
        Assert.That(backend.Dispose, Throws.Nothing);
    }
}
