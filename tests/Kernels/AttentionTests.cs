using Hyper.Kernels.Cpu;
using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// Attention: the reference against an independent double-precision softmax and finite
/// differences; the CPU kernels (naive and flash forward, both backward work splits) against
/// the reference in float on odd shapes, around the 64-wide blocks, and at a long T.
/// </summary>
public class AttentionTests
{
    // T = 1 and 7 are below one 16-query vector, 33 and 65 leave a 1-row tail past a vector and
    // past a 64-query block, 100 leaves a 36-row partial block; hs = 1 and 7 are below one
    // vector (all padding), 16 exactly one, 64 the model's head size (the 6×4 register tile).
    private static readonly int[] Ts = [1, 7, 33, 65, 100];
    private static readonly int[] HeadSizes = [1, 7, 16, 64];

    // Tolerances, normalised by the largest |expected| (Check.Close), about 10× the worst error
    // measured over these shapes (out 1.3e-6, lse 4e-7, dqkv 1.2e-6 of the largest entry).
    // Forward: scores are fp32 dots of ≤ 64 terms summed in another order (~√hs·ε relative),
    // each probability passes through a 1-ulp exp2 instead of MathF.Exp, and the output is a
    // convex combination of values, so its error stays ~1e-6 of max|v|. A wrong mask, a lost
    // rescale or a wrong block boundary moves entries by 1e-2 or more.
    private const double OutputRtol = 1e-5;
    // lse is ~log T plus a score (≤ ~8 here); the same effects give ~1e-6 absolute.
    private const double LseRtol = 5e-6;
    // Gradients are sums over up to T terms whose inner factor dP − D cancels (D is the
    // probability-weighted mean of dP), so both kernels' float errors grow with T; a wrong
    // formula gives O(1) errors.
    private const double GradRtol = 2e-5;

    // ------------------------------------------------------------------ reference, in double

