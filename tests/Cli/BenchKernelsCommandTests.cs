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
    public void AWrongVariantIsReportedFailedAndNotTimed()
    {
        using var backend = new BrokenMatmulBackend();
        var results = KernelLab.Run(backend, "matmul", [9, 6, 5], KernelLab.VariantsToRun(backend, Op.Matmul, "all"), repeats: 2, warmup: 0).ToList();
        Assert.That(results.Select(r => (r.Variant, r.Ok)), Is.EqualTo(new[] { ("right", true), ("off-by-one", false) }));
        Assert.That(results[1].Ms, Is.Null);
        Assert.That(results[1].Error, Does.Contain("relative error"));
        Assert.That(backend.Variant, Is.EqualTo("right"), "the backend's own variant is restored");
    }

    /// <summary>The reference backend with a second matmul variant that is wrong on purpose.</summary>
    private sealed class BrokenMatmulBackend : IBackend, IKernelVariants
    {
        private readonly ReferenceBackend _r = new();
        public string Variant { get; private set; } = "right";
        public string Name => "broken";
        public string Description => "reference with a wrong matmul variant";
        public IReadOnlyList<string> VariantsOf(Op op) => op == Op.Matmul ? ["right", "off-by-one"] : [];
        public string VariantOf(Op op) => Variant;
        public void UseVariant(Op op, string variant) => Variant = variant;
        public bool Supports(Op op) => true;
        public void Synchronize() => _r.Synchronize();
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
            _r.MatmulForward(output, input, weight, bias, N, C, OC);
            if (Variant != "off-by-one") return;
            var host = new float[output.Length];
            _r.Download(output, host);
            host[^1] += 1; // one wrong element: enough for the check to catch
            _r.Upload(host, output);
        }
    }
}
