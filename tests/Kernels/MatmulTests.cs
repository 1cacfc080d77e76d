using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// Matmul: every CPU variant against the float reference on odd shapes (tails of the 14×32
/// micro-tile, of the 16-wide transposes and of the K blocks), with and without bias, the backward's
/// accumulate semantics on pre-filled gradients, the packed GEMM's transpose/stride/accumulate
/// combinations, determinism, and the reference backward by finite differences in double.
/// </summary>
public class MatmulTests
{
    // Inputs are uniform in [-1, 1). Each output is a sum of K products, which the variants add in a
    // different order (FMA chains, K blocks) from the reference's sequential float loop. Each step of
    // a float sum rounds by ε·|running sum|, so over K steps the two differ by a random walk of about
    // sqrt(K)·ε·|sum|, i.e. sqrt(K)·ε ≈ 32·6e-8 ≈ 2e-6 relative to the largest output (the scale
    // Check.Close normalises by) at K = 1025; the largest error observed here is 1.1e-6 of scale
    // (dweight, K = N = 1025). 2e-5 is 10× that estimate, while a wrong index, a dropped tail or a
    // missed accumulation (an error of at least one term, ≥ 1e-2 of scale) still fails.
    private const double Rtol = 2e-5;
    private const double Atol = 1e-6;

    /// <summary>(N, C, OC): 1 and 7 everywhere, 1025 = 64·16 + 1 in each position, tails of MR = 14 and NR = 32.</summary>
    private static readonly (int N, int C, int OC)[] Shapes =
    [
        (1, 1, 1), (1, 7, 1025), (7, 1, 7), (7, 13, 33), (1025, 65, 17), (3, 1025, 7), (15, 33, 31),
        (28, 64, 64), (29, 300, 97), (130, 260, 65),
    ];

    private static IEnumerable<TestCaseData> ForwardCases()
    {
        foreach (Cpu.MatmulVariant v in Enum.GetValues<Cpu.MatmulVariant>())
            foreach (var (n, c, oc) in Shapes)
                foreach (bool bias in new[] { true, false })
                    yield return new TestCaseData(v, n, c, oc, bias).SetName($"Forward {v} N={n} C={c} OC={oc} bias={bias}");
    }

    private static IEnumerable<TestCaseData> BackwardCases()
    {
        foreach (Cpu.MatmulVariant v in Enum.GetValues<Cpu.MatmulVariant>())
            foreach (var (n, c, oc) in Shapes)
                foreach (bool bias in new[] { true, false })
                    foreach (bool dinp in new[] { true, false })
                        yield return new TestCaseData(v, n, c, oc, bias, dinp).SetName($"Backward {v} N={n} C={c} OC={oc} dbias={bias} dinp={dinp}");
    }

    [TestCaseSource(nameof(ForwardCases))]
    public void ForwardMatchesReference(Cpu.MatmulVariant variant, int N, int C, int OC, bool withBias)
    {
        float[] inp = Check.Random(N * C, 1), weight = Check.Random(OC * C, 2);
        float[] bias = withBias ? Check.Random(OC, 3) : [];
        var expected = new float[N * OC];
        Ref.Matmul.Forward<float>(expected, inp, weight, bias, N, C, OC);
        // Garbage in the output buffer: the forward must overwrite, not accumulate.
        float[] actual = Check.Random(N * OC, 4, 100f);
        Cpu.Matmul.Forward(variant, actual, inp, weight, bias, N, C, OC);
        Check.Close($"out ({variant})", actual, expected, Rtol, Atol);
    }

    [TestCaseSource(nameof(BackwardCases))]
    public void BackwardAccumulatesLikeReference(Cpu.MatmulVariant variant, int N, int C, int OC, bool withBias, bool withDinp)
    {
        float[] inp = Check.Random(N * C, 5), weight = Check.Random(OC * C, 6), dout = Check.Random(N * OC, 7);
        // Pre-filled gradients: both kernels must add to them.
        float[] dinp0 = withDinp ? Check.Random(N * C, 8) : [];
        float[] dweight0 = Check.Random(OC * C, 9), dbias0 = withBias ? Check.Random(OC, 10) : [];
        float[] dinpRef = (float[])dinp0.Clone(), dweightRef = (float[])dweight0.Clone(), dbiasRef = (float[])dbias0.Clone();
        float[] dinp = (float[])dinp0.Clone(), dweight = (float[])dweight0.Clone(), dbias = (float[])dbias0.Clone();
        Ref.Matmul.Backward<float>(dinpRef, dweightRef, dbiasRef, dout, inp, weight, N, C, OC);
        Cpu.Matmul.Backward(variant, dinp, dweight, dbias, dout, inp, weight, N, C, OC);
        Check.Close($"dinp ({variant})", dinp, dinpRef, Rtol, Atol);
        Check.Close($"dweight ({variant})", dweight, dweightRef, Rtol, Atol);
        Check.Close($"dbias ({variant})", dbias, dbiasRef, Rtol, Atol);
    }

