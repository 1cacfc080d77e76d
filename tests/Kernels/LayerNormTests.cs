using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// LayerNorm: the reference against finite differences (double) and a hand example; the CPU
/// kernel against the reference in float on odd shapes, accumulating, and deterministic in
/// its dweight/dbias reduction whatever the thread count.
/// </summary>
public class LayerNormTests
{
    private const float Eps = 1e-5f;

    // (N, C): C = 1 (zero variance: out = bias), 7 and 15 below one vector, 16 exactly one, 17 one
    // past, 1025 64 vectors plus one; 200×384 (the model's width) runs the forward on two threads
    // and the backward in 5 chunks; 257×1025 is 17 backward chunks (the last partial).
    private static readonly object[] Shapes =
    [
        new[] { 1, 1 }, new[] { 7, 1 }, new[] { 1, 7 }, new[] { 3, 15 }, new[] { 3, 16 }, new[] { 5, 17 },
        new[] { 7, 1025 }, new[] { 1025, 7 }, new[] { 200, 384 }, new[] { 257, 1025 },
    ];

    // Forward, normalised by max|expected| (x̂ up to ~3, times weight up to 2, plus bias): the
    // kernel sums a row in 16 lanes, the reference sequentially, so the means differ by
    // ~√C·2⁻²⁴ relative; the inputs' mean of 3 over a spread of 0.6 amplifies that 5× in x − mean.
    // Measured 4e-6 at C = 1025 (the reference's sequential sum is the worse one); 2e-5 is the
    // bound. A wrong variance (C − 1 for C) or a missing eps moves outputs by 1e-3 or more.
    private const double ForwardRtol = 2e-5;

    // Backward: dinp from per-row sums of C terms, dweight/dbias from sums over N rows grouped
    // differently (per-chunk partials, then chunk order): measured ≤ 8e-7 of the largest entry
    // up to 257×1025; 5e-6 is the bound, and a wrong formula errs by O(1).
    private const double BackwardRtol = 5e-6;

    [TestCaseSource(nameof(Shapes))]
    public void ForwardMatchesReference(int N, int C)
    {
        (float[] x, float[] w, float[] b) = Inputs(N, C, 1);
        float[] outRef = new float[N * C], meanRef = new float[N], rstdRef = new float[N];
        float[] output = new float[N * C], mean = new float[N], rstd = new float[N];
        Ref.LayerNorm.Forward<float>(outRef, meanRef, rstdRef, x, w, b, N, C, Eps);
        Cpu.LayerNorm.Forward(output, mean, rstd, x, w, b, N, C, Eps);
        Check.Close("out", output, outRef, ForwardRtol);
        Check.Close("mean", mean, meanRef, ForwardRtol);
        Check.Close("rstd", rstd, rstdRef, ForwardRtol);
    }

    [TestCaseSource(nameof(Shapes))]
    public void BackwardAccumulatesLikeReference(int N, int C)
    {
        (float[] x, float[] w, float[] b) = Inputs(N, C, 2);
        float[] output = new float[N * C], mean = new float[N], rstd = new float[N];
        Ref.LayerNorm.Forward<float>(output, mean, rstd, x, w, b, N, C, Eps);
        float[] dout = Check.Random(N * C, 3);
        float[] dinp0 = Check.Random(N * C, 4), dw0 = Check.Random(C, 5), db0 = Check.Random(C, 6);
        float[] dinpRef = (float[])dinp0.Clone(), dwRef = (float[])dw0.Clone(), dbRef = (float[])db0.Clone();
        float[] dinp = (float[])dinp0.Clone(), dw = (float[])dw0.Clone(), db = (float[])db0.Clone();
        Ref.LayerNorm.Backward<float>(dinpRef, dwRef, dbRef, dout, x, w, mean, rstd, N, C);
        Cpu.LayerNorm.Backward(dinp, dw, db, dout, x, w, mean, rstd, N, C);
        Check.Close("dinp", dinp, dinpRef, BackwardRtol);
        Check.Close("dweight", dw, dwRef, BackwardRtol);
        Check.Close("dbias", db, dbRef, BackwardRtol);
    }

