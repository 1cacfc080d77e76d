using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// Softmax + cross-entropy: the reference against finite differences of the mean loss (double)
/// and a hand example; the CPU kernel against the reference in float on odd vocabularies, in
/// place, with ignored rows, extreme logits, and bad targets.
/// </summary>
public class SoftmaxCrossEntropyTests
{
    // (N, V): V = 1 (prob 1, loss 0), 7 and 15 below one vector, 16 one exactly, 17 one past,
    // 1025 64 vectors plus one, 256 the benchmark's vocabulary (300 rows run on two threads),
    // 50257 GPT-2's.
    private static readonly object[] Shapes =
    [
        new[] { 1, 1 }, new[] { 3, 7 }, new[] { 4, 15 }, new[] { 2, 16 }, new[] { 5, 17 }, new[] { 7, 1025 },
        new[] { 300, 256 }, new[] { 2, 50257 },
    ];

    // CPU against the float reference. The reference adds a row's V positive exps one after
    // another in float, so its sum (hence every probability, relatively, and the loss, absolutely)
    // drifts by ~√V·2⁻²⁴ — 4.6e-5 measured at V = 50257, where the kernel (16 lanes) is at 4e-6.
    // Bound: 2e-6 + 5e-7·√V (1.1e-4 at V = 50257, 1e-5 at V = 256). Probabilities are compared
    // per row, normalised by the row's largest; losses (up to ~20) also get 1e-6 of their size.
    private static double SumTolerance(int V) => 2e-6 + 5e-7 * Math.Sqrt(V);

    [TestCaseSource(nameof(Shapes))]
    public void ForwardMatchesReference(int N, int V)
    {
        float[] logits = Check.Random(N * V, 1, 8f);
        int[] targets = Targets(N, V, 2);
        float[] lossRef = new float[N], probsRef = new float[N * V];
        float[] loss = new float[N], probs = new float[N * V];
        Ref.SoftmaxCrossEntropy.Forward<float>(lossRef, probsRef, logits, targets, N, V);
        Cpu.SoftmaxCrossEntropy.Forward(loss, probs, logits, targets, N, V);
        for (int n = 0; n < N; n++)
            Check.Close($"probs row {n}", probs.AsSpan(n * V, V), probsRef.AsSpan(n * V, V), SumTolerance(V), atol: 0);
        Check.Close("losses", loss, lossRef, 1e-6, SumTolerance(V));
        for (int n = 0; n < N; n++)
            if (targets[n] < 0) Assert.That(loss[n], Is.EqualTo(0f), "ignored row");

        // In place (probs in the logits buffer) gives the same bits as out of place, in both kernels.
        float[] inPlace = (float[])logits.Clone(), inPlaceRef = (float[])logits.Clone();
        float[] loss2 = new float[N], lossRef2 = new float[N];
        Cpu.SoftmaxCrossEntropy.Forward(loss2, inPlace, inPlace, targets, N, V);
        Ref.SoftmaxCrossEntropy.Forward<float>(lossRef2, inPlaceRef, inPlaceRef, targets, N, V);
        Check.Close("probs in place", inPlace, probs, 0, 0);
        Check.Close("losses in place", loss2, loss, 0, 0);
        Check.Close("reference probs in place", inPlaceRef, probsRef, 0, 0);
        Check.Close("reference losses in place", lossRef2, lossRef, 0, 0);
    }

    [TestCaseSource(nameof(Shapes))]
    public void CpuIsAccurateAgainstDouble(int N, int V)
    {
        // Every probability relative to itself (exp within ~1 ulp, a 16-lane sum, one scaling:
        // measured ≤ 4e-6 at V = 50257, ≤ 1e-6 below), and every loss absolutely (a few ulp of
        // max, log(sum) and the target logit, all ≤ ~20: measured ≤ 4e-6); 1e-5 bounds both.
        float[] logits = Check.Random(N * V, 1, 8f);
        int[] targets = Targets(N, V, 2);
        float[] loss = new float[N], probs = new float[N * V];
        double[] exactLoss = new double[N], exactProbs = new double[N * V];
        Cpu.SoftmaxCrossEntropy.Forward(loss, probs, logits, targets, N, V);
        Ref.SoftmaxCrossEntropy.Forward<double>(exactLoss, exactProbs, Check.ToDouble(logits), targets, N, V);
        for (int i = 0; i < N * V; i++)
            Assert.That(probs[i], Is.EqualTo(exactProbs[i]).Within(1e-5 * exactProbs[i]), $"prob {i}");
        Assert.That(loss, Is.EqualTo(exactLoss).Within(1e-5));
    }

