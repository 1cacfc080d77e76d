using System.Text.Json;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Benchmarks;
using Hyper.Tests.Support;

namespace Hyper.Tests.Cli;

/// <summary>`hyper bench kernels` end to end at tiny sizes, and the lab's check of a wrong variant.</summary>
[NonParallelizable]
public class BenchKernelsCommandTests
{
    [Test]
    public void JsonHasOneCheckedTimedLinePerCpuMatmulVariant()
    {
        var (code, output, _) = CliRunner.Run("bench", "kernels", "--op", "matmul", "--backend", "cpu", "--sizes", "33x20x17,8x8x8", "--repeats", "2", "--json");
        Assert.That(code, Is.EqualTo(0), output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.That(lines.Select(l => l.GetProperty("variant").GetString()), Is.EqualTo(new[] { "naive", "tiled", "blocked", "bf16", "q8", "naive", "tiled", "blocked", "bf16", "q8" }));
        foreach (var l in lines)
        {
            Assert.That(l.GetProperty("op").GetString(), Is.EqualTo("matmul"));
            Assert.That(l.GetProperty("backend").GetString(), Is.EqualTo("cpu"));
            Assert.That(l.GetProperty("ok").GetBoolean(), Is.True);
            Assert.That(l.GetProperty("ms").GetDouble(), Is.GreaterThan(0));
            Assert.That(l.GetProperty("gflops").GetDouble(), Is.GreaterThan(0));
            Assert.That(l.GetProperty("gb_per_s").GetDouble(), Is.GreaterThan(0));
            string variant = l.GetProperty("variant").GetString()!;
            var format = variant is "bf16" or "q8" ? Hyper.Runtime.Backends.LowPrecision.Parse(variant) : Hyper.Kernels.WeightFormat.F32;
            Assert.That(l.GetProperty("rel_error").GetDouble(), Is.InRange(0, KernelLab.ToleranceOf(format)));
        }
        Assert.That(lines[0].GetProperty("shape").GetString(), Is.EqualTo("N=33 C=20 OC=17"));
        double ms = lines[0].GetProperty("ms").GetDouble();
        Assert.That(lines[0].GetProperty("gflops").GetDouble(), Is.EqualTo(2.0 * 33 * 20 * 17 / (ms * 1e6)).Within(1e-9).Percent);
    }

    [Test]
    public void TableListsTheVariantsOfAnOpWithOneKernelAsDefault()
    {
        var (code, output, _) = CliRunner.Run("bench", "kernels", "--op", "layernorm", "--backend", "cpu", "--sizes", "5x7", "--repeats", "1");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(output, Does.Contain("backend cpu:"));
        Assert.That(output, Does.Contain("default").And.Contain("N=5 C=7"));
        (code, output, _) = CliRunner.Run("bench", "kernels", "--op", "attention", "--sizes", "1x9x8x2", "--repeats", "1");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(output, Does.Contain("naive").And.Contain("flash"));
    }

    [Test]
    public void BadArgumentsExitWithCode2AndOneLine()
    {
        CliRunner.RunExpectingUserError(["bench", "kernels", "--op", "conv"], "--op", "unknown 'conv'", "matmul");
        CliRunner.RunExpectingUserError(["bench", "kernels", "--variant", "fastest"], "--variant", "'fastest'", "blocked");
        CliRunner.RunExpectingUserError(["bench", "kernels", "--backend", "tpu"], "--backend", "unknown backend 'tpu'");
        CliRunner.RunExpectingUserError(["bench", "kernels", "--sizes", "4x4"], "--sizes", "'4x4'", "NxCxOC");
        CliRunner.RunExpectingUserError(["bench", "kernels", "--op", "attention", "--sizes", "1x8x10x3"], "not divisible");
        CliRunner.RunExpectingUserError(["bench", "kernels", "--repeats", "0"], "--repeats");
    }

    [Test]
    public void AColdRunCyclesThroughCopiesOfTheArrays()
    {
        // Warm, every call reads the same arrays; cold, call i reads copy i mod copies (here the cap: the case is 14 KB).
        Assert.That(KernelLab.Copies(14_000, cold: true), Is.EqualTo(KernelLab.MaxCopies));
        Assert.That(KernelLab.Copies(300L << 20, cold: true), Is.EqualTo(2), "at least two, enough for ColdBytes");
        Assert.That(KernelLab.Copies(1L << 20, cold: false), Is.EqualTo(1));
        foreach (bool cold in new[] { false, true })
        {
            using var backend = new Hyper.Tests.Backends.JournalingBackend();
            var results = KernelLab.Run(backend, "matmul", [[4, 64, 48]], KernelLab.VariantsToRun(backend, Op.Matmul, "all"), repeats: 3, warmup: 0, cold: cold).ToList();
            Assert.That(results.Single().Ok, Is.True, results.Single().Error);
            var outputs = backend.Matmuls.Select(m => m.Rows.Buffer).Distinct().Count();
            Assert.That(outputs, Is.EqualTo(cold ? KernelLab.MaxCopies : 1), cold ? "every copy called (its first call is the warm-up's)" : "one set of arrays");
        }
    }

    [Test]
    public void AWrongVariantIsReportedFailedAndNotTimed()
    {
        using var backend = new BrokenMatmulBackend();
        var results = KernelLab.Run(backend, "matmul", [9, 6, 5], KernelLab.VariantsToRun(backend, Op.Matmul, "all"), repeats: 2, warmup: 0).ToList();
        Assert.That(results.Select(r => (r.Variant, r.Ok)), Is.EqualTo(new[] { ("right", true), ("off-by-one", false) }));
        Assert.That(KernelLab.AllPassed(results), Is.False);
        Assert.That(results[1].Ms, Is.Null);
        Assert.That(results[1].Error, Does.Contain("relative error"));
        Assert.That(backend.Variant, Is.EqualTo("right"), "the backend's own variant is restored");
    }

    [Test]
    public void ADeviceFaultFailsItsVariantAndSkipsTheRestOnThePoisonedContext()
    {
        // "fault" fails while it is checked, as a launch error surfacing at the next download would.
        using var backend = new BrokenMatmulBackend("right", "fault", "right-too");
        var results = KernelLab.Run(backend, "matmul", [[9, 6, 5], [4, 4, 4]], KernelLab.VariantsToRun(backend, Op.Matmul, "all"), repeats: 2, warmup: 0).ToList();
        Assert.That(results.Select(r => (r.Variant, r.Ok, r.Skipped)), Is.EqualTo(new[]
        {
            ("right", true, false), ("fault", false, false), ("right-too", false, true),
            ("right", false, true), ("fault", false, true), ("right-too", false, true),
        }));
        Assert.That(results[1].Error, Does.StartWith("device fault: ").And.Contain("an illegal memory access"));
        Assert.That(results.Skip(2).Select(r => r.Error), Is.All.EqualTo("context poisoned after fault (N=9 C=6 OC=5)"));
        Assert.That(results.Skip(1).Select(r => r.Ms), Is.All.Null);
        Assert.That(backend.MatmulCalls["right-too"], Is.Zero, "nothing runs on the poisoned context");
        Assert.That(backend.Variant, Is.EqualTo("right"), "the backend's own variant is restored");
        Assert.That(KernelLab.AllPassed(results), Is.False);
    }

    [Test]
    public void AFaultWhileTimingIsTheTimedVariantsNotTheNextOnes()
    {
        // "fault-late" passes its check, then faults asynchronously: found by the synchronise at the end of its timing.
        using var backend = new BrokenMatmulBackend("fault-late", "right");
        var results = KernelLab.Run(backend, "matmul", [9, 6, 5], KernelLab.VariantsToRun(backend, Op.Matmul, "all"), repeats: 2, warmup: 0).ToList();
        Assert.That(results.Select(r => (r.Variant, r.Ok, r.Skipped)), Is.EqualTo(new[] { ("fault-late", false, false), ("right", false, true) }));
        Assert.That(results[1].Error, Is.EqualTo("context poisoned after fault-late"));
        Assert.That(backend.MatmulCalls["right"], Is.Zero);
    }

    [Test]
    public void AVariantLeftOutOfTheBuildIsSkippedAndTheLabGoesOn()
    {
        using var backend = new BrokenMatmulBackend("not-built", "right");
        var results = KernelLab.Run(backend, "matmul", [9, 6, 5], KernelLab.VariantsToRun(backend, Op.Matmul, "all"), repeats: 2, warmup: 0).ToList();
        Assert.That(results.Select(r => (r.Variant, r.Ok, r.Skipped)), Is.EqualTo(new[] { ("not-built", false, true), ("right", true, false) }));
        Assert.That(results[0].Error, Does.StartWith("not built: "));
        Assert.That(KernelLab.AllPassed(results), Is.True, "a build without the optional variants is not a failure");
    }

    [Test]
    public void TheHelpSaysWhatAPoisonedContextDoes()
    {
        var (code, output, _) = CliRunner.Run("bench", "kernels", "--help");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(output, Does.Contain("context poisoned after").And.Contain("SKIPPED").And.Contain("TF32"));
    }

    /// <summary>
    /// The reference backend with matmul variants named for what they do wrong on purpose: off-by-one
    /// (one wrong element), fault (a device fault when called), fault-late (a device fault at the
    /// synchronise after its third call), not-built (left out of the native build); any other name is right.
    /// </summary>
    private sealed class BrokenMatmulBackend(params string[] variants) : IBackend, IKernelVariants
    {
        private readonly ReferenceBackend _r = new();
        private readonly string[] _variants = variants.Length > 0 ? variants : ["right", "off-by-one"];
        private bool _faultPending;
        public string Variant { get; private set; } = variants.Length > 0 ? variants[0] : "right";
        public Dictionary<string, int> MatmulCalls { get; } = (variants.Length > 0 ? variants : ["right", "off-by-one"]).ToDictionary(v => v, _ => 0);
        public string Name => "broken";
        public string Description => "reference with wrong matmul variants";
        public IReadOnlyList<string> VariantsOf(Op op) => op == Op.Matmul ? _variants : [];
        public string VariantOf(Op op) => Variant;
        public void UseVariant(Op op, string variant) => Variant = variant;
        public bool Supports(Op op) => true;
        public void Synchronize()
        {
            if (_faultPending) throw new DeviceFaultException("cuda synchronize: an illegal memory access was encountered (code 700)");
            _r.Synchronize();
        }
        public DeviceBuffer Allocate(long length) => _r.Allocate(length);
        public void Upload(ReadOnlySpan<float> source, TensorView destination) => _r.Upload(source, destination);
        public void Download(TensorView source, Span<float> destination) => _r.Download(source, destination);
        public void Zero(TensorView view) => _r.Zero(view);
        public void Copy(TensorView source, TensorView destination) => _r.Copy(source, destination);
        public double SumOfSquares(TensorView view) => _r.SumOfSquares(view);
        public void EncoderForward(TensorView o, ReadOnlySpan<int> t, TensorView wte, TensorView wpe, int B, int T, int C) => _r.EncoderForward(o, t, wte, wpe, B, T, C);
        public void EncoderBackward(TensorView a, TensorView b, TensorView d, ReadOnlySpan<int> t, int B, int T, int C) => _r.EncoderBackward(a, b, d, t, B, T, C);
        public void LayerNormForward(TensorView o, TensorView m, TensorView r, TensorView i, TensorView w, TensorView b, int N, int C, float e) => _r.LayerNormForward(o, m, r, i, w, b, N, C, e);
        public void LayerNormBackward(TensorView a, TensorView b, TensorView c, TensorView d, TensorView i, TensorView w, TensorView m, TensorView r, int N, int C) => _r.LayerNormBackward(a, b, c, d, i, w, m, r, N, C);
        public void MatmulBackward(TensorView a, TensorView b, TensorView c, TensorView d, TensorView i, TensorView w, int N, int C, int OC) => _r.MatmulBackward(a, b, c, d, i, w, N, C, OC);
        public void AttentionForward(TensorView o, TensorView l, TensorView q, int B, int T, int C, int NH, bool c) => _r.AttentionForward(o, l, q, B, T, C, NH, c);
        public void AttentionBackward(TensorView a, TensorView d, TensorView q, TensorView o, TensorView l, int B, int T, int C, int NH, bool c) => _r.AttentionBackward(a, d, q, o, l, B, T, C, NH, c);
        public void AttentionKvForward(TensorView o, TensorView k, TensorView v, TensorView q, int B, int Tq, int pos, int maxT, int C, int NH) => _r.AttentionKvForward(o, k, v, q, B, Tq, pos, maxT, C, NH);
        public void GeluForward(TensorView o, TensorView i, int N) => _r.GeluForward(o, i, N);
        public void GeluBackward(TensorView d, TensorView i, TensorView o, int N) => _r.GeluBackward(d, i, o, N);
        public void ResidualForward(TensorView o, TensorView a, TensorView b, int N) => _r.ResidualForward(o, a, b, N);
        public void ResidualBackward(TensorView a, TensorView b, TensorView d, int N) => _r.ResidualBackward(a, b, d, N);
        public void SoftmaxCrossEntropyForward(TensorView l, TensorView p, TensorView x, ReadOnlySpan<int> t, int N, int V, int Vp) => _r.SoftmaxCrossEntropyForward(l, p, x, t, N, V, Vp);
        public void SoftmaxCrossEntropyBackward(TensorView d, TensorView p, ReadOnlySpan<int> t, float s, int N, int V, int Vp) => _r.SoftmaxCrossEntropyBackward(d, p, t, s, N, V, Vp);
        public void AdamWUpdate(TensorView p, TensorView m, TensorView v, TensorView g, float lr, float b1, float b2, float e, float wd, int step, float s) => _r.AdamWUpdate(p, m, v, g, lr, b1, b2, e, wd, step, s);
        public void Dispose() => _r.Dispose();

        public void MatmulForward(TensorView output, TensorView input, TensorView weight, TensorView bias, int N, int C, int OC)
        {
            if (_faultPending) throw new DeviceFaultException("cuda matmul forward: an earlier error (code 700)");
            MatmulCalls[Variant]++;
            if (Variant == "fault") throw new DeviceFaultException("cuda matmul forward: an illegal memory access was encountered (code 700)");
            if (Variant == "not-built") throw new VariantNotBuiltException("cuda matmul forward: built without its tensor-core kernels (code -2)");
            if (Variant == "fault-late" && MatmulCalls[Variant] == 3) _faultPending = true;
            _r.MatmulForward(output, input, weight, bias, N, C, OC);
            if (Variant != "off-by-one") return;
            var host = new float[output.Length];
            _r.Download(output, host);
            host[^1] += 1; // one wrong element: enough for the check to catch
            _r.Upload(host, output);
        }
    }
}
