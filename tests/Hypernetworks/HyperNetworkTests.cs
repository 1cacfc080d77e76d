using Hyper.Kernels.Reference;
using Hyper.Runtime.Backends;
using Hyper.Runtime.Hypernetworks;
using Hyper.Runtime.Models;
using Hyper.Tests.Support;

namespace Hyper.Tests.Hypernetworks;

public class HyperNetworkTests
{
    /// <summary>A GPT-2 small enough for finite differences in double: about 2,000 parameters.</summary>
    // Unpadded, as Gpt2Target.CreateModel lays a target out, so the double reference reads the same arena.
    private static readonly Gpt2Config Micro = new() { NLayer = 1, NHead = 2, NEmbd = 8, NPositions = 8, VocabSize = 32, VocabMultiple = 1 };

    private static HyperNetworkOptions Options(HyperEncodingKind kind) =>
        HyperNetworkOptions.Mip with { Encoding = kind, Residual = kind != HyperEncodingKind.Raw, Hidden = [4, 3] };

    private static float Norm(IHyperTarget target)
    {
        var theta = new float[target.Parameters.Length];
        target.Backend.Download(target.Parameters, theta);
        return (float)Math.Sqrt(theta.Sum(v => (double)v * v));
    }

    [Test]
    public void FiniteDifferencesThroughHypernetworkAndMlpTarget([Values] HyperEncodingKind kind)
    {
        using var be = new ReferenceBackend();
        using var mlp = new MlpTarget(3, 5, 4, be);
        using var hyper = new HyperNetwork(mlp, Options(kind));
        hyper.Initialize(3);
        var r = new HyperReference(hyper);
        var x = Check.RandomDouble(6 * 3, 21);
        int[] labels = [0, 3, 1, 2, 2, 0];
        // Two γ: the loss of a batch whose samples carry different weights, gradients accumulated.
        double[][] gammas = [[0.3], [0.85]];
        double Loss() => gammas.Sum(g => HyperReference.MlpLoss(r.Theta(g), 3, 5, 4, x, labels, null));
        var dphi = r.ZeroLike();
        foreach (var g in gammas)
        {
            var theta = r.Theta(g);
            var dtheta = new double[theta.Length];
            HyperReference.MlpLoss(theta, 3, 5, 4, x, labels, dtheta);
            r.Backward(dtheta, dphi);
        }
        for (int t = 0; t < r.Phi.Length; t++)
            GradCheck.Check($"{kind} {hyper.Tensors[t].Name}", r.Phi[t], dphi[t], Loss, maxEntries: 64);
    }

    [Test]
    public void FiniteDifferencesThroughHypernetworkAndGpt2Target([Values(HyperEncodingKind.CosSin, HyperEncodingKind.Raw)] HyperEncodingKind kind)
    {
        using var be = new ReferenceBackend();
        using var model = Gpt2Target.CreateModel(Micro, be);
        using var hyper = new HyperNetwork(new Gpt2Target(model), Options(kind));
        hyper.Initialize(5);
        var r = new HyperReference(hyper);
        const int B = 2, T = 5;
        var rng = new Random(9);
        var tokens = Enumerable.Range(0, B * T).Select(_ => rng.Next(32)).ToArray();
        var targets = Enumerable.Range(0, B * T).Select(_ => rng.Next(32)).ToArray();
        double[] gamma = [0.6];
        double Loss() => HyperReference.Gpt2Loss(r.Theta(gamma), Micro, tokens, targets, B, T, null);
        var theta = r.Theta(gamma);
        var dtheta = new double[theta.Length];
        HyperReference.Gpt2Loss(theta, Micro, tokens, targets, B, T, dtheta);
        var dphi = r.ZeroLike();
        r.Backward(dtheta, dphi);
        for (int t = 0; t < r.Phi.Length; t++)
            GradCheck.Check($"{kind} {hyper.Tensors[t].Name}", r.Phi[t], dphi[t], Loss, maxEntries: 48);
    }

