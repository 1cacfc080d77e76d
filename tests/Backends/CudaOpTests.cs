using Hyper.Runtime.Backends;

namespace Hyper.Tests.Backends;

/// <summary>
/// Every op of the cuda backend against the reference backend on odd shapes, every kernel-lab
/// variant included. Skipped with the reason where the library or a GPU is missing.
/// <para>
/// Each case uploads the same host arrays to both backends (gradient outputs pre-filled, so
/// accumulation is checked too), runs the op, and compares every written array by relative
/// Frobenius error. 1e-4: fp32 sums of at most a few hundred terms in a different order differ
/// by ~1e-6 relative; any indexing or masking bug gives an error of order 1. Atomics (dwte,
/// dbias) only reorder sums.
/// </para>
/// </summary>
[NonParallelizable]
public class CudaOpTests
{
    private const double Tolerance = 1e-4;
    private IBackend _cuda = null!;
    private readonly ReferenceBackend _reference = new();

    [OneTimeSetUp]
    public void Open()
    {
        if (!BackendRegistry.TryCreate("cuda", out var backend, out string reason)) Assert.Ignore(reason);
        _cuda = backend!;
    }

    [OneTimeTearDown]
    public void Close() => _cuda?.Dispose();

    private static float[] Random(long n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (long i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }

    // Runs op on a backend over buffers holding `arrays`, and returns every array afterwards.
    private static float[][] Run(IBackend be, float[][] arrays, Action<IBackend, TensorView[]> op)
    {
        var buffers = arrays.Select(a => be.Allocate(a.Length)).ToArray();
        try
        {
            for (int i = 0; i < arrays.Length; i++) be.Upload(arrays[i], buffers[i].All);
            op(be, buffers.Select(b => b.All).ToArray());
            return buffers.Select(b =>
            {
                var host = new float[b.Length];
                be.Download(b.All, host);
                return host;
            }).ToArray();
        }
        finally
        {
            foreach (var b in buffers) b.Dispose();
        }
    }

    private void Compare(string what, float[][] arrays, Action<IBackend, TensorView[]> op)
    {
        var expected = Run(_reference, arrays, op);
        var actual = Run(_cuda, arrays, op);
        for (int i = 0; i < arrays.Length; i++)
        {
            double diff = 0, norm = 0;
            for (int j = 0; j < expected[i].Length; j++)
            {
                double d = (double)actual[i][j] - expected[i][j];
                diff += d * d;
                norm += (double)expected[i][j] * expected[i][j];
            }
            double rel = Math.Sqrt(diff) / Math.Max(Math.Sqrt(norm), 1e-30);
            Assert.That(rel, Is.LessThanOrEqualTo(Tolerance), $"{what}: array {i} differs (relative error {rel:E2})");
        }
    }

    [TestCase(67, 45, 33)]
    [TestCase(1, 7, 1)]
    [TestCase(130, 132, 260)]
    [TestCase(256, 64, 128)]
    public void MatmulEveryVariantForwardAndBackward(int N, int C, int OC)
    {
        var lab = (IKernelVariants)_cuda;
        string initial = lab.VariantOf(Op.Matmul);
        foreach (string variant in lab.VariantsOf(Op.Matmul))
        {
            lab.UseVariant(Op.Matmul, variant);
            Compare($"matmul forward {variant} {N}x{C}x{OC}", [new float[N * OC], Random(N * C, 1), Random(OC * C, 2), Random(OC, 3)],
                (be, v) => be.MatmulForward(v[0], v[1], v[2], v[3], N, C, OC));
            Compare($"matmul forward, no bias, {variant}", [new float[N * OC], Random(N * C, 1), Random(OC * C, 2)],
                (be, v) => be.MatmulForward(v[0], v[1], v[2], TensorView.Empty, N, C, OC));
            Compare($"matmul backward {variant} {N}x{C}x{OC}",
                [Random(N * C, 4), Random(OC * C, 5), Random(OC, 6), Random(N * OC, 7), Random(N * C, 1), Random(OC * C, 2)],
                (be, v) => be.MatmulBackward(v[0], v[1], v[2], v[3], v[4], v[5], N, C, OC));
        }
        lab.UseVariant(Op.Matmul, initial);
    }

    [Test]
    public void MatmulReadsViewsAtOddOffsets()
    {
        // Offsets of 1 float break 16-byte alignment: the float4 path must not be taken.
        const int N = 33, C = 20, OC = 12;
        Compare("matmul at offset 1", [new float[N * OC + 1], Random(N * C + 1, 1), Random(OC * C + 1, 2)],
            (be, v) => be.MatmulForward(v[0].Slice(1, N * OC), v[1].Slice(1, N * C), v[2].Slice(1, OC * C), TensorView.Empty, N, C, OC));
    }

    [TestCase(2, 37, 48, 3, true)]
    [TestCase(1, 70, 64, 1, false)]
    [TestCase(3, 9, 256, 2, true)]
    public void AttentionEveryVariantAndTheBackward(int B, int T, int C, int NH, bool causal)
    {
        var lab = (IKernelVariants)_cuda;
        var qkv = Random(B * T * 3 * C, 8);
        string initial = lab.VariantOf(Op.Attention);
        foreach (string variant in lab.VariantsOf(Op.Attention))
        {
            lab.UseVariant(Op.Attention, variant);
            Compare($"attention forward {variant}", [new float[B * T * C], new float[B * NH * T], qkv],
                (be, v) => be.AttentionForward(v[0], v[1], v[2], B, T, C, NH, causal));
        }
        lab.UseVariant(Op.Attention, initial);
        var output = new float[B * T * C];
        var lse = new float[B * NH * T];
        using (var o = _reference.Allocate(output.Length))
        using (var l = _reference.Allocate(lse.Length))
        using (var x = _reference.Allocate(qkv.Length))
        {
            _reference.Upload(qkv, x.All);
            _reference.AttentionForward(o.All, l.All, x.All, B, T, C, NH, causal);
            _reference.Download(o.All, output);
            _reference.Download(l.All, lse);
        }
        Compare("attention backward", [Random(B * T * 3 * C, 9), Random(B * T * C, 10), qkv, output, lse],
            (be, v) => be.AttentionBackward(v[0], v[1], v[2], v[3], v[4], B, T, C, NH, causal));
    }

    [Test]
    public void AttentionOverAKvCache()
    {
        const int B = 2, Tq = 3, pos = 5, maxT = 12, C = 32, NH = 2;
        Compare("attention kv", [new float[B * Tq * C], Random(B * maxT * C, 11), Random(B * maxT * C, 12), Random(B * Tq * 3 * C, 13)],
            (be, v) => be.AttentionKvForward(v[0], v[1], v[2], v[3], B, Tq, pos, maxT, C, NH));
    }

    [Test]
    public void LayerNormForwardAndBackward()
    {
        const int N = 19, C = 77;
        Compare("layernorm forward", [new float[N * C], new float[N], new float[N], Random(N * C, 14, 3f), Random(C, 15), Random(C, 16)],
            (be, v) => be.LayerNormForward(v[0], v[1], v[2], v[3], v[4], v[5], N, C, 1e-5f));
        var mean = new float[N];
        var rstd = new float[N];
        var x = Random(N * C, 14, 3f);
        for (int n = 0; n < N; n++)
        {
            mean[n] = x.AsSpan(n * C, C).ToArray().Average();
            rstd[n] = 1f / MathF.Sqrt(x.AsSpan(n * C, C).ToArray().Select(e => (e - mean[n]) * (e - mean[n])).Average() + 1e-5f);
        }
        Compare("layernorm backward", [Random(N * C, 17), Random(C, 18), Random(C, 19), Random(N * C, 20), x, Random(C, 15), mean, rstd],
            (be, v) => be.LayerNormBackward(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], N, C));
    }

