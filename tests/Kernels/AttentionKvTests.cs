using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// Attention over a key/value cache (decoding): the reference against the full causal attention
/// it must reproduce when a sequence is fed in pieces; the CPU kernel against the reference on odd
/// head sizes, short and long caches (the key-chunk split), prefill and single-token steps, with
/// the cache's unwritten rows poisoned to prove they are never read.
/// </summary>
public class AttentionKvTests
{
    // Same reasoning as AttentionTests' forward tolerance: fp32 dots of ≤ hs terms in another
    // order, a 1-ulp exp2 per probability, and an output that is a convex combination of values
    // (|v| ≤ 1 here), so the CPU kernel lands within ~1e-6 of the reference; the key-chunk merge
    // adds one rescale per chunk (another few ulp). A wrong position, mask or chunk boundary moves
    // entries by 1e-2 or more.
    private const double Rtol = 1e-5;

    /// <summary>qkv[B,Tq,3C] uniform in [-1, 1).</summary>
    private static float[] Qkv(int B, int Tq, int C, int seed) => Check.Random(B * Tq * 3 * C, seed);

    /// <summary>
    /// Caches whose rows before <paramref name="pos"/> hold random earlier context and whose rows
    /// from pos on hold NaN: a kernel that reads a row it has not written returns NaN.
    /// </summary>
    private static (float[] K, float[] V) Caches(int B, int pos, int maxT, int C, int seed)
    {
        float[] k = Check.Random(B * maxT * C, seed), v = Check.Random(B * maxT * C, seed + 1);
        for (int b = 0; b < B; b++)
            for (int t = pos; t < maxT; t++)
                for (int c = 0; c < C; c++)
                {
                    k[(b * maxT + t) * C + c] = float.NaN;
                    v[(b * maxT + t) * C + c] = float.NaN;
                }
        return (k, v);
    }

    [TestCase(1, 9, 6, 2, new[] { 9 })]
    [TestCase(2, 12, 12, 3, new[] { 1, 1, 4, 1, 5 })]
    [TestCase(3, 20, 8, 1, new[] { 5, 1, 1, 1, 1, 1, 2, 1, 7 })]
    public void ReferenceFedInPiecesEqualsFullCausalAttention(int B, int T, int C, int NH, int[] pieces)
    {
        // The whole sequence at once through the training attention...
        float[] full = Qkv(B, T, C, 1);
        var expected = new float[B * T * C];
        Ref.Attention.Forward<float>(expected, new float[B * NH * T], full, B, T, C, NH, causal: true);

        // ...and the same tokens fed piece by piece through the cache: same dots in the same order,
        // so the rows agree exactly.
        var k = new float[B * T * C];
        var v = new float[B * T * C];
        var actual = new float[B * T * C];
        int pos = 0;
        foreach (int tq in pieces)
        {
            var qkv = new float[B * tq * 3 * C];
            var o = new float[B * tq * C];
            for (int b = 0; b < B; b++)
                full.AsSpan((b * T + pos) * 3 * C, tq * 3 * C).CopyTo(qkv.AsSpan(b * tq * 3 * C));
            Ref.Attention.KvForward<float>(o, k, v, qkv, B, tq, pos, T, C, NH);
            for (int b = 0; b < B; b++)
                o.AsSpan(b * tq * C, tq * C).CopyTo(actual.AsSpan((b * T + pos) * C));
            pos += tq;
        }
        Assert.That(pos, Is.EqualTo(T));
        Assert.That(actual, Is.EqualTo(expected));
        // The cache now holds every token's k and v.
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
                for (int c = 0; c < C; c++)
                {
                    Assert.That(k[(b * T + t) * C + c], Is.EqualTo(full[(b * T + t) * 3 * C + C + c]));
                    Assert.That(v[(b * T + t) * C + c], Is.EqualTo(full[(b * T + t) * 3 * C + 2 * C + c]));
                }
    }