    [Test]
    public void RuntimeMatchesTheDoubleReference([Values("reference", "cpu")] string backend)
    {
        using var be = BackendRegistry.Create(backend);
        using var model = Gpt2Target.CreateModel(Micro, be);
        var target = new Gpt2Target(model);
        using var hyper = new HyperNetwork(target, Options(HyperEncodingKind.CosSin));
        hyper.Initialize(8);
        var r = new HyperReference(hyper);
        const int B = 2, T = 6;
        var rng = new Random(4);
        var tokens = Enumerable.Range(0, B * T).Select(_ => rng.Next(32)).ToArray();
        var targets = Enumerable.Range(0, B * T).Select(_ => rng.Next(32)).ToArray();

        hyper.ZeroGradients();
        float loss = hyper.Accumulate([0.4f], () => target.ForwardBackward(new TokenBatch(tokens, targets, B, T), 1f));
        var theta = r.Theta([0.4]);
        var dtheta = new double[theta.Length];
        double expected = HyperReference.Gpt2Loss(theta, Micro, tokens, targets, B, T, dtheta);
        var dphi = r.ZeroLike();
        r.Backward(dtheta, dphi);

        // The generated weights are in the model's own arena (no copy was made).
        Check.Close("theta", model.ReadParameters(), Check.ToFloat(theta), rtol: 1e-5);
        Assert.That(loss, Is.EqualTo(expected).Within(1e-5 * expected));
        // float against double over sums of up to ~2,000 terms (the output layer's rows): errors
        // of ~√K·ε relative to the largest entry, ≈ 1e-5; 1e-4 leaves room without letting a wrong term through.
        var g = hyper.ReadGradients();
        for (int t = 0; t < hyper.Tensors.Count; t++)
        {
            var (name, shape, offset) = hyper.Tensors[t];
            Check.Close($"d{name}", g.AsSpan((int)offset, dphi[t].Length), Check.ToFloat(dphi[t]), rtol: 1e-4);
        }
    }

    [Test]
    public void MixedGammaBatchEqualsTheSumOfSingleGammaBatches([Values("reference", "cpu")] string backend)
    {
        using var be = BackendRegistry.Create(backend);
        using var model = Gpt2Target.CreateModel(Micro, be);
        var target = new Gpt2Target(model);
        using var hyper = new HyperNetwork(target, Options(HyperEncodingKind.CosSin));
        hyper.Initialize(2);
        const int B = 4, T = 6;
        var objective = new MixtureObjective(target, T);
        var rng = new Random(17);
        int[] Tokens() => Enumerable.Range(0, B * T).Select(_ => rng.Next(32)).ToArray();
        var (inA, tgA, inB, tgB) = (Tokens(), Tokens(), Tokens(), Tokens());
        float[] gammas = [0.2f, 0.7f, 0.2f, 1f];
        const float W = 1f / B;

        hyper.ZeroGradients();
        double mixedLoss = objective.Accumulate(hyper, gammas, inA, tgA, inB, tgB, W);
        var mixed = hyper.ReadGradients();

        var sum = new float[mixed.Length];
        double sumLoss = 0;
        foreach (float g in gammas.Distinct())
        {
            int[] rows = Enumerable.Range(0, B).Where(i => gammas[i] == g).ToArray();
            int[] Pick(int[] a) => rows.SelectMany(i => a.Skip(i * T).Take(T)).ToArray();
            hyper.ZeroGradients();
            sumLoss += objective.Accumulate(hyper, rows.Select(_ => g).ToArray(), Pick(inA), Pick(tgA), Pick(inB), Pick(tgB), W);
            var single = hyper.ReadGradients();
            for (int i = 0; i < sum.Length; i++) sum[i] += single[i];
        }
        Assert.That(mixedLoss, Is.EqualTo(sumLoss).Within(1e-12));
        if (backend == "reference")
        {
            // Scalar loops, no FMA, groups added in the same order: the same floats.
            Assert.That(mixed, Is.EqualTo(sum));
        }
        else
        {
            // The SIMD matmul may fuse a group's product into the running sum (one rounding instead of two).
            Check.Close("mixed vs summed", mixed, sum, rtol: 1e-6);
        }

        // Not vacuous: the same windows all at one γ give another gradient.
        hyper.ZeroGradients();
        objective.Accumulate(hyper, [0.2f, 0.2f, 0.2f, 0.2f], inA, tgA, inB, tgB, W);
        var oneGamma = hyper.ReadGradients();
        double diff = mixed.Zip(oneGamma).Max(p => Math.Abs(p.First - p.Second));
        Assert.That(diff, Is.GreaterThan(1e-4 * mixed.Max(Math.Abs)));
    }

