using Hyper.Kernels.Reference;
using Hyper.Runtime;
using Hyper.Runtime.Backends;
using Hyper.Runtime.IO;
using Hyper.Runtime.Models;
using Hyper.Tests.Data;
using Hyper.Tests.Support;

namespace Hyper.Tests.Models;

/// <summary>
/// A GPT whose last layers use HyperAttention: exact in the limits where it must be, different
/// (and trainable) when blocks are small, stored and reloaded with its hyperplanes, and decoded
/// through the KV cache the same way on the fast and the reference backend.
/// </summary>
public class Gpt2HyperAttentionTests
{
    private static readonly Gpt2Config Config = Gpt2Config.Tiny; // L=2, NH=2, C=64, maxT=64, V=256
    private const int B = HyperAttentionTestModels.B, T = HyperAttentionTestModels.T;

    private static Gpt2 Model(IBackend backend) => HyperAttentionTestModels.Sharpened(new Gpt2(Config, backend));

    private static (int[] Tokens, int[] Targets) Batch() => HyperAttentionTestModels.Batch(Config.VocabSize);

    private static HyperAttentionSettings Settings(string layers, int block, int samples, int minSeq) =>
        HyperAttentionTestModels.Settings(layers, block, samples, minSeq, Config);

    // The exact limits run the same flash kernel per piece and merge by log-sum-exp, which
    // reorders fp32 sums: measured within 2e-6 of the exact loss; small blocks move it by 1e-2+.
    [TestCase(64, 0, 48)]   // T below min_seq: one exact causal block
    [TestCase(64, 4, 8)]    // every rectangle's keys fit one block: samples all masked
    public void HyperLayersAreExactInTheLimits(int block, int samples, int minSeq)
    {
        using var model = Model(new CpuBackend());
        var (x, y) = Batch();
        float exact = model.Forward(x, y, B, T);
        model.HyperAttention = Settings("all", block, samples, minSeq);
        float hyper = model.Forward(x, y, B, T);
        Assert.That(hyper, Is.EqualTo(exact).Within(1e-5 * exact));
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
        float[] Grad(IBackend be, out float loss)
        {
            using var model = Model(be);
            model.HyperAttention = Settings("all", 4, 3, 8);
            model.ZeroGradients();
            loss = model.Forward(x, y, B, T);
            model.Backward();
            return model.ReadGradients();
        }
        var g1 = Grad(new CpuBackend(), out float l1);
        var g2 = Grad(new ReferenceBackend(), out float l2);
        Assert.That(l1, Is.EqualTo(l2).Within(1e-5 * l2));
        // Same tolerance argument as the whole-model fixture test: fp32 sums in other orders.
        Check.Close("gradients", g1, g2, 1e-4, 1e-6);
    }

    [Test]
    public void HyperplanesAreSavedAndReloaded()
    {
        var (x, y) = Batch();
        HyperAttentionRoundTrip.Run(Model(new CpuBackend()), Settings("last:1", 4, 3, 8), x, y, B, T, (loaded, _, dir) =>
        {
            var h = loaded.HyperAttention!;
            Assert.That((h.Layers, h.FirstLayer, h.Config.BlockSize, h.Config.SampleSize, h.Config.MinSeqLen), Is.EqualTo(("last:1", 1, 4, 3, 8)));
            Assert.That(h.HyperplanesOf(1), Is.EqualTo(Settings("last:1", 4, 3, 8).HyperplanesOf(1)));
            // Saving it as exact removes the file, so the folder loads as exact again.
            loaded.HyperAttention = null;
            Checkpoint.Save(dir, loaded, new TrainingState { Tokenizer = "byte" }, withOptimizer: false);
            Assert.That(File.Exists(Path.Combine(dir, HyperAttentionFile.FileName)), Is.False);
        });
    }

    [TestCase("last:0")]
    [TestCase("last:3")]
    [TestCase("first:1")]
    public void BadLayerSpecsAreRefused(string spec) =>
        Assert.Throws<SettingException>(() => Settings(spec, 4, 3, 8));

    [Test]
    public void RequestsKeepStoredHyperplanesAndRefuseContradictions()
    {
        using var model = Model(new CpuBackend());
        Assert.Throws<SettingException>(() => new HyperAttentionRequest { Block = 8 }.Apply(model), "settings without Attention hyper on an exact model");
        new HyperAttentionRequest { Attention = "hyper", Layers = "last:1", Block = 8, LshProjections = 3, Seed = 4 }.Apply(model);
        var planes = model.HyperAttention!.HyperplanesOf(1);
        new HyperAttentionRequest { Samples = 2 }.Apply(model);
        Assert.That(model.HyperAttention!.HyperplanesOf(1), Is.SameAs(planes));
        Assert.That(model.HyperAttention!.Config.SampleSize, Is.EqualTo(2));
        Assert.Throws<SettingException>(() => new HyperAttentionRequest { Attention = "exact", Block = 8 }.Apply(model));
        Assert.Throws<SettingException>(() => new HyperAttentionRequest { Attention = "hyper", Block = 0 }.Apply(model));
        new HyperAttentionRequest { Attention = "exact" }.Apply(model);
        Assert.That(model.HyperAttention, Is.Null);
    }

    [Test]
    public void DecoderMatchesOnBothBackendsAndIsExactWithinTheWindow()
    {
        var rng = new Rng(8);
        var tokens = new int[40];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = rng.NextInt(Config.VocabSize);
        float[][] Decode(IBackend be, HyperAttentionSettings? h)
        {
            using var model = Model(be);
            model.HyperAttention = h;
            using var decoder = new Gpt2Decoder(model, 1);
            var outs = new List<float[]>();
            var logits = new float[Config.VocabSize];
            decoder.Feed(tokens.AsSpan(0, 6), 6, logits);
            outs.Add((float[])logits.Clone());
            for (int t = 6; t < tokens.Length; t++)
            {
                decoder.Feed(tokens.AsSpan(t, 1), 1, logits);
                outs.Add((float[])logits.Clone());
            }
            return [.. outs];
        }
        var small = Settings("all", 4, 3, 8);
        var fast = Decode(new CpuBackend(), small);
        var reference = Decode(new ReferenceBackend(), small);
        for (int i = 0; i < fast.Length; i++) Check.Close($"step {i}", fast[i], reference[i], 2e-5);
        var exact = Decode(new CpuBackend(), null);
        var wide = Decode(new CpuBackend(), Settings("all", 4, 3, 64)); // window of 64 ≥ every position
        for (int i = 0; i < exact.Length; i++) Check.Close($"step {i}", wide[i], exact[i], 2e-5);
        double diff = fast.Zip(exact, (a, e) => a.Zip(e, (p, q) => Math.Abs(p - q)).Max()).Max();
        Assert.That(diff, Is.GreaterThan(1e-3), "a window of 8 with blocks of 4 must change later logits");
    }
}