    [Test]
    public void ElementwiseOps()
    {
        const int N = 1025;
        Compare("gelu forward", [new float[N], Random(N, 21, 4f)], (be, v) => be.GeluForward(v[0], v[1], N));
        Compare("gelu backward", [Random(N, 22), Random(N, 21, 4f), Random(N, 23)], (be, v) => be.GeluBackward(v[0], v[1], v[2], N));
        Compare("residual forward", [new float[N], Random(N, 24), Random(N, 25)], (be, v) => be.ResidualForward(v[0], v[1], v[2], N));
        Compare("residual backward", [Random(N, 26), Random(N, 27), Random(N, 28)], (be, v) => be.ResidualBackward(v[0], v[1], v[2], N));
        Compare("adamw", [Random(N, 29), Random(N, 30, 0.1f), Random(N, 31, 0.01f).Select(MathF.Abs).ToArray(), Random(N, 32)],
            (be, v) => be.AdamWUpdate(v[0], v[1], v[2], v[3], 1e-3f, 0.9f, 0.999f, 1e-8f, 0.1f, 3, 0.5f));
        var x = Random(N, 33);
        using var buffer = _cuda.Allocate(N);
        _cuda.Upload(x, buffer.All);
        double expected = x.Sum(e => (double)e * e);
        Assert.That(_cuda.SumOfSquares(buffer.All), Is.EqualTo(expected).Within(1e-9 * expected));
    }

    [Test]
    public void EncoderForwardAndBackward()
    {
        const int B = 2, T = 5, C = 12, V = 7;
        int[] tokens = [0, 3, 3, 6, 1, 3, 2, 2, 5, 0]; // repeats: the backward's scatter must add them all
        Compare("encoder forward", [new float[B * T * C], Random(V * C, 34), Random(T * C, 35)],
            (be, v) => be.EncoderForward(v[0], tokens, v[1], v[2], B, T, C));
        Compare("encoder backward", [Random(V * C, 36), Random(T * C, 37), Random(B * T * C, 38)],
            (be, v) => be.EncoderBackward(v[0], v[1], v[2], tokens, B, T, C));
        using var o = _cuda.Allocate(B * T * C);
        using var wte = _cuda.Allocate(V * C);
        using var wpe = _cuda.Allocate(T * C);
        int[] bad = [0, 1, 2, 3, 4, 5, 6, 7, 0, 0];
        Assert.Throws<ArgumentOutOfRangeException>(() => _cuda.EncoderForward(o.All, bad, wte.All, wpe.All, B, T, C));
    }

    [Test]
    public void SoftmaxCrossEntropyInPlaceWithAnIgnoredRow()
    {
        const int N = 5, V = 1031, Vp = 1088;
        int[] targets = [3, -1, 1030, 0, 77];
        // probs is the logits buffer itself, and dlogits the probs buffer, as the model runs them;
        // rows padded to Vp as the model's arena pads its vocabulary (the pad columns start as garbage).
        Compare("softmax cross-entropy", [new float[N], Random(N * Vp, 39, 5f)], (be, v) =>
        {
            be.SoftmaxCrossEntropyForward(v[0], v[1], v[1], targets, N, V, Vp);
            be.SoftmaxCrossEntropyBackward(v[1], v[1], targets, 0.25f, N, V, Vp);
        });
    }
}