    /// <summary>
    /// (B, Tq, pos, maxT, C, NH): hs = 1, 7, 16, 24 (a vector and a tail), 64 (the model's head
    /// size), 80 (five vectors), 100 (tails everywhere); single steps and prefills; fewer than 8
    /// query rows over more than 64 keys (split into 64-key chunks, merged; in the (1, 4, 62) shape
    /// the first two queries end before the last chunk, which is empty for them) and 8 or more (one
    /// item per row); shapes big enough to go parallel; pos = 0 (the empty cache) and a last
    /// position = maxT − 1.
    /// </summary>
    private static readonly (int B, int Tq, int Pos, int MaxT, int C, int NH)[] Shapes =
    [
        (1, 1, 0, 1, 3, 3), (1, 1, 0, 5, 7, 1), (2, 3, 4, 9, 14, 2), (1, 7, 0, 7, 16, 1), (3, 1, 30, 40, 48, 2),
        (1, 1, 63, 64, 128, 2), (2, 5, 17, 33, 160, 2), (1, 2, 37, 40, 100, 1), (1, 33, 0, 40, 192, 3),
        (1, 1, 700, 701, 64, 1), (1, 1, 1000, 1100, 256, 4), (1, 3, 600, 700, 80, 1), (2, 1, 1023, 1024, 256, 4),
        (1, 16, 520, 600, 64, 1), (1, 4, 62, 80, 48, 2), (1, 1, 100, 128, 100, 1),
    ];

    private static IEnumerable<TestCaseData> Cases() =>
        Shapes.Select(s => new TestCaseData(s.B, s.Tq, s.Pos, s.MaxT, s.C, s.NH)
            .SetName($"KvForward B={s.B} Tq={s.Tq} pos={s.Pos} maxT={s.MaxT} C={s.C} NH={s.NH}"));

    [TestCaseSource(nameof(Cases))]
    public void CpuMatchesReference(int B, int Tq, int pos, int maxT, int C, int NH)
    {
        float[] qkv = Qkv(B, Tq, C, 3);
        var (k0, v0) = Caches(B, pos, maxT, C, 4);
        float[] kRef = (float[])k0.Clone(), vRef = (float[])v0.Clone(), k = (float[])k0.Clone(), v = (float[])v0.Clone();
        var expected = new float[B * Tq * C];
        Ref.Attention.KvForward<float>(expected, kRef, vRef, qkv, B, Tq, pos, maxT, C, NH);
        // Garbage in the output: the kernel must overwrite it.
        float[] actual = Check.Random(B * Tq * C, 5, 100f);
        Cpu.Attention.KvForward(actual, k, v, qkv, B, Tq, pos, maxT, C, NH);
        Check.Close("out", actual, expected, Rtol);
        // The caches are written identically (rows pos..pos+Tq−1), and nothing else is touched.
        Assert.That(k, Is.EqualTo(kRef), "kCache");
        Assert.That(v, Is.EqualTo(vRef), "vCache");
    }

    [Test]
    public void CpuIsDeterministic()
    {
        // A split, parallel shape: the chunk partials merge in a fixed order whatever the timing.
        const int B = 1, Tq = 1, pos = 900, maxT = 1000, C = 128, NH = 2;
        float[] qkv = Qkv(B, Tq, C, 6);
        var (k, v) = Caches(B, pos, maxT, C, 7);
        var a = new float[B * Tq * C];
        var b = new float[B * Tq * C];
        Cpu.Attention.KvForward(a, k, v, qkv, B, Tq, pos, maxT, C, NH);
        Cpu.Attention.KvForward(b, k, v, qkv, B, Tq, pos, maxT, C, NH);
        Assert.That(a, Is.EqualTo(b));
    }

    [Test]
    public void RejectsTokensPastTheCache()
    {
        const int B = 1, C = 8, NH = 2, maxT = 4;
        var k = new float[B * maxT * C];
        var v = new float[B * maxT * C];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() =>
            Cpu.Attention.KvForward(new float[2 * C], k, v, new float[2 * 3 * C], B, 2, 3, maxT, C, NH));
        Assert.That(e!.Message, Does.Contain("4 positions"));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            Ref.Attention.KvForward<float>(new float[2 * C], k, v, new float[2 * 3 * C], B, 2, 3, maxT, C, NH));
        // A cache of the wrong length is a shape error, not a silent overrun.
        Assert.Throws<ArgumentException>(() =>
            Cpu.Attention.KvForward(new float[C], new float[C], v, new float[3 * C], B, 1, 0, maxT, C, NH));
    }
}
