using System.Numerics;
using Hyper.Kernels.Reference;
using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// HyperAttention: the reference against exact attention where the approximation is exact
/// (one block holds every key, the samples are every key once, or the sequence is below
/// min_seq_len), its backward against finite differences of the approximate function itself,
/// the CPU kernels against the reference on odd shapes, the Gray bucket order, the error on
/// clustered data as blocks and samples grow, and determinism from the seed.
/// </summary>
public class HyperAttentionTests
{
    // Fast vs reference tolerances, normalised by the largest |expected| (Check.Close), about
    // 10× the worst measured over these tests (out 1.1e-6, lse 5.5e-7, dqkv 3.2e-6 of the
    // largest entry). Same causes as in AttentionTests (reordered fp32 sums, a 1-ulp exp2), plus
    // a few roundings per log-sum-exp merge of the pieces. A wrong mask, a lost weight or a row
    // merged twice moves entries by 1e-2 or more.
    private const double OutputRtol = 1e-5;
    private const double LseRtol = 5e-6;
    // Gradients: sums over up to b + m terms per piece whose factor dP − D cancels; sampled
    // terms carry weight n_k/m, so single products are larger than in exact attention.
    private const double GradRtol = 3e-5;

    /// <summary>A config small enough that a few dozen tokens use every kind of piece.</summary>
    private static HyperAttentionConfig Small(bool causal, int block = 4, int samples = 5, int minSeq = 4, int r = 3,
        HyperAttentionOrder order = HyperAttentionOrder.Gray) =>
        new() { BlockSize = block, SampleSize = samples, MinSeqLen = minSeq, LshProjections = r, Causal = causal, Order = order };

    // ------------------------------------------------------------------ where hyper is exact