    [Test]
    public void ReferenceBackwardAccumulates()
    {
        const int N = 3, C = 4, OC = 5;
        double[] inp = Check.RandomDouble(N * C, 11), weight = Check.RandomDouble(OC * C, 12), dout = Check.RandomDouble(N * OC, 13);
        double[] dinp1 = new double[N * C], dweight1 = new double[OC * C], dbias1 = new double[OC];
        Ref.Matmul.Backward<double>(dinp1, dweight1, dbias1, dout, inp, weight, N, C, OC);
        double[] dinp2 = Check.RandomDouble(N * C, 14), dweight2 = Check.RandomDouble(OC * C, 15), dbias2 = Check.RandomDouble(OC, 16);
        double[] d0 = (double[])dinp2.Clone(), w0 = (double[])dweight2.Clone(), b0 = (double[])dbias2.Clone();
        Ref.Matmul.Backward<double>(dinp2, dweight2, dbias2, dout, inp, weight, N, C, OC);
        for (int i = 0; i < dinp2.Length; i++) Assert.That(dinp2[i], Is.EqualTo(d0[i] + dinp1[i]).Within(1e-12), "dinp");
        for (int i = 0; i < dweight2.Length; i++) Assert.That(dweight2[i], Is.EqualTo(w0[i] + dweight1[i]).Within(1e-12), "dweight");
        for (int i = 0; i < dbias2.Length; i++) Assert.That(dbias2[i], Is.EqualTo(b0[i] + dbias1[i]).Within(1e-12), "dbias");
    }

    [Test]
    public void ReferenceBackwardMatchesFiniteDifferences()
    {
        const int N = 4, C = 5, OC = 3;
        double[] inp = Check.RandomDouble(N * C, 17), weight = Check.RandomDouble(OC * C, 18);
        double[] bias = Check.RandomDouble(OC, 19), w = Check.RandomDouble(N * OC, 20);
        var output = new double[N * OC];
        double Loss()
        {
            Ref.Matmul.Forward<double>(output, inp, weight, bias, N, C, OC);
            return GradCheck.Dot(output, w);
        }
        // dLoss/dout = w, so the backward with dout = w gives the analytic gradients.
        double[] dinp = new double[N * C], dweight = new double[OC * C], dbias = new double[OC];
        Ref.Matmul.Backward<double>(dinp, dweight, dbias, w, inp, weight, N, C, OC);
        GradCheck.Check("dinp", inp, dinp, Loss);
        GradCheck.Check("dweight", weight, dweight, Loss);
        GradCheck.Check("dbias", bias, dbias, Loss);
    }

