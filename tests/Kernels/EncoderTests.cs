using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// Token + position embedding: CPU against the reference (bit-exact both ways: the same single
/// add per element, and the backward adds rows in the same (b,t) order), accumulation with
/// repeated tokens, finite differences on the reference, bad token ids.
/// </summary>
public class EncoderTests
{
    // (B, T, C, V): C = 1 and 7 are below one vector, 17 one past it, 1025 64 vectors plus one;
    // V = 3 with B·T = 256 repeats every token ~85 times (a partition by token would race);
    // 4×64×384 is the benchmark's width and runs on two threads in both directions.
    private static readonly object[] Shapes =
    [
        new[] { 1, 1, 1, 1 },
        new[] { 2, 3, 7, 11 },
        new[] { 3, 5, 16, 4 },
        new[] { 2, 7, 17, 5 },
        new[] { 1, 1, 1025, 2 },
        new[] { 4, 64, 384, 3 },
    ];

    [TestCaseSource(nameof(Shapes))]
    public void ForwardMatchesReferenceExactly(int B, int T, int C, int V)
    {
        int maxT = T + 2; // wpe has more rows than the sequence uses
        int[] tokens = Tokens(B * T, V, 1);
        float[] wte = Check.Random(V * C, 2), wpe = Check.Random(maxT * C, 3);
        var expected = new float[B * T * C];
        var actual = new float[B * T * C];
        Ref.Encoder.Forward<float>(expected, tokens, wte, wpe, B, T, C);
        Cpu.Encoder.Forward(actual, tokens, wte, wpe, B, T, C);
        Check.Close("out", actual, expected, rtol: 0, atol: 0);
        Assert.That(actual[C * T - 1], Is.EqualTo(wte[tokens[T - 1] * C + C - 1] + wpe[T * C - 1]), "last channel of row (0, T-1)");
    }

    [TestCaseSource(nameof(Shapes))]
    public void BackwardAccumulatesLikeReference(int B, int T, int C, int V)
    {
        int maxT = T + 2;
        int[] tokens = Tokens(B * T, V, 4);
        float[] dout = Check.Random(B * T * C, 5);
        float[] dwte0 = Check.Random(V * C, 6), dwpe0 = Check.Random(maxT * C, 7);
        float[] dwteRef = (float[])dwte0.Clone(), dwpeRef = (float[])dwpe0.Clone();
        float[] dwte = (float[])dwte0.Clone(), dwpe = (float[])dwpe0.Clone();
        Ref.Encoder.Backward<float>(dwteRef, dwpeRef, dout, tokens, B, T, C);
        Cpu.Encoder.Backward(dwte, dwpe, dout, tokens, B, T, C);
        // Bit-exact: each thread owns whole columns and adds the rows in (b,t) order, as the reference.
        Check.Close("dwte", dwte, dwteRef, rtol: 0, atol: 0);
        Check.Close("dwpe", dwpe, dwpeRef, rtol: 0, atol: 0);
        // Rows of wpe past T receive nothing.
        Assert.That(dwpe.AsSpan(T * C).SequenceEqual(dwpe0.AsSpan(T * C)), Is.True, "dwpe rows ≥ T untouched");
    }

    [Test]
    public void ReferenceBackwardMatchesFiniteDifferences()
    {
        const int B = 2, T = 3, C = 5, V = 4, maxT = 4;
        int[] tokens = [2, 0, 2, 3, 2, 0]; // token 2 three times, token 1 never
        double[] wte = Check.RandomDouble(V * C, 8), wpe = Check.RandomDouble(maxT * C, 9), w = Check.RandomDouble(B * T * C, 10);
        var output = new double[B * T * C];
        double Loss()
        {
            Ref.Encoder.Forward<double>(output, tokens, wte, wpe, B, T, C);
            return GradCheck.Dot(output, w);
        }
        var dwte = new double[V * C];
        var dwpe = new double[maxT * C];
        Ref.Encoder.Backward<double>(dwte, dwpe, w, tokens, B, T, C);
        GradCheck.Check("dwte", wte, dwte, Loss);
        GradCheck.Check("dwpe", wpe, dwpe, Loss);
    }

    [TestCase(-1)]
    [TestCase(4)]
    public void BadTokenThrows(int token)
    {
        const int B = 1, T = 2, C = 3, V = 4;
        int[] tokens = [1, token];
        var wte = new float[V * C];
        var wpe = new float[T * C];
        var output = new float[B * T * C];
        Assert.Throws<ArgumentOutOfRangeException>(() => Ref.Encoder.Forward<float>(output, tokens, wte, wpe, B, T, C));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpu.Encoder.Forward(output, tokens, wte, wpe, B, T, C));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ref.Encoder.Backward<float>(wte, wpe, output, tokens, B, T, C));
        Assert.Throws<ArgumentOutOfRangeException>(() => Cpu.Encoder.Backward(wte, wpe, output, tokens, B, T, C));
    }

    private static int[] Tokens(int n, int V, int seed)
    {
        var rng = new Random(seed);
        var tokens = new int[n];
        for (int i = 0; i < n; i++) tokens[i] = rng.Next(V);
        return tokens;
    }
}
