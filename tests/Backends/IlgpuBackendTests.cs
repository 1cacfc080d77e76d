using System.Diagnostics;
using Hyper.Runtime;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Backends.Ilgpu;
using Hyper.Runtime.Models;
using Hyper.Runtime.Text;
using Hyper.Tests.Support;

namespace Hyper.Tests.Backends;

/// <summary>
/// What the op suite does not cover for the ILGPU backend: every matmul variant (the CPU
/// accelerator uses the naive one by default, CUDA the tiled one), the choice of device, and a
/// micro GPT-2 trained for a few steps on ilgpu and on cpu from the same weights.
/// </summary>
[NonParallelizable] // the device tests set HYPER_ILGPU_DEVICE, which every backend created meanwhile would read
public sealed class IlgpuBackendTests
{
    private IlgpuBackend _ilgpu = null!;
    private readonly ReferenceBackend _reference = new();

    [OneTimeSetUp]
    public void CreateBackend()
    {
        var clock = Stopwatch.StartNew();
        _ilgpu = new IlgpuBackend();
        TestContext.Progress.WriteLine($"ilgpu backend created in {clock.ElapsedMilliseconds} ms: {_ilgpu.Description}");
    }

    [OneTimeTearDown]
    public void DisposeBackends()
    {
        _ilgpu.Dispose();
        _reference.Dispose();
    }

    [Test]
    public void OffersTheMatmulVariantsOfItsDeviceAndRejectsOthers()
    {
        // The kernel lab times tiled and blocked on CUDA; the CPU accelerator offers only the naive one.
        Assert.That(_ilgpu.VariantsOf(Op.Matmul), Is.EqualTo(_ilgpu.IsCuda ? new[] { "naive", "tiled", "blocked" } : new[] { "naive" }));
        Assert.That(_ilgpu.VariantOf(Op.Matmul), Is.EqualTo(_ilgpu.IsCuda ? "tiled" : "naive"));
        Assert.That(_ilgpu.VariantsOf(Op.Gelu), Is.Empty);
        Assert.Throws<ArgumentException>(() => _ilgpu.UseVariant(Op.Matmul, "strassen"));
        Assert.Throws<ArgumentException>(() => _ilgpu.UseVariant(Op.Gelu, "tiled"));
    }

    // 17 rows and 18 outputs need a second, mostly empty 16×16 tile each way; 19 input channels a
    // second, mostly empty k-tile: the edges where a tiled kernel reads or writes out of range.
    [TestCase("naive", 17, 19, 18)]
    [TestCase("tiled", 17, 19, 18)]
    [TestCase("tiled", 1, 1, 1)]
    [TestCase("tiled", 5, 33, 3)]
    // 65 rows and 66 outputs need a second 64×64 block each way.
    [TestCase("blocked", 65, 19, 66)]
    [TestCase("blocked", 5, 33, 3)]
    public void MatmulVariantMatchesReference(string variant, int N, int C, int OC)
    {
        string before = _ilgpu.VariantOf(Op.Matmul);
        _ilgpu.UseKernel(Op.Matmul, variant);
        try
        {
            float[] input = Check.Random(N * C, 1), weight = Check.Random(OC * C, 2), bias = Check.Random(OC, 3), dout = Check.Random(N * OC, 4);
            // Gradients start nonzero: the backward must add to them.
            float[] dinp = Check.Random(N * C, 5), dweight = Check.Random(OC * C, 6), dbias = Check.Random(OC, 7);
            var expected = RunMatmul(_reference, input, weight, bias, dout, dinp, dweight, dbias, N, C, OC);
            var actual = RunMatmul(_ilgpu, input, weight, bias, dout, dinp, dweight, dbias, N, C, OC);
            string[] names = ["out", "dinp", "dweight", "dbias"];
            // Float dot products of at most 66 terms summed in another order: ~√K·ε ≈ 5e-7 of the
            // magnitude; 1e-5 is far above that and far below a wrong or missing term (≥ 1e-2).
            for (int i = 0; i < names.Length; i++)
                Check.Close($"{variant} {names[i]}", actual[i], expected[i], rtol: 1e-5);
        }
        finally
        {
            _ilgpu.UseKernel(Op.Matmul, before);
        }
    }

