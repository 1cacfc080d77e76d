using Hyper.Kernels;
using Hyper.Runtime.Backends;
using Hyper.Tests.Support;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Backends;

/// <summary>
/// bf16 and q8 weights on the device backends, OpenCL's and ILGPU's own kernels (matmul_lowp.cl,
/// Kernels.Ilgpu.MatmulLowPrecision) and CUDA's <see cref="WeightFallback"/> (their fp32 matmul on the weights rounded through the format): each
/// equals the fp32 reference on the same rounded weights, and the cpu's bf16 and q8 kernels, on odd shapes. A backend
/// this machine cannot create is ignored with the reason, as in the op suite.
/// </summary>
[NonParallelizable]
public sealed class DeviceLowPrecisionTests
{
    // Same weights, same inputs, another summation order: fp32 rounding, ~√C·ε apart (the op suite's matmul tolerance).
    private const double Rtol = 2e-5;
    // The cpu's q8 kernel also rounds each input block to 7 bits and a sign (Reference.MatmulQ8.InputLevels), so its
    // q8 is compared on inputs that rounding keeps exactly (ExactForQ8): then it too is the fp32 product with the
    // rounded weights, and a wrong block, scale or tail is a whole term (≥ 1e-2) off.

    private readonly BackendCache _backends = new();

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (string name in BackendRegistry.All.Select(e => e.Name).Where(n => n is not ("cpu" or "reference")))
            foreach (var format in new[] { WeightFormat.Bf16, WeightFormat.Q8 })
                foreach (var (n, c, oc) in new[] { (1, 70, 41), (3, 33, 9), (9, 100, 65), (17, 31, 3), (2, 1025, 130) })
                    yield return new TestCaseData(name, format, n, c, oc).SetName($"{name} {format} N={n} C={c} OC={oc}");
    }

    [OneTimeTearDown]
    public void DisposeBackends() => _backends.Dispose();

    private static float[] Rounded(WeightFormat format, float[] weight, int C, int OC)
    {
        if (format == WeightFormat.Bf16) return Ref.MatmulBf16.Rounded(weight);
        var (q, d) = Ref.MatmulQ8.Pack(weight, C, OC);
        return Ref.MatmulQ8.Dequantize(q, d, C, OC);
    }

    private static float[] Multiply(IBackend be, WeightFormat format, float[] inp, float[] weight, float[] bias, int N, int C, int OC)
    {
        LowPrecision.Use(be, format);
        try
        {
            using DeviceBuffer x = be.Allocate(N * C), w = be.Allocate(OC * C), b = be.Allocate(OC), y = be.Allocate(N * OC);
            be.Upload(inp, x.All);
            be.Upload(weight, w.All);
            be.Upload(bias, b.All);
            // Twice: the second call reads the copy the first made.
            be.MatmulForward(y.All, x.All, w.All, b.All, N, C, OC);
            be.MatmulForward(y.All, x.All, w.All, b.All, N, C, OC);
            var actual = new float[N * OC];
            be.Download(y.All, actual);
            var lp = (ILowPrecisionBackend)be;
            if (format != WeightFormat.F32)
            {
                Assert.That(lp.PackedFloats, Is.EqualTo((long)OC * C), "one copy of the one weight");
                Assert.That(lp.PackedBytes, Is.EqualTo(lp.IsNative(format) ? LowPrecision.Bytes(format, OC, C) : 4L * OC * C));
            }
            return actual;
        }
        finally
        {
            LowPrecision.Use(be, WeightFormat.F32);
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void DeviceMatmulReadsTheFormatsWeights(string name, WeightFormat format, int N, int C, int OC)
    {
        IBackend be = _backends.Get(name);
        var lp = (ILowPrecisionBackend)be;
        Assert.That(lp.WeightFormats, Does.Contain(format));
        // OpenCL and ILGPU have kernels of their own for both formats; CUDA falls back.
        Assert.That(lp.IsNative(format), Is.EqualTo(name is "opencl" or "ilgpu"));
        float[] inp = format == WeightFormat.Q8 ? ExactForQ8(N, C) : Check.Random(N * C, 1), weight = Check.Random(OC * C, 2), bias = Check.Random(OC, 3);

        var expected = new float[N * OC];
        Ref.Matmul.Forward(expected, inp, Rounded(format, weight, C, OC), bias, N, C, OC);
        float[] actual = Multiply(be, format, inp, weight, bias, N, C, OC);
        Check.Close("out against the reference on the rounded weights", actual, expected, Rtol);

        using var cpu = new CpuBackend();
        float[] kernel = Multiply(cpu, format, inp, weight, bias, N, C, OC);
        Check.Close($"out against the cpu's {format} kernel", actual, kernel, Rtol);

        // Back to fp32: the copies are dropped and the parameters multiplied as they are.
        Ref.Matmul.Forward(expected, inp, weight, bias, N, C, OC);
        Check.Close("out with fp32 weights again", Multiply(be, WeightFormat.F32, inp, weight, bias, N, C, OC), expected, Rtol);
        Assert.That(lp.PackedFloats, Is.Zero);
    }

    private static IEnumerable<TestCaseData> IlgpuKernelCases()
    {
        // Shapes small enough for the CPU accelerator's barriers (tens of ms each for a 16x16 group), with
        // tails: C off the tile and the q8 block, OC off the tile, N off the four rows of a group.
        foreach (string kernel in new[] { "rows", "tiled" })
            foreach (var format in new[] { WeightFormat.Bf16, WeightFormat.Q8 })
                foreach (var (n, c, oc) in new[] { (1, 33, 5), (6, 40, 17), (17, 31, 3) })
                    yield return new TestCaseData(kernel, format, n, c, oc).SetName($"ilgpu {kernel} {format} N={n} C={c} OC={oc}");
    }

    [TestCaseSource(nameof(IlgpuKernelCases))]
    public void IlgpuGpuKernelsReadTheFormatsWeights(string kernel, WeightFormat format, int N, int C, int OC)
    {
        // The GPU's kernels (the CPU accelerator picks the naive one by itself), forced here on the CPU accelerator.
        var be = (Hyper.Runtime.Backends.Ilgpu.IlgpuBackend)_backends.Get("ilgpu");
        float[] inp = Check.Random(N * C, 11), weight = Check.Random(OC * C, 12), bias = Check.Random(OC, 13);
        var expected = new float[N * OC];
        Ref.Matmul.Forward(expected, inp, Rounded(format, weight, C, OC), bias, N, C, OC);
        be.LowPrecisionKernel = kernel;
        try
        {
            Check.Close($"out of the {kernel} kernel", Multiply(be, format, inp, weight, bias, N, C, OC), expected, Rtol);
        }
        finally
        {
            be.LowPrecisionKernel = null;
        }
    }

    [Test]
    public void TheFallbackWorksOnAnyBackendAndFreesItsCopies()
    {
        // On the reference backend, which this machine always has: rounded copies in its own buffers.
        const int C = 45, OC = 7;
        using var be = new ReferenceBackend();
        using var fallback = new WeightFallback(be) { Format = WeightFormat.Q8 };
        float[] weight = Check.Random(OC * C, 5);
        using DeviceBuffer w = be.Allocate(OC * C);
        be.Upload(weight, w.All);
        var copy = fallback.Of(w.All, C, OC);
        Assert.That(copy.Buffer, Is.Not.SameAs(w), "a copy, not the parameters rounded in place");
        Assert.That(fallback.Of(w.All, C, OC), Is.EqualTo(copy), "made once");
        var back = new float[OC * C];
        be.Download(copy, back);
        Assert.That(back, Is.EqualTo(Rounded(WeightFormat.Q8, weight, C, OC)));
        var original = new float[OC * C];
        be.Download(w.All, original);
        Assert.That(original, Is.EqualTo(weight), "the parameters are untouched");
        fallback.Format = WeightFormat.F32;
        Assert.That(fallback.Floats, Is.Zero);
        Assert.That(fallback.Of(w.All, C, OC), Is.EqualTo(w.All));
    }

    [Test]
    public void DequantizedQ8IsWhatTheQ8KernelMultipliesBy()
    {
        // The q8 reference on fp32 inputs its rounding keeps exactly is the fp32 product with the dequantized weights.
        const int N = 3, C = 70, OC = 11;
        float[] inp = ExactForQ8(N, C);
        float[] weight = Check.Random(OC * C, 6), bias = Check.Random(OC, 7);
        var (q, d) = Ref.MatmulQ8.Pack(weight, C, OC);
        var viaQ8 = new float[N * OC];
        Ref.MatmulQ8.Forward(viaQ8, inp, q, d, bias, N, C, OC);
        var viaF32 = new float[N * OC];
        Ref.Matmul.Forward(viaF32, inp, Ref.MatmulQ8.Dequantize(q, d, C, OC), bias, N, C, OC);
        Check.Close("out", viaF32, viaQ8, Rtol);
    }

    /// <summary>
    /// Inputs [N, C] that q8's input rounding keeps exactly: multiples of 2^-6 within ±1, each block of 32
    /// starting with 1, so every block's scale is 1/64 and every value a whole number of steps.
    /// </summary>
    private static float[] ExactForQ8(int N, int C)
    {
        var inp = new float[N * C];
        for (int i = 0; i < inp.Length; i++)
            inp[i] = i % C % Ref.MatmulQ8.Block == 0 ? 1f : ((i * 7919 % (2 * Ref.MatmulQ8.InputLevels + 1)) - Ref.MatmulQ8.InputLevels) / 64f;
        return inp;
    }
}
