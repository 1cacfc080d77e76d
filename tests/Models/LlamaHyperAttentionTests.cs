using Hyper.Kernels.Reference;
using Hyper.Runtime;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Models;

/// <summary>
/// A Llama whose layers use HyperAttention on the rotated q and k, with each key/value head repeated
/// for its query group: exact in the limits where it must be (logits and every gradient), different
/// and trainable with small blocks, the same on the fast and the reference backend, its gradient
/// the derivative of its loss, the group sums right, stored and reloaded, and decoded through the KV cache.
/// </summary>
public class LlamaHyperAttentionTests
{
    private static readonly LlamaConfig Tiny = LlamaConfig.LlamaTiny; // L=2, C=64, NH=4, NKV=2, hd=16, V=256
    private const int B = HyperAttentionTestModels.B, T = HyperAttentionTestModels.T;

    private static Llama Model(IBackend backend, LlamaConfig? config = null) =>
        HyperAttentionTestModels.Sharpened(new Llama(config ?? Tiny, backend));

    private static (int[] Tokens, int[] Targets) Batch() => HyperAttentionTestModels.Batch(Tiny.VocabSize);

    private static HyperAttentionSettings Settings(string layers, int block, int samples, int minSeq, LlamaConfig? config = null) =>
        HyperAttentionTestModels.Settings(layers, block, samples, minSeq, config ?? Tiny);

    private static (float Loss, float[] Logits, float[] Grads) Run(Llama model, int[] x, int[] y)
    {
        model.Forward(x, [], B, T);
        var logits = new float[B * T * model.Config.VocabSize];
        model.Backend.Download(model.Logits, logits);
        model.ZeroGradients();
        float loss = model.Forward(x, y, B, T);
        model.Backward();
        return (loss, logits, model.ReadGradients());
    }

    private static double MaxDiff(float[] a, float[] b) => a.Zip(b, (p, q) => Math.Abs((double)p - q)).Max();

    // The exact limits run the flash kernel per piece and merge by log-sum-exp where grouped-query
    // attention runs one softmax, so fp32 sums come in another order: logits ~1e-6 of their scale
    // apart, gradients likewise (atol for the entries near zero); a wrong head mapping is O(1).
    [TestCase(64, 0, 48)]   // T below min_seq: one exact causal block
    [TestCase(64, 4, 8)]    // every rectangle's keys fit one block: samples all masked
    public void HyperLayersAreExactInTheLimits(int block, int samples, int minSeq)
    {
        using var model = Model(new CpuBackend());
        var (x, y) = Batch();
        var exact = Run(model, x, y);
        model.HyperAttention = Settings("all", block, samples, minSeq);
        var hyper = Run(model, x, y);
        TestContext.Out.WriteLine($"loss {hyper.Loss - exact.Loss:E2} apart; logits {MaxDiff(hyper.Logits, exact.Logits):E2}, gradients {MaxDiff(hyper.Grads, exact.Grads):E2} at most");
        Assert.That(hyper.Loss, Is.EqualTo(exact.Loss).Within(1e-5 * exact.Loss));
        Check.Close("logits", hyper.Logits, exact.Logits, rtol: 1e-5, atol: 1e-5);
        Check.Close("gradients", hyper.Grads, exact.Grads, rtol: 1e-4, atol: 1e-6);
    }

    [Test]
    public void SmallBlocksChangeTheLossAndStillTrain()
    {
        using var model = Model(new CpuBackend());
        HyperAttentionTestModels.AssertSmallBlocksChangeTheLossAndStillTrain(model);
    }

    [Test]
    public void FastAndReferenceBackendsAgreeForwardAndBackward()
    {
        var (x, y) = Batch();
        (float, float[], float[]) On(IBackend be)
        {
            using var model = Model(be);
            model.HyperAttention = Settings("all", 4, 3, 8);
            return Run(model, x, y);
        }
        var (l1, z1, g1) = On(new CpuBackend());
        var (l2, z2, g2) = On(new ReferenceBackend());
        Assert.That(l1, Is.EqualTo(l2).Within(1e-5 * l2));
        // fp32 sums in other orders, as in the whole-model fixture tests.
        Check.Close("logits", z1, z2, rtol: 2e-5, atol: 1e-5);
        Check.Close("gradients", g1, g2, 1e-4, 1e-6);
    }