    private static float[][] RunMatmul(IBackend be, float[] input, float[] weight, float[] bias, float[] dout,
        float[] dinp, float[] dweight, float[] dbias, int N, int C, int OC)
    {
        using var harness = new OpHarness(be);
        TensorView o = harness.Put(new float[N * OC]), x = harness.Put(input), w = harness.Put(weight), b = harness.Put(bias);
        TensorView g = harness.Put(dout), dx = harness.Put(dinp), dw = harness.Put(dweight), db = harness.Put(dbias);
        be.MatmulForward(o, x, w, b, N, C, OC);
        be.MatmulBackward(dx, dw, db, g, x, w, N, C, OC);
        var result = new[] { harness.Read(o), harness.Read(dx), harness.Read(dw), harness.Read(db) };
        harness.CheckGuards();
        return result;
    }

    [Test]
    public void CpuCanBeForcedAndSaysSo()
    {
        using var forced = WithDevice("cpu", () => new IlgpuBackend());
        Assert.That(forced.IsCuda, Is.False);
        Assert.That(forced.Description, Does.Contain("CPU accelerator"));
    }

    [Test]
    public void ForcingAMissingOrUnknownDeviceIsUnavailableWithTheReason()
    {
        var bogus = Assert.Throws<BackendUnavailableException>(() => WithDevice("opencl", () => new IlgpuBackend()));
        Assert.That(bogus!.Message, Does.Contain("neither cpu nor cuda"));
        if (_ilgpu.IsCuda) Assert.Ignore("this machine has a CUDA device, so forcing cuda succeeds");
        var missing = Assert.Throws<BackendUnavailableException>(() => WithDevice("cuda", () => new IlgpuBackend()));
        Assert.That(missing!.Message, Does.Contain("no CUDA device"));
        bool created = WithDevice("cuda", () => BackendRegistry.TryCreate("ilgpu", out _, out string reason) ? "" : reason) == "";
        Assert.That(created, Is.False, "the registry reports the forced device as unavailable");
    }

    private static T WithDevice<T>(string device, Func<T> create)
    {
        string? before = Environment.GetEnvironmentVariable(IlgpuBackend.DeviceVariable);
        Environment.SetEnvironmentVariable(IlgpuBackend.DeviceVariable, device);
        try { return create(); }
        finally { Environment.SetEnvironmentVariable(IlgpuBackend.DeviceVariable, before); }
    }

    /// <summary>
    /// A micro GPT-2 (2 layers, 32 channels, 2 heads, 16 positions, byte vocabulary) trained for 3
    /// AdamW steps on the same batch from the same weights on cpu and on ilgpu: every op, forward
    /// and backward, and the optimizer, in the order a real run uses them.
    /// </summary>
    [Test]
    public void MicroModelTrainsLikeTheCpuBackend()
    {
        var config = new Gpt2Config { NLayer = 2, NHead = 2, NEmbd = 32, NPositions = 16, VocabSize = 256 };
        const int B = 2, T = 16, Steps = 3;
        int[] text = Tokenizers.Create("byte").Encode("Call me Ishmael. Some years ago, never mind how long precisely, having little money");
        int[] x = text[..(B * T)], y = text[1..(B * T + 1)];

        float[] Train(IBackend backend)
        {
            using var model = new Gpt2(config, backend);
            model.InitializeWeights(11);
            var losses = new float[Steps];
            for (int step = 0; step < Steps; step++)
            {
                model.ZeroGradients();
                losses[step] = model.Forward(x, y, B, T);
                model.Backward();
                model.Update(1e-3f, new AdamWSettings());
            }
            return losses;
        }

        using var cpu = BackendRegistry.Create("cpu");
        float[] expected = Train(cpu);
        var clock = Stopwatch.StartNew();
        float[] actual = Train(_ilgpu);
        TestContext.Out.WriteLine($"losses cpu [{string.Join(", ", expected)}], ilgpu [{string.Join(", ", actual)}] ({clock.ElapsedMilliseconds} ms on ilgpu)");
        // Step 1's loss comes from identical weights: float sums in another order, ~1e-6 relative.
        // Later steps follow an AdamW update whose first step moves every parameter by about ±lr
        // whatever its gradient's size, so a gradient that rounds to the other sign moves it 2·lr
        // the other way; with lr 1e-3 that shifts the loss by well under 1e-3. A broken op (a
        // wrong gradient, a missed accumulation) changes the step 2-3 losses by 1e-2 or more.
        Assert.That(actual[0], Is.EqualTo(expected[0]).Within(1e-5 * expected[0]), "step 1");
        for (int step = 1; step < Steps; step++)
            Assert.That(actual[step], Is.EqualTo(expected[step]).Within(1e-3), $"step {step + 1}");
        Assert.That(expected[^1], Is.LessThan(expected[0] - 1e-2), "training lowers the loss, so the steps compared are real updates");
    }
}