    [TestCase(false)]
    [TestCase(true)]
    public void OneBlockHoldingEveryKeyIsExact(bool causal)
    {
        // Block ≥ n: each sorted rectangle is one block of all its keys, every sample is masked
        // (it lies in the row's own block), so nothing is approximated.
        const int B = 2, T = 37, NH = 2, hs = 5, C = NH * hs;
        var plan = HyperAttentionPlan.Create(Small(causal, block: 64, samples: 9), T, NH, hs, seed: 1);
        Assert.That(plan.Rectangles.Any(n => n.Kind == HyperAttentionNodeKind.Sorted), "the sorted path runs");
        CompareWithExact(plan, B, T, C, NH, seed: 10);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void SamplingEveryKeyOnceIsExact(bool causal)
    {
        // m = n_k samples, one per key: weight n_k/m = 1, and the unmasked samples are exactly
        // the keys outside the row's block, so block + samples = every key once.
        const int B = 1, T = 41, NH = 2, hs = 6, C = NH * hs;
        HyperAttentionConfig config = Small(causal, block: 4);
        float[] planes = HyperAttentionPlan.Create(config, T, NH, hs, seed: 2).Hyperplanes.ToArray();
        var plan = new HyperAttentionPlan(config, T, NH, hs, planes, (node, _) => [.. Enumerable.Range(0, node.KeyCount)]);
        CompareWithExact(plan, B, T, C, NH, seed: 20);
    }

    [TestCase(false, 50, 64)]
    [TestCase(true, 64, 64)]
    [TestCase(true, 9, 16)]
    public void BelowMinSeqLenIsExact(bool causal, int T, int minSeq)
    {
        const int B = 2, NH = 3, hs = 4, C = NH * hs;
        var plan = HyperAttentionPlan.Create(Small(causal, minSeq: minSeq), T, NH, hs, seed: 3);
        Assert.That(plan.Rectangles, Is.Empty);
        Assert.That(plan.Diagonals, Has.Count.EqualTo(1));
        CompareWithExact(plan, B, T, C, NH, seed: 30);
    }

    // ------------------------------------------------------------------ the exact backward

    [TestCase(false)]
    [TestCase(true)]
    public void ReferenceBackwardMatchesFiniteDifferencesOfTheApproximation(bool causal)
    {
        // T = 24, min_seq_len 4: causal gives sorted rectangles 12×12 and 6×6, exact 3×3 ones
        // and 3-token diagonal blocks; non-causal one sorted 24×24 rectangle. Blocks of 4 and 5
        // samples: some samples masked, the rest weighted n_k/5 (≠ 1).
        const int B = 2, T = 24, NH = 2, hs = 4, C = NH * hs;
        var plan = HyperAttentionPlan.Create(Small(causal), T, NH, hs, seed: 4);
        Assert.That(plan.Rectangles.Count(n => n.Kind == HyperAttentionNodeKind.Sorted), Is.EqualTo(causal ? 3 : 1));
        double[] qkv = Check.RandomDouble(B * T * 3 * C, 41, 1.5);
        double[] w = Check.RandomDouble(B * T * C, 42);
        var output = new double[B * T * C];
        var lse = new double[B * NH * T];
        int[] qb0 = new int[B * NH * T], kb0 = new int[B * NH * T];
        Ref.HyperAttention.Buckets<double>(qb0, kb0, qkv, plan, B, T, C, NH);
        var qb = new int[qb0.Length];
        var kb = new int[kb0.Length];
        double Loss()
        {
            // The sort is piecewise constant: finite differences see the function of a fixed
            // pattern only if no step moves a row across a hyperplane.
            Ref.HyperAttention.Buckets<double>(qb, kb, qkv, plan, B, T, C, NH);
            Assert.That(qb, Is.EqualTo(qb0), "a query changed bucket under the step");
            Assert.That(kb, Is.EqualTo(kb0), "a key changed bucket under the step");
            Ref.HyperAttention.Forward<double>(output, lse, qkv, plan, B, T, C, NH);
            return GradCheck.Dot(output, w);
        }
        Loss();
        var dqkv = new double[qkv.Length];
        Ref.HyperAttention.Backward<double>(dqkv, w, qkv, output, lse, plan, B, T, C, NH);
        GradCheck.Check("dqkv", qkv, dqkv, Loss, maxEntries: qkv.Length);
    }

    [Test]
    public void CausalPatternSeesNoFutureKey()
    {
        const int B = 1, T = 70, NH = 2, hs = 4, C = NH * hs;
        var plan = HyperAttentionPlan.Create(Small(causal: true, minSeq: 8), T, NH, hs, seed: 5);
        double[] qkv = Check.RandomDouble(B * T * 3 * C, 51);
        var pattern = Ref.HyperAttention.Pattern<double>(qkv, plan, B, T, C, NH);
        for (int row = 0; row < pattern.Length; row++)
        {
            int i = row % T;
            Assert.That(pattern[row].All(e => e.Key <= i), $"row {i} sees a future key");
            Assert.That(pattern[row].Any(e => e.Key == i), $"row {i} sees itself (its diagonal block)");
        }
    }

    // ------------------------------------------------------------------ CPU kernel vs reference

    [Test]
    public void FastMatchesReference(
        [Values(1, 7, 65, 300)] int T,
        [Values(7, 16, 64)] int hs,
        [Values(false, true)] bool causal)
    {
        // Blocks of 16 with 24 samples (some tiles partial, some samples masked), min_seq 16:
        // at T = 300 causal that is sorted rectangles down to 18 queries, exact 9-query ones
        // and 9- to 10-token diagonal blocks; the odd counts give n_q ≠ n_k rectangles.
        const int B = 2, NH = 2;
        var plan = HyperAttentionPlan.Create(Small(causal, block: 16, samples: 24, minSeq: 16, r: 4), T, NH, hs, seed: 6);
        CompareFastWithReference(plan, B, T, NH, hs, seed: 600 + T + hs);
    }

    [TestCase(false, HyperAttentionOrder.Official)]
    [TestCase(true, HyperAttentionOrder.Official)]
    [TestCase(false, HyperAttentionOrder.Gray)]
    [TestCase(true, HyperAttentionOrder.Gray)]
    public void FastMatchesReferenceAtTheDefaultBlockSize(bool causal, HyperAttentionOrder order)
    {
        // The official 256-key blocks with 7 hyperplanes over several blocks: 64-query tiles
        // inside a block, 300 samples = 5 sample tiles (the last partial).
        const int B = 1, NH = 1, hs = 64, T = 1100;
        var config = new HyperAttentionConfig { SampleSize = 300, MinSeqLen = 256, Causal = causal, Order = order };
        var plan = HyperAttentionPlan.Create(config, T, NH, hs, seed: 7);
        CompareFastWithReference(plan, B, T, NH, hs, seed: 700);
    }

    [Test]
    public void BackwardAccumulates()
    {
        const int B = 1, T = 90, NH = 2, hs = 16, C = NH * hs;
        var plan = HyperAttentionPlan.Create(Small(causal: true, block: 16, samples: 10, minSeq: 16), T, NH, hs, seed: 8);
        float[] qkv = Check.Random(B * T * 3 * C, 81, 2f);
        float[] dout = Check.Random(B * T * C, 82);
        var output = new float[B * T * C];
        var lse = new float[B * NH * T];
        Cpu.HyperAttention.Forward(output, lse, qkv, plan, B, T, C, NH);
        var fresh = new float[qkv.Length];
        Cpu.HyperAttention.Backward(fresh, dout, qkv, output, lse, plan, B, T, C, NH);
        float[] prior = Check.Random(qkv.Length, 83, 5f);
        var acc = (float[])prior.Clone();
        Cpu.HyperAttention.Backward(acc, dout, qkv, output, lse, plan, B, T, C, NH);
        var expected = new float[acc.Length];
        for (int i = 0; i < acc.Length; i++) expected[i] = prior[i] + fresh[i];
        // Pieces add into dqkv one after another, so the prior enters each element's sum first
        // instead of last: a few roundings of the larger prior.
        Check.Close("dqkv", acc, expected, 1e-6);
    }

    // ------------------------------------------------------------------ sortLSH order

    [Test]
    public void GrayOrderNeighboursDifferInOneBit([Values(1, 2, 3, 7, 10)] int r)
    {
        int[] byKey = BucketsInSortOrder(new HyperAttentionConfig { LshProjections = r });
        for (int s = 0; s + 1 < byKey.Length; s++)
            Assert.That(BitOperations.PopCount((uint)(byKey[s] ^ byKey[s + 1])), Is.EqualTo(1), $"positions {s}, {s + 1}");
    }

    [Test]
    public void OfficialOrderIsOnlyMostlyGray()
    {
        // Sorting by g(bucket) puts bucket g⁻¹(s) at position s; consecutive ones differ in
        // ⌈(t+1)/2⌉ bits where t = trailing ones of s, so only s ≡ 0 (mod 2) or 1 (mod 4) give one bit.
        int[] byKey = BucketsInSortOrder(new HyperAttentionConfig { LshProjections = 7, Order = HyperAttentionOrder.Official });
        int oneBit = 0;
        for (int s = 0; s + 1 < byKey.Length; s++)
            if (BitOperations.PopCount((uint)(byKey[s] ^ byKey[s + 1])) == 1) oneBit++;
        Assert.That(oneBit, Is.EqualTo(96), "of 127 neighbours");
    }

    [Test]
    public void GrayCodeRoundTrips()
    {
        for (int k = 0; k < 1 << 12; k++)
        {
            Assert.That(HyperAttentionPlan.InverseGray(HyperAttentionPlan.Gray(k)), Is.EqualTo(k));
            Assert.That(BitOperations.PopCount((uint)(HyperAttentionPlan.Gray(k) ^ HyperAttentionPlan.Gray(k + 1))), Is.EqualTo(1));
        }
    }

    [Test]
    public void SortIsStableByBucketOrder()
    {
        const int B = 1, T = 200, NH = 1, hs = 8, C = NH * hs;
        var plan = HyperAttentionPlan.Create(Small(causal: false, r: 3), T, NH, hs, seed: 9);
        double[] qkv = Check.RandomDouble(B * T * 3 * C, 91);
        int[] qb = new int[T], kb = new int[T];
        Ref.HyperAttention.Buckets<double>(qb, kb, qkv, plan, B, T, C, NH);
        int[] order = Ref.HyperAttention.SortedOrder(qb, 0, T, plan);
        Assert.That(order.Order(), Is.EqualTo(Enumerable.Range(0, T)), "a permutation");
        for (int p = 0; p + 1 < T; p++)
        {
            int a = plan.SortKey(qb[order[p]]), b = plan.SortKey(qb[order[p + 1]]);
            Assert.That(a < b || (a == b && order[p] < order[p + 1]), $"positions {p}, {p + 1}");
        }
    }

    // ------------------------------------------------------------------ accuracy

    [Test]
    public void ErrorFallsAsBlocksAndSamplesGrow()
    {
        // Clustered q, k (large entries, peaked attention): the sorted blocks catch a row's
        // cluster, and the samples estimate the rest, so the error falls with both. Averaged
        // over seeds: single draws of 32 samples are noisy.
        const int T = 2048, NH = 1, hs = 64, C = hs;
        float[] qkv = Clustered(T, C, clusters: 16, seed: 100);
        var exact = new float[T * C];
        var exactLse = new float[T];
        Cpu.Attention.Forward(exact, exactLse, qkv, 1, T, C, NH, causal: false);
        double Error(int block, int samples)
        {
            double sum = 0;
            for (ulong seed = 0; seed < 4; seed++)
            {
                var config = new HyperAttentionConfig { BlockSize = block, SampleSize = samples, MinSeqLen = 64 };
                var plan = HyperAttentionPlan.Create(config, T, NH, hs, seed);
                var output = new float[T * C];
                var lse = new float[T];
                Cpu.HyperAttention.Forward(output, lse, qkv, plan, 1, T, C, NH);
                sum += RelativeError(output, exact);
            }
            return sum / 4;
        }
        double e32 = Error(32, 32), e128 = Error(128, 128), e512 = Error(512, 512), eAll = Error(T, 32);
        TestContext.Out.WriteLine($"relative Frobenius error: b=m=32 {e32:E2}, 128 {e128:E2}, 512 {e512:E2}, b=T {eAll:E2}");
        Assert.That(e128, Is.LessThan(0.8 * e32));
        Assert.That(e512, Is.LessThan(0.8 * e128));
        Assert.That(eAll, Is.LessThan(1e-5), "one block of every key is exact");
        double samplesOnly32 = Error(32, 32), samplesOnly512 = Error(32, 512);
        Assert.That(samplesOnly512, Is.LessThan(samplesOnly32), "more samples, same blocks");
    }

    // ------------------------------------------------------------------ plan and determinism

    [Test]
    public void PlanIsDeterministicFromTheSeed()
    {
        var config = new HyperAttentionConfig { Causal = true, MinSeqLen = 64, BlockSize = 16, SampleSize = 8 };
        var a = HyperAttentionPlan.Create(config, 1000, 3, 16, seed: 42);
        var b = HyperAttentionPlan.Create(config, 1000, 3, 16, seed: 42);
        var c = HyperAttentionPlan.Create(config, 1000, 3, 16, seed: 43);
        Assert.That(a.Hyperplanes.ToArray(), Is.EqualTo(b.Hyperplanes.ToArray()));
        Assert.That(a.Hyperplanes.ToArray(), Is.Not.EqualTo(c.Hyperplanes.ToArray()));
        Assert.That(a.Rectangles, Is.EqualTo(b.Rectangles));
        bool differs = false;
        for (int r = 0; r < a.Rectangles.Count; r++)
            for (int h = 0; h < 3; h++)
            {
                Assert.That(a.Samples(r, h).ToArray(), Is.EqualTo(b.Samples(r, h).ToArray()));
                differs |= !a.Samples(r, h).SequenceEqual(c.Samples(r, h));
                foreach (int s in a.Samples(r, h)) Assert.That(s, Is.InRange(0, a.Rectangles[r].KeyCount - 1));
            }
        Assert.That(differs, "another seed draws other samples");
    }

    [Test]
    public void CausalRecursionHalvesDownToMinSeqLen()
    {
        // 131072 tokens, min_seq 4096: 32 exact 4096-token diagonal blocks and 31 sorted
        // rectangles (1 + 2 + 4 + 8 + 16), the smallest 4096 queries on 4096 keys.
        var plan = HyperAttentionPlan.Create(new HyperAttentionConfig { Causal = true }, 131072, 1, 64, seed: 1);
        Assert.That(plan.Diagonals, Has.Count.EqualTo(32));
        Assert.That(plan.Diagonals.All(d => d.QueryCount == 4096));
        Assert.That(plan.Rectangles, Has.Count.EqualTo(31));
        Assert.That(plan.Rectangles.All(r => r.Kind == HyperAttentionNodeKind.Sorted));
        Assert.That(plan.Rectangles.Min(r => r.QueryCount), Is.EqualTo(4096));
        // An odd length: halves of ⌈n/2⌉ and ⌊n/2⌋, the rectangle with fewer queries than keys.
        var odd = HyperAttentionPlan.Create(new HyperAttentionConfig { Causal = true, MinSeqLen = 4 }, 11, 1, 4, seed: 1);
        Assert.That(odd.Rectangles[0], Is.EqualTo(new HyperAttentionNode(HyperAttentionNodeKind.Sorted, 6, 5, 0, 6)));
        Assert.That(odd.Diagonals.Sum(d => d.QueryCount), Is.EqualTo(11));
    }

    [Test]
    public void FastIsDeterministic()
    {
        const int B = 1, T = 700, NH = 2, hs = 32, C = NH * hs;
        var plan = HyperAttentionPlan.Create(Small(causal: true, block: 32, samples: 40, minSeq: 64), T, NH, hs, seed: 11);
        float[] qkv = Check.Random(B * T * 3 * C, 111);
        float[] dout = Check.Random(B * T * C, 112);
        float[] Run()
        {
            var output = new float[B * T * C];
            var lse = new float[B * NH * T];
            var dqkv = new float[qkv.Length];
            Cpu.HyperAttention.Forward(output, lse, qkv, plan, B, T, C, NH);
            Cpu.HyperAttention.Backward(dqkv, dout, qkv, output, lse, plan, B, T, C, NH);
            return [.. output, .. lse, .. dqkv];
        }
        float[] first = Run();
        Assert.That(Run(), Is.EqualTo(first), "bit-identical results");
    }

    [Test]
    public void UsesNoDenseMask()
    {
        // An n×m mask would be 16384·256 floats = 16 MiB. The kernels keep bucket ids and sort
        // orders (O(n) ints), the m gathered k, v rows and, in the backward, 16 partial sums of
        // the samples' dK, dV (16·m·hs·2 floats = 2 MiB at m = 256, hs = 64) whatever n is.
        const int T = 16384, NH = 1, hs = 64, C = hs;
        var plan = HyperAttentionPlan.Create(new HyperAttentionConfig { MinSeqLen = 1024 }, T, NH, hs, seed: 12);
        float[] qkv = Check.Random(T * 3 * C, 121);
        float[] dout = Check.Random(T * C, 122);
        var output = new float[T * C];
        var lse = new float[T];
        var dqkv = new float[qkv.Length];
        Cpu.HyperAttention.Forward(output, lse, qkv, plan, 1, T, C, NH); // warm: scratch allocated
        Cpu.HyperAttention.Backward(dqkv, dout, qkv, output, lse, plan, 1, T, C, NH);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        Cpu.HyperAttention.Forward(output, lse, qkv, plan, 1, T, C, NH);
        Cpu.HyperAttention.Backward(dqkv, dout, qkv, output, lse, plan, 1, T, C, NH);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.That(allocated, Is.LessThan(4L << 20), "bytes allocated by a warm forward + backward");
    }

    [Test]
    public void RejectsAPlanForOtherDimensions()
    {
        var plan = HyperAttentionPlan.Create(new HyperAttentionConfig(), 10, 2, 4, seed: 1);
        var qkv = new float[10 * 3 * 8];
        Assert.Throws<ArgumentException>(() => Cpu.HyperAttention.Forward(new float[80], new float[20], qkv, plan, 1, 10, 8, 1));
        Assert.Throws<ArgumentException>(() => Ref.HyperAttention.Forward<float>(new float[88], new float[22], new float[11 * 24], plan, 1, 11, 8, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => HyperAttentionPlan.Create(new HyperAttentionConfig { BlockSize = 0 }, 10, 2, 4, seed: 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new HyperAttentionPlan(Small(false, minSeq: 1), 10, 1, 4, new float[12], (_, _) => [10]));
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>Reference (double) and fast (float) hyper attention against exact attention on the same inputs.</summary>
    private static void CompareWithExact(HyperAttentionPlan plan, int B, int T, int C, int NH, int seed)
    {
        double[] qkv = Check.RandomDouble(B * T * 3 * C, seed, 2.0);
        var expected = new double[B * T * C];
        var expectedLse = new double[B * NH * T];
        Ref.Attention.Forward<double>(expected, expectedLse, qkv, B, T, C, NH, plan.Config.Causal);
        var output = new double[B * T * C];
        var lse = new double[B * NH * T];
        Ref.HyperAttention.Forward<double>(output, lse, qkv, plan, B, T, C, NH);
        for (int i = 0; i < output.Length; i++) Assert.That(output[i], Is.EqualTo(expected[i]).Within(1e-12), $"out[{i}]");
        for (int i = 0; i < lse.Length; i++) Assert.That(lse[i], Is.EqualTo(expectedLse[i]).Within(1e-12), $"lse[{i}]");

        // The exact backward is then the exact attention's backward.
        double[] dout = Check.RandomDouble(B * T * C, seed + 1);
        var dExpected = new double[qkv.Length];
        Ref.Attention.Backward<double>(dExpected, dout, qkv, expected, expectedLse, B, T, C, NH, plan.Config.Causal);
        var dActual = new double[qkv.Length];
        Ref.HyperAttention.Backward<double>(dActual, dout, qkv, output, lse, plan, B, T, C, NH);
        for (int i = 0; i < dActual.Length; i++) Assert.That(dActual[i], Is.EqualTo(dExpected[i]).Within(1e-11), $"dqkv[{i}]");

        float[] qkvF = Check.ToFloat(qkv);
        var fast = new float[B * T * C];
        var fastLse = new float[B * NH * T];
        Cpu.HyperAttention.Forward(fast, fastLse, qkvF, plan, B, T, C, NH);
        Check.Close("fast out", fast, Check.ToFloat(expected), OutputRtol);
        Check.Close("fast lse", fastLse, Check.ToFloat(expectedLse), LseRtol);
        var dFast = new float[qkv.Length];
        Cpu.HyperAttention.Backward(dFast, Check.ToFloat(dout), qkvF, fast, fastLse, plan, B, T, C, NH);
        Check.Close("fast dqkv", dFast, Check.ToFloat(dExpected), GradRtol);
    }

    /// <summary>Fast forward and backward (into a pre-filled gradient) against the float reference.</summary>
    private static void CompareFastWithReference(HyperAttentionPlan plan, int B, int T, int NH, int hs, int seed)
    {
        int C = NH * hs;
        float[] qkv = Check.Random(B * T * 3 * C, seed, 2f);
        float[] dout = Check.Random(B * T * C, seed + 1);
        var expected = new float[B * T * C];
        var expectedLse = new float[B * NH * T];
        Ref.HyperAttention.Forward<float>(expected, expectedLse, qkv, plan, B, T, C, NH);
        var output = new float[B * T * C];
        var lse = new float[B * NH * T];
        output.AsSpan().Fill(float.NaN); // every element must be written
        Cpu.HyperAttention.Forward(output, lse, qkv, plan, B, T, C, NH);
        Check.Close("out", output, expected, OutputRtol);
        Check.Close("lse", lse, expectedLse, LseRtol);

        float[] prior = Check.Random(qkv.Length, seed + 2, 0.1f);
        var dExpected = (float[])prior.Clone();
        Ref.HyperAttention.Backward<float>(dExpected, dout, qkv, expected, expectedLse, plan, B, T, C, NH);
        var dActual = (float[])prior.Clone();
        Cpu.HyperAttention.Backward(dActual, dout, qkv, expected, expectedLse, plan, B, T, C, NH);
        Check.Close("dqkv", dActual, dExpected, GradRtol);
    }

    /// <summary>The buckets in sort order: byKey[s] = the bucket whose sort key is s.</summary>
    private static int[] BucketsInSortOrder(HyperAttentionConfig config)
    {
        var plan = HyperAttentionPlan.Create(config, 1, 1, 1, seed: 0);
        var byKey = new int[plan.Buckets];
        for (int bucket = 0; bucket < plan.Buckets; bucket++) byKey[plan.SortKey(bucket)] = bucket;
        return byKey;
    }

    /// <summary>‖a − b‖_F / ‖b‖_F.</summary>
    private static double RelativeError(float[] a, float[] b)
    {
        double num = 0, den = 0;
        for (int i = 0; i < a.Length; i++)
        {
            num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
            den += (double)b[i] * b[i];
        }
        return Math.Sqrt(num / den);
    }

    /// <summary>
    /// qkv[1,T,3C] for one head: q and k around one of a few random centres (unit normal
    /// entries, so |centre|² ≈ C and same-cluster scores ≈ √C: peaked attention), noise 0.3;
    /// v standard normal.
    /// </summary>
    private static float[] Clustered(int T, int C, int clusters, int seed)
    {
        var rng = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var centres = new double[clusters * C];
        for (int i = 0; i < centres.Length; i++) centres[i] = Normal();
        var qkv = new float[T * 3 * C];
        for (int t = 0; t < T; t++)
        {
            int z = rng.Next(clusters);
            for (int c = 0; c < C; c++)
            {
                qkv[t * 3 * C + c] = (float)(centres[z * C + c] + 0.3 * Normal());
                qkv[t * 3 * C + C + c] = (float)(centres[z * C + c] + 0.3 * Normal());
                qkv[t * 3 * C + 2 * C + c] = (float)Normal();
            }
        }
        return qkv;
    }
}