    [Test]
    public void GradientIsTheDerivativeOfTheApproximateLoss()
    {
        // Along the gradient of the last block's q, k, v and o weights (the ones the repeated heads
        // feed and the group sums return to), a central difference of the fp32 loss must give the
        // gradient's norm. The LSH sort is piecewise constant: a step this small moves no bucket
        // boundary here. Error budget: fp32 loss rounding ~5e-7/2h ≈ 3e-4 of a norm ~0.8, and O(h²)
        // truncation; measured 4e-5 relative. 1e-3 catches a missing or doubled group term (which
        // moves the k/v share of the norm by a fraction of 1/G).
        using var model = Model(new ReferenceBackend());
        model.HyperAttention = Settings("last:1", 4, 3, 8);
        var (x, y) = Batch();
        model.ZeroGradients();
        model.Forward(x, y, B, T);
        model.Backward();
        float[] g = model.ReadGradients(), p = model.ReadParameters();
        var d = new float[p.Length];
        int last = Tiny.NumHiddenLayers - 1;
        foreach (string name in new[] { "qw", "kw", "vw", "ow" })
        {
            var (offset, count) = model.Layout.LayerRange(model.Layout[name], last);
            Array.Copy(g, offset, d, offset, count);
        }
        double norm = Math.Sqrt(d.Sum(v => (double)v * v));
        Assert.That(norm, Is.GreaterThan(1e-3));
        const double h = 1e-3;
        double LossAt(double t)
        {
            var q = new float[p.Length];
            for (int i = 0; i < p.Length; i++) q[i] = (float)(p[i] + t * d[i] / norm);
            model.LoadParameters(q);
            return model.Forward(x, y, B, T);
        }
        double numeric = (LossAt(h) - LossAt(-h)) / (2 * h);
        TestContext.Out.WriteLine($"directional derivative: numeric {numeric:G6}, analytic {norm:G6}");
        Assert.That(numeric, Is.EqualTo(norm).Within(1e-3 * norm));
    }

    [Test]
    public void GroupedHeadsMatchTheirRepeatedMultiHeadModel()
    {
        // The same model with NKV = NH and each key/value head's weights repeated for its group runs
        // the op on the same qkv: the same logits, and the grouped model's k/v gradients are the sums
        // over each group of the repeated model's (exactly the transpose of the repetition).
        var wide = Tiny with { NumKeyValueHeads = Tiny.NumAttentionHeads };
        int G = Tiny.NumAttentionHeads / Tiny.KvHeads, hd = Tiny.HeadDim, C = Tiny.HiddenSize;
        var (x, y) = Batch();
        using var grouped = Model(new CpuBackend());
        using var repeated = new Llama(wide, new CpuBackend());
        float[] pg = grouped.ReadParameters(), pr = new float[repeated.Layout.Total];
        foreach (var e in grouped.Layout.Entries)
        {
            var er = repeated.Layout[e.Name];
            if (e.Part != LayoutPart.Block)
            {
                Array.Copy(pg, e.Offset, pr, er.Offset, e.Count);
                continue;
            }
            for (int l = 0; l < Tiny.NumHiddenLayers; l++)
            {
                var (og, cg) = grouped.Layout.LayerRange(e, l);
                var (or, _) = repeated.Layout.LayerRange(er, l);
                if (e.Name is not ("kw" or "vw")) Array.Copy(pg, og, pr, or, cg);
                else
                    for (int h = 0; h < Tiny.NumAttentionHeads; h++) // rows of head h ← rows of its kv head h / G
                        Array.Copy(pg, og + (long)(h / G) * hd * C, pr, or + (long)h * hd * C, (long)hd * C);
            }
        }
        repeated.LoadParameters(pr);
        grouped.HyperAttention = Settings("all", 4, 3, 8);
        repeated.HyperAttention = Settings("all", 4, 3, 8, wide);
        var rg = Run(grouped, x, y);
        var rr = Run(repeated, x, y);
        Check.Close("logits", rg.Logits, rr.Logits, rtol: 1e-6, atol: 1e-6);
        foreach (string name in new[] { "kw", "vw" })
            for (int l = 0; l < Tiny.NumHiddenLayers; l++)
            {
                var (og, cg) = grouped.Layout.LayerRange(grouped.Layout[name], l);
                var (or, _) = repeated.Layout.LayerRange(repeated.Layout[name], l);
                var summed = new float[cg];
                for (int h = 0; h < Tiny.NumAttentionHeads; h++)
                    for (int i = 0; i < hd * C; i++) summed[(h / G) * hd * C + i] += rr.Grads[or + (long)h * hd * C + i];
                Check.Close($"{name} layer {l}", rg.Grads.AsSpan((int)og, (int)cg), summed, rtol: 1e-5, atol: 1e-7);
            }
        var (oq, cq) = grouped.Layout.LayerRange(grouped.Layout["qw"], 0);
        var (orq, _) = repeated.Layout.LayerRange(repeated.Layout["qw"], 0);
        Check.Close("qw layer 0", rg.Grads.AsSpan((int)oq, (int)cq), rr.Grads.AsSpan((int)orq, (int)cq), rtol: 1e-5, atol: 1e-7);
    }