    [Test]
    public void ExtremeLogits()
    {
        // Row 0: one logit 200 above the rest (every other probability underflows to 0, loss at
        // the big one 0, at a small one 200 exactly: logsumexp keeps it where −log(prob) = ∞).
        // Row 1: −∞ logits (masked entries) get probability 0. Row 2: a NaN spreads to the row.
        const int V = 40;
        float[] logits = new float[3 * V];
        logits[5] = 200f;
        for (int i = V; i < 2 * V; i++) logits[i] = i % 2 == 0 ? float.NegativeInfinity : 1f;
        logits[2 * V + 33] = float.NaN;
        foreach (int target in new[] { 5, 6 })
        {
            int[] targets = [target, 1, 0];
            var loss = new float[3];
            var probs = new float[3 * V];
            Cpu.SoftmaxCrossEntropy.Forward(loss, probs, logits, targets, 3, V);
            Assert.That(loss[0], Is.EqualTo(target == 5 ? 0f : 200f));
            Assert.That(probs[5], Is.EqualTo(1f));
            Assert.That(probs[6], Is.EqualTo(0f));
            Assert.That(loss[1], Is.EqualTo(MathF.Log(V / 2)).Within(1e-6));
            for (int i = 0; i < V; i++)
                Assert.That(probs[V + i], Is.EqualTo(i % 2 == 0 ? 0f : 2f / V).Within(1e-8), $"masked row, entry {i}");
            Assert.That(float.IsNaN(loss[2]) && probs.AsSpan(2 * V).ToArray().All(float.IsNaN), Is.True, "NaN row");
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public void BackwardMatchesReferenceExactlyAndOverwrites(int N, int V)
    {
        float[] logits = Check.Random(N * V, 3, 8f);
        int[] targets = Targets(N, V, 4);
        float[] probs = new float[N * V], loss = new float[N];
        Ref.SoftmaxCrossEntropy.Forward<float>(loss, probs, logits, targets, N, V);
        const float dloss = 0.37f;
        float[] expected = Check.Random(N * V, 5), actual = Check.Random(N * V, 6); // garbage to overwrite
        Ref.SoftmaxCrossEntropy.Backward<float>(expected, probs, targets, dloss, N, V);
        Cpu.SoftmaxCrossEntropy.Backward(actual, probs, targets, dloss, N, V);
        // Bit-exact: p·dloss, or (p − 1)·dloss at the target, one rounding each in both kernels.
        Check.Close("dlogits", actual, expected, 0, 0);
        for (int n = 0; n < N; n++)
            if (targets[n] < 0) Assert.That(actual.AsSpan(n * V, V).ToArray(), Is.All.EqualTo(0f), "ignored row");

        // In place on probs.
        float[] inPlace = (float[])probs.Clone();
        Cpu.SoftmaxCrossEntropy.Backward(inPlace, inPlace, targets, dloss, N, V);
        Check.Close("dlogits in place", inPlace, expected, 0, 0);
    }

    [Test]
    public void ReferenceForwardByHand()
    {
        // logits [0, ln 2, ln 5]: exps 1, 2, 5 sum to 8; target 1 → loss = −ln(2/8) = ln 4.
        double[] logits = [0, Math.Log(2), Math.Log(5)];
        var probs = new double[3];
        var loss = new double[1];
        Ref.SoftmaxCrossEntropy.Forward<double>(loss, probs, logits, [1], 1, 3);
        Assert.That(probs, Is.EqualTo(new[] { 1 / 8.0, 2 / 8.0, 5 / 8.0 }).Within(1e-15));
        Assert.That(loss[0], Is.EqualTo(Math.Log(4)).Within(1e-15));
    }

    [Test]
    public void ReferenceBackwardMatchesFiniteDifferencesOfMeanLoss()
    {
        // L = mean over the non-ignored rows of the row losses, so dloss = 1/valid; the ignored
        // row's logits must get exactly zero gradient (and FD confirms L does not depend on them).
        const int N = 4, V = 7;
        int[] targets = [3, -1, 0, 6];
        const int valid = 3;
        double[] logits = Check.RandomDouble(N * V, 7, 3);
        double[] probs = new double[N * V], losses = new double[N];
        double Loss()
        {
            Ref.SoftmaxCrossEntropy.Forward<double>(losses, probs, logits, targets, N, V);
            return losses.Sum() / valid;
        }
        Loss();
        var dlogits = new double[N * V];
        Ref.SoftmaxCrossEntropy.Backward<double>(dlogits, probs, targets, 1.0 / valid, N, V);
        GradCheck.Check("dlogits", logits, dlogits, Loss);
        Assert.That(dlogits.AsSpan(V, V).ToArray(), Is.All.EqualTo(0.0), "ignored row");
    }

    [Test]
    public void PaddedRowsBackwardMatchesFiniteDifferencesAndGivesThePaddingNoGradient()
    {
        // Rows of Vp = 16 with V = 7: the loss must not depend on columns 7..15 (FD sees zero there),
        // and the backward must write exactly zero into them, so the head's pad rows get no gradient.
        const int N = 3, V = 7, Vp = 16;
        int[] targets = [3, -1, 6];
        const int valid = 2;
        double[] logits = Check.RandomDouble(N * Vp, 17, 3);
        double[] probs = new double[N * Vp], losses = new double[N];
        double Loss()
        {
            Ref.SoftmaxCrossEntropy.Forward<double>(losses, probs, logits, targets, N, V, Vp);
            return losses.Sum() / valid;
        }
        Loss();
        for (int n = 0; n < N; n++)
            Assert.That(probs.AsSpan(n * Vp + V, Vp - V).ToArray(), Is.All.EqualTo(0.0), $"row {n}'s padding");
        var dlogits = Check.RandomDouble(N * Vp, 18); // garbage to overwrite, padding included
        Ref.SoftmaxCrossEntropy.Backward<double>(dlogits, probs, targets, 1.0 / valid, N, V, Vp);
        GradCheck.Check("dlogits", logits, dlogits, Loss);
        for (int n = 0; n < N; n++)
            Assert.That(dlogits.AsSpan(n * Vp + V, Vp - V).ToArray(), Is.All.EqualTo(0.0), $"row {n}'s padding");
    }

    [TestCase(1, 1, 64)]
    [TestCase(5, 17, 64)]
    [TestCase(7, 1025, 1088)]
    [TestCase(2, 50257, 50304)]
    public void CpuPaddedRowsEqualUnpaddedOnesAndZeroThePadding(int N, int V, int Vp)
    {
        float[] logits = Check.Random(N * V, 19, 8f);
        int[] targets = Targets(N, V, 20);
        float[] probs = new float[N * V], loss = new float[N], dlogits = new float[N * V];
        Cpu.SoftmaxCrossEntropy.Forward(loss, probs, logits, targets, N, V);
        Cpu.SoftmaxCrossEntropy.Backward(dlogits, probs, targets, 0.37f, N, V);
        // The same rows Vp apart, garbage in the padding; in place, as the models run it.
        float[] padded = Check.Random(N * Vp, 21, 100f), paddedLoss = new float[N];
        for (int n = 0; n < N; n++) logits.AsSpan(n * V, V).CopyTo(padded.AsSpan(n * Vp));
        Cpu.SoftmaxCrossEntropy.Forward(paddedLoss, padded, padded, targets, N, V, Vp);
        Assert.That(paddedLoss, Is.EqualTo(loss), "losses");
        for (int n = 0; n < N; n++)
        {
            Assert.That(padded.AsSpan(n * Vp, V).ToArray(), Is.EqualTo(probs.AsSpan(n * V, V).ToArray()), $"row {n}'s probabilities");
            Assert.That(padded.AsSpan(n * Vp + V, Vp - V).ToArray(), Is.All.EqualTo(0f), $"row {n}'s padding after the forward");
        }
        for (int n = 0; n < N; n++) padded.AsSpan(n * Vp + V, Vp - V).Fill(1e3f); // the backward must not read it
        Cpu.SoftmaxCrossEntropy.Backward(padded, padded, targets, 0.37f, N, V, Vp);
        for (int n = 0; n < N; n++)
        {
            Assert.That(padded.AsSpan(n * Vp, V).ToArray(), Is.EqualTo(dlogits.AsSpan(n * V, V).ToArray()), $"row {n}'s gradient");
            Assert.That(padded.AsSpan(n * Vp + V, Vp - V).ToArray(), Is.All.EqualTo(0f), $"row {n}'s padding after the backward");
        }
    }

    [Test]
    public void RowStrideBelowTheVocabularyThrows()
    {
        float[] buffer = new float[8], loss = new float[2];
        Assert.Throws<ArgumentOutOfRangeException>(() => Ref.SoftmaxCrossEntropy.Forward<float>(loss, buffer, buffer, [0, 1], 2, 4, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpu.SoftmaxCrossEntropy.Forward(loss, buffer, buffer, [0, 1], 2, 4, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ref.SoftmaxCrossEntropy.Backward<float>(buffer, buffer, [0, 1], 1f, 2, 4, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpu.SoftmaxCrossEntropy.Backward(buffer, buffer, [0, 1], 1f, 2, 4, 3));
    }

    [Test]
    public void TargetOutOfRangeThrowsBeforeWriting()
    {
        const int N = 3, V = 5;
        int[] targets = [0, 2, V];
        float[] logits = Check.Random(N * V, 8);
        float[] probs = new float[N * V], loss = new float[N];
        Assert.Throws<ArgumentOutOfRangeException>(() => Ref.SoftmaxCrossEntropy.Forward<float>(loss, probs, logits, targets, N, V));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpu.SoftmaxCrossEntropy.Forward(loss, probs, logits, targets, N, V));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ref.SoftmaxCrossEntropy.Backward<float>(probs, logits, targets, 1f, N, V));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpu.SoftmaxCrossEntropy.Backward(probs, logits, targets, 1f, N, V));
        Assert.That(probs, Is.All.EqualTo(0f), "nothing written");
        Assert.That(loss, Is.All.EqualTo(0f), "nothing written");
    }

    // Random targets in [0, V), with every fifth row ignored (−1).
    private static int[] Targets(int N, int V, int seed)
    {
        var rng = new Random(seed);
        var targets = new int[N];
        for (int n = 0; n < N; n++) targets[n] = n % 5 == 1 ? -1 : rng.Next(V);
        return targets;
    }
}