    private static IEnumerable<TestCaseData> GemmCases()
    {
        // (M, N, K): tails of MR (14, and the 4-row strips under it) and NR (32), K past one and
        // several K blocks (≤ 512 each), N past one column strip (NC = 4096) serially and over
        // workers (≥ 2^20 multiply-adds), a single row and a single column.
        var shapes = new[] { (1, 1, 1), (13, 31, 15), (15, 33, 17), (29, 65, 1100), (1, 4100, 3), (70, 1, 520), (33, 4130, 17) };
        foreach (var (m, n, k) in shapes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    foreach (bool acc in new[] { false, true })
                        yield return new TestCaseData(m, n, k, ta, tb, acc).SetName($"Gemm M={m} N={n} K={k} transA={ta} transB={tb} accumulate={acc}");
    }

    [TestCaseSource(nameof(GemmCases))]
    public void GemmMatchesDoubleLoops(int M, int N, int K, bool transA, bool transB, bool accumulate)
    {
        // Strides larger than the rows (sub-matrix views), padding filled with NaN so reading it shows.
        int lda = (transA ? M : K) + 3, ldb = (transB ? K : N) + 5, ldc = N + 2;
        float[] a = Strided(transA ? K : M, transA ? M : K, lda, 21);
        float[] b = Strided(transB ? N : K, transB ? K : N, ldb, 22);
        float[] c = Strided(M, N, ldc, 23);
        float[] bias = accumulate ? [] : Check.Random(N, 24);
        var expected = (float[])c.Clone();
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++)
            {
                double s = accumulate ? c[i * ldc + j] : bias[j];
                for (int k = 0; k < K; k++)
                    s += (double)(transA ? a[k * lda + i] : a[i * lda + k]) * (transB ? b[j * ldb + k] : b[k * ldb + j]);
                expected[i * ldc + j] = (float)s;
            }
        Cpu.Gemm.Run(transA, transB, M, N, K, a, lda, b, ldb, c, ldc, accumulate, bias);
        // Against double sums only the kernel's own rounding is left (~sqrt(K)·ε·|sum|), well inside Rtol.
        Check.Close("C", Dense(c, M, N, ldc), Dense(expected, M, N, ldc), Rtol, Atol);
        for (int i = 0; i < c.Length; i++)
            if (i % ldc >= N) Assert.That(float.IsNaN(c[i]), $"padding of C written at {i}");
    }

    private static float[] Dense(float[] m, int rows, int cols, int ld)
    {
        var d = new float[rows * cols];
        for (int r = 0; r < rows; r++) Array.Copy(m, r * ld, d, r * cols, cols);
        return d;
    }

    private static float[] Strided(int rows, int cols, int ld, int seed)
    {
        float[] dense = Check.Random(rows * cols, seed);
        var m = new float[(rows - 1) * ld + cols];
        Array.Fill(m, float.NaN);
        for (int r = 0; r < rows; r++) Array.Copy(dense, r * cols, m, r * ld, cols);
        return m;
    }

    [Test]
    public void PackedIsDeterministicAndIndependentOfThreadCount()
    {
        // Big enough to split over workers and to take several K blocks in every product.
        const int N = 300, C = 520, OC = 130;
        float[] inp = Check.Random(N * C, 25), weight = Check.Random(OC * C, 26), bias = Check.Random(OC, 27), dout = Check.Random(N * OC, 28);
        (float[] Out, float[] Dinp, float[] Dweight, float[] Dbias) Run()
        {
            var o = new float[N * OC];
            float[] dx = new float[N * C], dw = new float[OC * C], db = new float[OC];
            Cpu.Matmul.Forward(o, inp, weight, bias, N, C, OC);
            Cpu.Matmul.Backward(dx, dw, db, dout, inp, weight, N, C, OC);
            return (o, dx, dw, db);
        }
        var first = Run();
        var second = Run();
        int saved = Cpu.CpuParallel.Threads;
        (float[] Out, float[] Dinp, float[] Dweight, float[] Dbias) serial;
        try
        {
            Cpu.CpuParallel.Threads = 1;
            serial = Run();
        }
        finally
        {
            Cpu.CpuParallel.Threads = saved;
        }
        foreach (var other in new[] { second, serial })
        {
            Assert.That(other.Out, Is.EqualTo(first.Out), "out");
            Assert.That(other.Dinp, Is.EqualTo(first.Dinp), "dinp");
            Assert.That(other.Dweight, Is.EqualTo(first.Dweight), "dweight");
        }
        Assert.That(second.Dbias, Is.EqualTo(first.Dbias), "dbias");
    }

    [Test]
    public void WrongShapesThrow()
    {
        var x = new float[6];
        var w = new float[6];
        Assert.Throws<ArgumentException>(() => Cpu.Matmul.Forward(new float[5], x, w, [], 2, 3, 2), "output too short");
        Assert.Throws<ArgumentException>(() => Cpu.Matmul.Forward(new float[4], x, w, new float[3], 2, 3, 2), "bias length");
        Assert.Throws<ArgumentException>(() => Ref.Matmul.Forward<float>(new float[4], x, new float[5], [], 2, 3, 2), "weight too short");
        Assert.Throws<ArgumentException>(() => Cpu.Matmul.Backward(new float[5], new float[6], [], new float[4], x, w, 2, 3, 2), "dinp length");
        Assert.Throws<ArgumentException>(() => Cpu.Gemm.Run(false, false, 2, 2, 2, new float[3], 2, new float[4], 2, new float[4], 2, false), "A too short");
    }
}