    [Test]
    public void SettingsThatDoNotFitAreRefused()
    {
        using var model = Model(new CpuBackend());
        Assert.Throws<ArgumentException>(() => model.HyperAttention = Settings("all", 4, 3, 8, Tiny with { NumHiddenLayers = 3 }));
        Assert.Throws<ArgumentException>(() => model.HyperAttention = Settings("all", 4, 3, 8, Tiny with { HeadDimKey = 8 }));
        Assert.That(model.HyperAttention, Is.Null);
    }

    [Test]
    public void HyperplanesAreSavedAndReloaded()
    {
        var (x, y) = Batch();
        HyperAttentionRoundTrip.Run(Model(new CpuBackend()), Settings("last:1", 4, 3, 8), x, y, B, T, (loaded, _, _) =>
        {
            Assert.That(loaded, Is.InstanceOf<Llama>());
            var h = loaded.HyperAttention!;
            Assert.That((h.Layers, h.FirstLayer, h.HeadSize), Is.EqualTo(("last:1", 1, Tiny.HeadDim)));
        });
    }

    [Test]
    public void DecoderMatchesOnBothBackendsAndIsExactWithinTheWindow()
    {
        var rng = new Rng(8);
        var tokens = new int[2 * 40];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = rng.NextInt(Tiny.VocabSize);
        const int rows = 2, len = 40, prompt = 6;
        float[][] Decode(IBackend be, HyperAttentionSettings? h)
        {
            using var model = Model(be);
            model.HyperAttention = h;
            using var decoder = model.CreateDecoder(rows);
            var outs = new List<float[]>();
            var logits = new float[rows * Tiny.VocabSize];
            var step = new int[rows * prompt];
            for (int b = 0; b < rows; b++) Array.Copy(tokens, b * len, step, b * prompt, prompt);
            decoder.Feed(step, prompt, logits);
            outs.Add((float[])logits.Clone());
            for (int t = prompt; t < len; t++)
            {
                decoder.Feed([tokens[t], tokens[len + t]], 1, logits);
                outs.Add((float[])logits.Clone());
            }
            return [.. outs];
        }
        var small = Settings("all", 4, 3, 8);
        var fast = Decode(new CpuBackend(), small);
        var reference = Decode(new ReferenceBackend(), small);
        for (int i = 0; i < fast.Length; i++) Check.Close($"step {i}", fast[i], reference[i], 2e-5);
        var exact = Decode(new CpuBackend(), null);
        var wide = Decode(new CpuBackend(), Settings("all", 4, 3, 64)); // a window of 64 ≥ every position: exact
        for (int i = 0; i < exact.Length; i++) Check.Close($"step {i}", wide[i], exact[i], 2e-5);
        // One exact layer beside one HyperAttention layer: each reads its own cache.
        var wideLast = Decode(new CpuBackend(), Settings("last:1", 4, 3, 64));
        for (int i = 0; i < exact.Length; i++) Check.Close($"step {i}, last:1", wideLast[i], exact[i], 2e-5);
        double diff = fast.Zip(exact, (a, e) => a.Zip(e, (p, q) => Math.Abs(p - q)).Max()).Max();
        Assert.That(diff, Is.GreaterThan(1e-3), "a window of 8 with blocks of 4 must change later logits");
    }
}
