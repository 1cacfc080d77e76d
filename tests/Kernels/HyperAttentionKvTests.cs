using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// HyperAttention decoding: the CPU kernel (incremental bucket order) against the reference
/// (re-sorts at every query) over sequences fed in pieces; the two limits where it must be exact
/// attention (window covering the cache, one block covering the older keys); and the state's
/// guard against being fed out of step.
/// </summary>
public class HyperAttentionKvTests
{
    // Same sums as the exact KV kernel (fp32 dots of hs terms, exp, a convex combination of values
    // with |v| ≤ 3) in a different order: measured ≤ 2e-6 of scale. A wrong block, sample or key
    // changes entries by 1e-2 or more.
    private const double Rtol = 1e-5;

    private const int B = 2, C = 24, NH = 3, MaxT = 61;

    /// <summary>Random q/k/v in [-3, 3): large enough that attention is far from uniform and buckets matter.</summary>
    private static float[] Qkv(int Tq, int seed)
    {
        var x = Check.Random(B * Tq * 3 * C, seed);
        for (int i = 0; i < x.Length; i++) x[i] *= 3;
        return x;
    }

    private static Ref.HyperAttentionKvState State(Ref.HyperAttentionConfig cfg, int seed)
    {
        var rng = new Ref.SplitMix64((ulong)seed);
        var planes = new float[cfg.LshProjections * (C / NH)];
        for (int i = 0; i < planes.Length; i++) planes[i] = (float)rng.NextNormal();
        return new Ref.HyperAttentionKvState(cfg, planes, 99, B, NH, MaxT);
    }

    /// <summary>Feeds the same pieces to two kernels with their own caches and compares every output.</summary>
    private static void Run(int[] pieces, Action<float[], float[], float[], float[], int, int> first,
        Action<float[], float[], float[], float[], int, int> second, Action<string, float[], float[]> compare)
    {
        float[] k1 = new float[B * MaxT * C], v1 = new float[B * MaxT * C], k2 = new float[B * MaxT * C], v2 = new float[B * MaxT * C];
        int pos = 0, seed = 1;
        foreach (int Tq in pieces)
        {
            var qkv = Qkv(Tq, seed++);
            float[] o1 = new float[B * Tq * C], o2 = new float[B * Tq * C];
            first(o1, k1, v1, qkv, Tq, pos);
            second(o2, k2, v2, qkv, Tq, pos);
            compare($"{Tq} token(s) at position {pos}", o1, o2);
            pos += Tq;
        }
    }

    private static readonly int[] Pieces = [5, 1, 1, 7, 1, 13, 1, 1, 20, 1, 1];

    [TestCase(4, 3, 2, 3, Ref.HyperAttentionOrder.Gray)]
    [TestCase(5, 7, 3, 1, Ref.HyperAttentionOrder.Official)]
    [TestCase(8, 0, 4, 6, Ref.HyperAttentionOrder.Gray)]
    [TestCase(1, 2, 1, 2, Ref.HyperAttentionOrder.Gray)]
    public void CpuMatchesTheReference(int block, int samples, int lshProjs, int minSeq, Ref.HyperAttentionOrder order)
    {
        var cfg = new Ref.HyperAttentionConfig { BlockSize = block, SampleSize = samples, LshProjections = lshProjs, MinSeqLen = minSeq, Order = order };
        var cpuState = State(cfg, 5);
        var refState = State(cfg, 5);
        Run(Pieces,
            (o, k, v, x, Tq, pos) => Cpu.HyperAttentionKv.Forward(o, k, v, x, cpuState, B, Tq, pos, MaxT, C, NH),
            (o, k, v, x, Tq, pos) => Ref.HyperAttentionKv.Forward<float>(o, k, v, x, refState, B, Tq, pos, MaxT, C, NH),
            (what, a, e) => Check.Close(what, a, e, Rtol));
    }

    // The two limits where decoding must be exact attention: a window of MinSeqLen keys that
    // covers the whole cache, and one block that holds every older key (every sample then falls
    // inside the query's own block and is masked).
    [TestCase(2, 3, MaxT, TestName = "IsExactWhileTheWindowCoversTheCache")]
    [TestCase(MaxT, 5, 4, TestName = "IsExactWhenOneBlockCoversTheOlderKeys")]
    public void IsExactInTheLimits(int block, int samples, int minSeq)
    {
        var state = State(new Ref.HyperAttentionConfig { BlockSize = block, SampleSize = samples, LshProjections = 3, MinSeqLen = minSeq }, 6);
        Run(Pieces,
            (o, k, v, x, Tq, pos) => Cpu.HyperAttentionKv.Forward(o, k, v, x, state, B, Tq, pos, MaxT, C, NH),
            (o, k, v, x, Tq, pos) => Cpu.Attention.KvForward(o, k, v, x, B, Tq, pos, MaxT, C, NH),
            (what, a, e) => Check.Close(what, a, e, Rtol));
    }

    [Test]
    public void SmallBlocksAreNotExact()
    {
        var state = State(new Ref.HyperAttentionConfig { BlockSize = 2, SampleSize = 2, LshProjections = 3, MinSeqLen = 2 }, 8);
        double worst = 0;
        Run(Pieces,
            (o, k, v, x, Tq, pos) => Cpu.HyperAttentionKv.Forward(o, k, v, x, state, B, Tq, pos, MaxT, C, NH),
            (o, k, v, x, Tq, pos) => Cpu.Attention.KvForward(o, k, v, x, B, Tq, pos, MaxT, C, NH),
            (_, a, e) => worst = Math.Max(worst, a.Zip(e, (p, q) => Math.Abs(p - q)).Max()));
        Assert.That(worst, Is.GreaterThan(1e-2), "a block of 2 among ~50 older keys must change some outputs");
    }

    [Test]
    public void AStateFedOutOfStepIsRefused()
    {
        var state = State(new Ref.HyperAttentionConfig { BlockSize = 2, SampleSize = 2, LshProjections = 3, MinSeqLen = 2 }, 9);
        float[] k = new float[B * MaxT * C], v = new float[B * MaxT * C], o = new float[B * C];
        Cpu.HyperAttentionKv.Forward(new float[B * 5 * C], k, v, Qkv(5, 1), state, B, 5, 0, MaxT, C, NH);
        Assert.Throws<InvalidOperationException>(() => Cpu.HyperAttentionKv.Forward(o, k, v, Qkv(1, 2), state, B, 1, 9, MaxT, C, NH));
        // Position 0 starts a new sequence and resets the state.
        Assert.DoesNotThrow(() => Cpu.HyperAttentionKv.Forward(o, k, v, Qkv(1, 3), state, B, 1, 0, MaxT, C, NH));
    }
}
