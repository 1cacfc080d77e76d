using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// The few-row matmul (decoding's matrix-vector products) against the reference: N = 1..4 rows,
/// C around the 16-wide vectors (1, 7, 16, 33, 1025), OC around the 4-row blocks and the split over
/// the cores (1, 3, 5, 7, 1025, and shapes big enough to go parallel), with and without bias.
/// </summary>
public class MatmulGemvTests
{
    // As in MatmulTests: each output is a sum of C products in another order than the reference's
    // sequential loop (16 partial sums, then a horizontal add), ~√C·ε·|term| apart, far below 2e-5
    // of the largest output; a dropped tail or a wrong row is an error of a whole term (≥ 1e-2).
    private const double Rtol = 2e-5;
    private const double Atol = 1e-6;

    private static readonly (int C, int OC)[] Shapes =
    [
        (1, 1), (1, 7), (7, 1), (7, 5), (16, 3), (33, 1025), (1025, 7), (1025, 65), (384, 1152), (1536, 385), (100, 1031),
    ];

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var (c, oc) in Shapes)
            foreach (int n in new[] { 1, 2, 3, 4, 5, 9 }) // 5, 9: more than one group of four rows (AVX2 sends up to 64 rows here)
                foreach (bool bias in new[] { true, false })
                    yield return new TestCaseData(n, c, oc, bias).SetName($"Gemv N={n} C={c} OC={oc} bias={bias}");
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(int N, int C, int OC, bool withBias)
    {
        float[] inp = Check.Random(N * C, 1), weight = Check.Random(OC * C, 2);
        float[] bias = withBias ? Check.Random(OC, 3) : [];
        var expected = new float[N * OC];
        Ref.Matmul.Forward<float>(expected, inp, weight, bias, N, C, OC);
        // Garbage in the output: the kernel must overwrite, not accumulate.
        float[] actual = Check.Random(N * OC, 4, 100f);
        Cpu.MatmulGemv.Forward(actual, inp, weight, bias, N, C, OC);
        Check.Close("out", actual, expected, Rtol, Atol);
    }

    [TestCase(1)]
    [TestCase(4)]
    [TestCase(5)]
    [TestCase(13)]
    [TestCase(65)]
    public void MatmulForwardDispatchesByRows(int N)
    {
        // The default forward takes the GEMV path up to MaxRows rows and the packed GEMM beyond;
        // either way the answer is the reference's.
        const int C = 300, OC = 257;
        float[] inp = Check.Random(N * C, 5), weight = Check.Random(OC * C, 6), bias = Check.Random(OC, 7);
        var expected = new float[N * OC];
        Ref.Matmul.Forward<float>(expected, inp, weight, bias, N, C, OC);
        var actual = new float[N * OC];
        Cpu.Matmul.Forward(actual, inp, weight, bias, N, C, OC);
        Check.Close("out", actual, expected, Rtol, Atol);
        if (N <= Cpu.MatmulGemv.MaxRows)
        {
            var gemv = new float[N * OC];
            Cpu.MatmulGemv.Forward(gemv, inp, weight, bias, N, C, OC);
            Assert.That(actual, Is.EqualTo(gemv), "the default forward is the GEMV for few rows");
        }
    }

    [Test]
    public void EmptyShapesAndBadLengths()
    {
        // C = 0: every output is its bias.
        var output = new float[2 * 3];
        Cpu.MatmulGemv.Forward(output, [], [], [1f, 2f, 3f], 2, 0, 3);
        Assert.That(output, Is.EqualTo(new[] { 1f, 2f, 3f, 1f, 2f, 3f }));
        Cpu.MatmulGemv.Forward([], [], [], [], 0, 5, 0);
        Assert.Throws<ArgumentException>(() => Cpu.MatmulGemv.Forward(new float[3], new float[4], new float[12], [], 1, 4, 4));
    }

    [Test]
    public void IsDeterministic()
    {
        // Parallel over output ranges, each output summed by one thread in a fixed order.
        const int N = 2, C = 1536, OC = 384;
        float[] inp = Check.Random(N * C, 8), weight = Check.Random(OC * C, 9);
        var a = new float[N * OC];
        var b = new float[N * OC];
        Cpu.MatmulGemv.Forward(a, inp, weight, [], N, C, OC);
        Cpu.MatmulGemv.Forward(b, inp, weight, [], N, C, OC);
        Assert.That(a, Is.EqualTo(b));
    }
}