    [Test]
    [NonParallelizable]
    public void BackwardSameBitsWithAnyThreadCount()
    {
        const int N = 257, C = 1025;
        (float[] x, float[] w, float[] b) = Inputs(N, C, 7);
        float[] output = new float[N * C], mean = new float[N], rstd = new float[N];
        Cpu.LayerNorm.Forward(output, mean, rstd, x, w, b, N, C, Eps);
        float[] dout = Check.Random(N * C, 8);
        float[] Run(int threads)
        {
            float[] dinp = new float[N * C], dw = Check.Random(C, 9), db = Check.Random(C, 10);
            int saved = Cpu.CpuParallel.Threads;
            try
            {
                Cpu.CpuParallel.Threads = threads;
                Cpu.LayerNorm.Backward(dinp, dw, db, dout, x, w, mean, rstd, N, C);
            }
            finally
            {
                Cpu.CpuParallel.Threads = saved;
            }
            return [.. dinp, .. dw, .. db];
        }
        float[] expected = Run(2);
        Assert.That(Run(1), Is.EqualTo(expected).AsCollection, "1 thread");
        Assert.That(Run(3), Is.EqualTo(expected).AsCollection, "3 threads");
        Assert.That(Run(2), Is.EqualTo(expected).AsCollection, "2 threads again");
    }

    [Test]
    public void ReferenceForwardByHand()
    {
        // Row [1, 2, 3, 6]: mean 3, biased variance (4 + 1 + 0 + 9)/4 = 3.5, so
        // out = (x − 3)/√(3.5 + eps)·w + b.
        double[] x = [1, 2, 3, 6], w = [1, 2, 0.5, -1], b = [0, 1, 2, 3];
        double eps = 1e-5, s = 1 / Math.Sqrt(3.5 + eps);
        var output = new double[4];
        var mean = new double[1];
        var rstd = new double[1];
        Ref.LayerNorm.Forward<double>(output, mean, rstd, x, w, b, 1, 4, eps);
        Assert.That(mean[0], Is.EqualTo(3.0).Within(1e-15));
        Assert.That(rstd[0], Is.EqualTo(s).Within(1e-15));
        Assert.That(output, Is.EqualTo(new[] { -2 * s, 1 - 2 * s, 2.0, 3 - 3 * s }).Within(1e-14));
    }

    [TestCase(3, 7)]
    [TestCase(2, 16)]
    [TestCase(1, 1)]
    public void ReferenceBackwardMatchesFiniteDifferences(int N, int C)
    {
        double[] x = Check.RandomDouble(N * C, 11, 2), w = Check.RandomDouble(C, 12), b = Check.RandomDouble(C, 13);
        for (int i = 0; i < x.Length; i++) x[i] += 1.5; // a non-zero mean
        double[] loss = Check.RandomDouble(N * C, 14);
        double[] output = new double[N * C], mean = new double[N], rstd = new double[N];
        double Loss()
        {
            Ref.LayerNorm.Forward<double>(output, mean, rstd, x, w, b, N, C, 1e-5);
            return GradCheck.Dot(output, loss);
        }
        Loss();
        double[] dinp = new double[N * C], dw = new double[C], db = new double[C];
        Ref.LayerNorm.Backward<double>(dinp, dw, db, loss, x, w, mean, rstd, N, C);
        GradCheck.Check("dinp", x, dinp, Loss);
        GradCheck.Check("dweight", w, dw, Loss);
        GradCheck.Check("dbias", b, db, Loss);
    }

    // Inputs with a mean well away from zero (3 ± 1), so a one-pass E[x²] − E[x]² would show.
    private static (float[] X, float[] Weight, float[] Bias) Inputs(int N, int C, int seed)
    {
        float[] x = Check.Random(N * C, seed);
        for (int i = 0; i < x.Length; i++) x[i] += 3f;
        return (x, Check.Random(C, seed + 100, 2f), Check.Random(C, seed + 200));
    }
}