    [Test]
    public void MipWeightsDoNotScaleWithTheInputAndPlainWeightsDo()
    {
        using var be = new CpuBackend();
        using var mlp = new MlpTarget(8, 16, 4, be);
        // Same hidden layers, initialisation and seed; only the two MIP switches differ.
        using var mip = new HyperNetwork(mlp, HyperNetworkOptions.Mip with { Hidden = [16, 16] });
        using var plain = new HyperNetwork(mlp, HyperNetworkOptions.Plain with { Hidden = [16, 16] });
        mip.Initialize(1);
        plain.Initialize(1);
        float[] inputs = [0.05f, 0.1f, 0.5f, 1f, 10f];
        var mipNorms = inputs.Select(g => { mip.Generate([g]); return Norm(mlp); }).ToArray();
        var plainNorms = inputs.Select(g => { plain.Generate([g]); return Norm(mlp); }).ToArray();
        TestContext.Out.WriteLine($"inputs {string.Join(", ", inputs)}\nMIP norms {string.Join(", ", mipNorms)}\nplain norms {string.Join(", ", plainNorms)}");

        // Plain: zero biases and leaky ReLU make θ positively homogeneous in γ, so ‖θ(aγ)‖ = a‖θ(γ)‖
        // up to float rounding (~1e-6 relative here).
        for (int i = 1; i < inputs.Length; i++)
            Assert.That(plainNorms[i] / plainNorms[0], Is.EqualTo(inputs[i] / inputs[0]).Within(1e-4 * inputs[i] / inputs[0]), $"plain at {inputs[i]}");
        // MIP: E(γ) has norm 1 for every γ, so only its direction moves θ: over a 200× range of the
        // input the norm stays within a factor 1.5 (measured: 1.22, from h's dependence on the
        // direction), where the plain one grows 200×.
        Assert.That(mipNorms.Max() / mipNorms.Min(), Is.LessThan(1.5));
    }

    [Test]
    public void EncodingAloneBoundsTheOutputNorm()
    {
        using var be = new CpuBackend();
        using var mlp = new MlpTarget(8, 16, 4, be);
        using var hyper = new HyperNetwork(mlp, HyperNetworkOptions.Mip with { Residual = false, Hidden = [16, 16] });
        hyper.Initialize(4);
        // Without θ0 the norm does depend on the direction of E(γ), but not on its magnitude:
        // γ and γ + 4 have the same encoding (period 4), so their weights are the same.
        hyper.Generate([0.3f]);
        float a = Norm(mlp);
        hyper.Generate([4.3f]);
        float b = Norm(mlp);
        Assert.That(b, Is.EqualTo(a).Within(1e-5 * a));
    }

    [Test]
    public void InitialisationStartsFromTheTargetsOwnWeights()
    {
        using var be = new CpuBackend();
        using var model = Gpt2Target.CreateModel(Micro, be);
        var target = new Gpt2Target(model);
        using var hyper = new HyperNetwork(target, HyperNetworkOptions.Mip with { Hidden = [8] });
        hyper.Initialize(11);
        using var ordinary = Gpt2Target.CreateModel(Micro, be);
        ordinary.InitializeWeights(11);
        // Residual: the output bias is θ0, the target's own initialisation from the same seed.
        var bias = new float[model.Layout.Total];
        be.Download(hyper.Bias(hyper.Parameters, hyper.Layers - 1), bias);
        Assert.That(bias, Is.EqualTo(ordinary.ReadParameters()));

        // Per-tensor initialisation: at γ = 0.5, h = θ − θ0 has each tensor's own spread.
        hyper.Generate([0.5f]);
        var theta = model.ReadParameters();
        foreach (var t in target.Tensors)
        {
            double rms = Math.Sqrt(Enumerable.Range((int)t.Offset, (int)t.Count).Sum(i => Math.Pow(theta[i] - bias[i], 2)) / t.Count);
            Assert.That(rms, Is.EqualTo(t.Scale).Within(1e-3 * t.Scale), t.Name);
        }
    }

    [Test]
    public void TrainingLowersTheMlpLossAtEveryGamma()
    {
        // A small task with a γ-dependent answer: class = (x0 > 0) for γ < ½, (x1 > 0) otherwise.
        using var be = new CpuBackend();
        using var mlp = new MlpTarget(2, 8, 2, be);
        using var hyper = new HyperNetwork(mlp, HyperNetworkOptions.Mip with { Hidden = [8] });
        hyper.Initialize(6);
        var x = Check.Random(64 * 2, 3);
        MlpBatch Batch(float g) => new(x, Enumerable.Range(0, 64).Select(i => x[2 * i + (g < 0.5f ? 0 : 1)] > 0 ? 1 : 0).ToArray(), 64);
        float LossAt(float g) { hyper.Generate([g]); return mlp.Loss(Batch(g)); }
        float[] gammas = [0.1f, 0.9f];
        var before = gammas.Select(LossAt).ToArray();
        var adam = new AdamWSettings();
        for (int step = 0; step < 150; step++)
        {
            hyper.ZeroGradients();
            foreach (float g in gammas) hyper.Accumulate([g], () => mlp.ForwardBackward(Batch(g), 0.5f));
            hyper.Update(1e-2f, adam);
        }
        var after = gammas.Select(LossAt).ToArray();
        TestContext.Out.WriteLine($"before {string.Join(", ", before)}, after {string.Join(", ", after)}");
        for (int i = 0; i < gammas.Length; i++) Assert.That(after[i], Is.LessThan(0.3f * before[i]), $"gamma {gammas[i]}");
    }
}