    [TestCase(false)]
    [TestCase(true)]
    public void ReferenceMatchesDirectSoftmax(bool causal)
    {
        const int B = 2, T = 5, C = 6, NH = 2, hs = C / NH;
        double[] qkv = Check.RandomDouble(B * T * 3 * C, 11, 2.0);
        var output = new double[B * T * C];
        var lse = new double[B * NH * T];
        Ref.Attention.Forward<double>(output, lse, qkv, B, T, C, NH, causal);

        // The same attention written independently: a full score matrix per head and log-sum-exp
        // without the max shift (scores here are small enough for exp not to overflow).
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int i = 0; i < T; i++)
                {
                    var p = new double[T];
                    double z = 0;
                    for (int j = 0; j < T; j++)
                    {
                        if (causal && j > i) continue;
                        double s = 0;
                        for (int d = 0; d < hs; d++)
                            s += qkv[(b * T + i) * 3 * C + h * hs + d] * qkv[(b * T + j) * 3 * C + C + h * hs + d];
                        p[j] = Math.Exp(s / Math.Sqrt(hs));
                        z += p[j];
                    }
                    Assert.That(lse[(b * NH + h) * T + i], Is.EqualTo(Math.Log(z)).Within(1e-12), $"lse b={b} h={h} i={i}");
                    for (int d = 0; d < hs; d++)
                    {
                        double o = 0;
                        for (int j = 0; j < T; j++) o += p[j] / z * qkv[(b * T + j) * 3 * C + 2 * C + h * hs + d];
                        Assert.That(output[(b * T + i) * C + h * hs + d], Is.EqualTo(o).Within(1e-12), $"out b={b} h={h} i={i} d={d}");
                    }
                }
    }

    [Test]
    public void ReferenceSingleTokenReturnsItsValue()
    {
        // T = 1: the only probability is 1, so out = v and lse = the one score.
        const int C = 4, NH = 2;
        double[] qkv = Check.RandomDouble(3 * C, 3);
        var output = new double[C];
        var lse = new double[NH];
        Ref.Attention.Forward<double>(output, lse, qkv, 1, 1, C, NH, causal: true);
        for (int c = 0; c < C; c++) Assert.That(output[c], Is.EqualTo(qkv[2 * C + c]).Within(1e-15));
        double s0 = (qkv[0] * qkv[C] + qkv[1] * qkv[C + 1]) / Math.Sqrt(2);
        Assert.That(lse[0], Is.EqualTo(s0).Within(1e-15));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ReferenceBackwardMatchesFiniteDifferences(bool causal)
    {
        const int B = 2, T = 4, C = 6, NH = 2;
        double[] qkv = Check.RandomDouble(B * T * 3 * C, 21, 1.5);
        double[] w = Check.RandomDouble(B * T * C, 22);
        var output = new double[B * T * C];
        var lse = new double[B * NH * T];
        double Loss()
        {
            Ref.Attention.Forward<double>(output, lse, qkv, B, T, C, NH, causal);
            return GradCheck.Dot(output, w);
        }
        Loss();
        var dqkv = new double[qkv.Length];
        Ref.Attention.Backward<double>(dqkv, w, qkv, output, lse, B, T, C, NH, causal);
        GradCheck.Check("dqkv", qkv, dqkv, Loss);
    }

    [Test]
    public void ReferenceBackwardAccumulates()
    {
        const int B = 1, T = 6, C = 4, NH = 2;
        double[] qkv = Check.RandomDouble(B * T * 3 * C, 31);
        double[] dout = Check.RandomDouble(B * T * C, 32);
        var output = new double[B * T * C];
        var lse = new double[B * NH * T];
        Ref.Attention.Forward<double>(output, lse, qkv, B, T, C, NH, causal: true);
        var fresh = new double[qkv.Length];
        Ref.Attention.Backward<double>(fresh, dout, qkv, output, lse, B, T, C, NH, causal: true);
        double[] prior = Check.RandomDouble(qkv.Length, 33);
        var acc = (double[])prior.Clone();
        Ref.Attention.Backward<double>(acc, dout, qkv, output, lse, B, T, C, NH, causal: true);
        for (int i = 0; i < acc.Length; i++)
            Assert.That(acc[i], Is.EqualTo(prior[i] + fresh[i]).Within(1e-12), $"dqkv[{i}]");
    }

    // ------------------------------------------------------------------ CPU kernels vs reference

    [Test]
    public void ForwardMatchesReference(
        [Values(AttentionVariant.Naive, AttentionVariant.Flash)] AttentionVariant variant,
        [ValueSource(nameof(Ts))] int T,
        [Values(1, 2, 3)] int NH,
        [ValueSource(nameof(HeadSizes))] int hs,
        [Values(false, true)] bool causal)
    {
        int B = NH == 2 ? 2 : 1, C = NH * hs;
        float[] qkv = Check.Random(B * T * 3 * C, 1000 + T * 7 + hs, 2f);
        var (expected, expectedLse) = ReferenceForward(qkv, B, T, C, NH, causal);
        var output = new float[B * T * C];
        var lse = new float[B * NH * T];
        output.AsSpan().Fill(float.NaN); // every element must be written
        Cpu.Attention.Forward(variant, output, lse, qkv, B, T, C, NH, causal);
        Check.Close("out", output, expected, OutputRtol);
        Check.Close("lse", lse, expectedLse, LseRtol);
    }

    [Test]
    public void BackwardMatchesReference(
        [Values(false, true)] bool twoPass,
        [ValueSource(nameof(Ts))] int T,
        [Values(1, 3)] int NH,
        [ValueSource(nameof(HeadSizes))] int hs,
        [Values(false, true)] bool causal)
    {
        CompareBackward(Scheme(twoPass), B: 2, T, NH, hs, causal);
    }

    /// <summary>A few blocks of 64 with a partial last block, at the model's head size.</summary>
    [Test]
    public void AboveBlockSizeMatchesReference(
        [Values(false, true)] bool twoPass,
        [Values(128, 130, 200)] int T,
        [Values(false, true)] bool causal)
    {
        const int B = 1, NH = 2, hs = 64, C = NH * hs;
        float[] qkv = Check.Random(B * T * 3 * C, 77 + T, 2f);
        var (expected, expectedLse) = ReferenceForward(qkv, B, T, C, NH, causal);
        var output = new float[B * T * C];
        var lse = new float[B * NH * T];
        Cpu.Attention.Forward(output, lse, qkv, B, T, C, NH, causal);
        Check.Close("out", output, expected, OutputRtol);
        Check.Close("lse", lse, expectedLse, LseRtol);
        CompareBackward(Scheme(twoPass), B, T, NH, hs, causal);
    }

    [Test]
    public void BackwardAccumulates([Values(false, true)] bool twoPass)
    {
        const int B = 2, T = 70, NH = 2, hs = 16, C = NH * hs;
        float[] qkv = Check.Random(B * T * 3 * C, 41);
        float[] dout = Check.Random(B * T * C, 42);
        var output = new float[B * T * C];
        var lse = new float[B * NH * T];
        Cpu.Attention.Forward(output, lse, qkv, B, T, C, NH, causal: true);
        var fresh = new float[qkv.Length];
        Cpu.Attention.Backward(Scheme(twoPass), fresh, dout, qkv, output, lse, B, T, C, NH, causal: true);
        float[] prior = Check.Random(qkv.Length, 43, 5f);
        var acc = (float[])prior.Clone();
        Cpu.Attention.Backward(Scheme(twoPass), acc, dout, qkv, output, lse, B, T, C, NH, causal: true);
        var expected = new float[acc.Length];
        for (int i = 0; i < acc.Length; i++) expected[i] = prior[i] + fresh[i];
        // Each gradient is added once to its prior value, so only that one fp32 rounding differs.
        Check.Close("dqkv", acc, expected, 1e-6);
    }

    /// <summary>The public backward picks the work split from B·NH; both sides of the threshold.</summary>
    [TestCase(1, 2)]
    [TestCase(4, 4)]
    public void PublicBackwardMatchesReference(int B, int NH)
    {
        const int T = 70, hs = 16;
        int C = NH * hs;
        float[] qkv = Check.Random(B * T * 3 * C, 91, 2f);
        float[] dout = Check.Random(B * T * C, 92);
        var (output, lse) = ReferenceForward(qkv, B, T, C, NH, causal: true);
        var expected = new float[qkv.Length];
        Ref.Attention.Backward<float>(expected, dout, qkv, output, lse, B, T, C, NH, causal: true);
        var actual = new float[qkv.Length];
        Cpu.Attention.Backward(actual, dout, qkv, output, lse, B, T, C, NH, causal: true);
        Check.Close("dqkv", actual, expected, GradRtol);
    }

    [Test]
    public void FlashIsDeterministic()
    {
        const int B = 1, T = 200, NH = 2, hs = 64, C = NH * hs;
        float[] qkv = Check.Random(B * T * 3 * C, 51);
        float[] dout = Check.Random(B * T * C, 52);
        float[] Run()
        {
            var output = new float[B * T * C];
            var lse = new float[B * NH * T];
            var dqkv = new float[qkv.Length];
            Cpu.Attention.Forward(output, lse, qkv, B, T, C, NH, causal: true);
            Cpu.Attention.Backward(dqkv, dout, qkv, output, lse, B, T, C, NH, causal: true);
            return [.. output, .. lse, .. dqkv];
        }
        float[] first = Run();
        for (int run = 0; run < 2; run++) Assert.That(Run(), Is.EqualTo(first), "bit-identical results");
    }

    /// <summary>
    /// A long sequence without T×T memory: 4096² floats would be 64 MiB; the kernels may
    /// allocate only their O(64·hs) per-thread scratch and the parallel loop's bookkeeping.
    /// Spot rows are checked in double against the definition.
    /// </summary>
    [Test]
    public void LongSequenceUsesNoQuadraticMemory()
    {
        const int B = 1, T = 4096, NH = 1, hs = 64, C = NH * hs;
        float[] qkv = Check.Random(B * T * 3 * C, 61, 2f);
        float[] dout = Check.Random(B * T * C, 62);
        var output = new float[B * T * C];
        var lse = new float[B * NH * T];
        var dqkv = new float[qkv.Length];
        Cpu.Attention.Forward(output, lse, qkv, B, T, C, NH, causal: true); // warm: scratch allocated
        Cpu.Attention.Backward(dqkv, dout, qkv, output, lse, B, T, C, NH, causal: true);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        Cpu.Attention.Forward(output, lse, qkv, B, T, C, NH, causal: true);
        Cpu.Attention.Backward(dqkv, dout, qkv, output, lse, B, T, C, NH, causal: true);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.That(allocated, Is.LessThan(1L << 20), "bytes allocated by a warm forward + backward");

        foreach (int i in new[] { 0, 1, 63, 64, 2047, T - 1 })
        {
            var p = new double[i + 1];
            double max = double.NegativeInfinity;
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                for (int d = 0; d < hs; d++) s += (double)qkv[i * 3 * C + d] * qkv[j * 3 * C + C + d];
                p[j] = s / Math.Sqrt(hs);
                max = Math.Max(max, p[j]);
            }
            double z = 0;
            for (int j = 0; j <= i; j++) z += p[j] = Math.Exp(p[j] - max);
            Assert.That(lse[i], Is.EqualTo(max + Math.Log(z)).Within(1e-5 * (1 + Math.Abs(lse[i]))), $"lse row {i}");
            var o = new float[hs];
            var e = new float[hs];
            for (int d = 0; d < hs; d++)
            {
                double acc = 0;
                for (int j = 0; j <= i; j++) acc += p[j] / z * qkv[j * 3 * C + 2 * C + d];
                e[d] = (float)acc;
                o[d] = output[i * C + d];
            }
            Check.Close($"out row {i}", o, e, OutputRtol);
        }
    }

    [Test]
    public void RejectsMismatchedShapes()
    {
        var qkv = new float[2 * 3 * 6];
        Assert.Throws<ArgumentException>(() => Cpu.Attention.Forward(new float[12], new float[4], qkv, 1, 2, 6, 4, true), "C not divisible by NH");
        Assert.Throws<ArgumentException>(() => Cpu.Attention.Forward(new float[12], new float[3], qkv, 1, 2, 6, 2, true), "lse length");
        Assert.Throws<ArgumentException>(() => Cpu.Attention.Backward(new float[35], new float[12], qkv, new float[12], new float[4], 1, 2, 6, 2, true), "dqkv length");
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>The backward's two work splits (the public API picks one by B·NH); tests force each.</summary>
    private static AttentionBackwardScheme Scheme(bool twoPass) => twoPass ? AttentionBackwardScheme.TwoPass : AttentionBackwardScheme.Fused;

    private static (float[] Output, float[] Lse) ReferenceForward(float[] qkv, int B, int T, int C, int NH, bool causal)
    {
        var output = new float[B * T * C];
        var lse = new float[B * NH * T];
        Ref.Attention.Forward<float>(output, lse, qkv, B, T, C, NH, causal);
        return (output, lse);
    }

    /// <summary>
    /// Fast backward vs the float reference, both given the reference forward's out and lse and
    /// a pre-filled gradient buffer (so accumulation is checked too).
    /// </summary>
    private static void CompareBackward(AttentionBackwardScheme scheme, int B, int T, int NH, int hs, bool causal)
    {
        int C = NH * hs;
        float[] qkv = Check.Random(B * T * 3 * C, 2000 + T * 5 + hs, 2f);
        float[] dout = Check.Random(B * T * C, 3000 + T);
        var (output, lse) = ReferenceForward(qkv, B, T, C, NH, causal);
        float[] prior = Check.Random(qkv.Length, 4000 + T, 0.1f);
        var expected = (float[])prior.Clone();
        Ref.Attention.Backward<float>(expected, dout, qkv, output, lse, B, T, C, NH, causal);
        var actual = (float[])prior.Clone();
        Cpu.Attention.Backward(scheme, actual, dout, qkv, output, lse, B, T, C, NH, causal);
        Check.Close("dqkv", actual, expected, GradRtol);
    }
}
