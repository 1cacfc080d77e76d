using Hyper.Kernels;
using Hyper.Runtime.Backends;
using Hyper.Tests.Support;
using Cpu = Hyper.Kernels.Cpu;
using Ref = Hyper.Kernels.Reference;

namespace Hyper.Tests.Kernels;

/// <summary>
/// The bf16 and q8 matmuls: the fast kernels against their reference on odd shapes (C around the
/// 32-wide bf16 chunks and q8 blocks, with tails; N = 1..5 rows, with and without bias), the formats'
/// rounding against their error bounds, and the CPU backend's packed path.
/// </summary>
public class MatmulLowPrecisionTests
{
    // Fast and reference kernels multiply the same dequantised weights by the same inputs, in another
    // summation order (16 lanes, reordered pairs for bf16, per-block sums for q8): as for the fp32
    // GEMV, ~√C·ε·|term| apart, far below 2e-5 of the largest output; a wrong block, scale or tail is
    // an error of a whole term (≥ 1e-2).
    private const double Rtol = 2e-5;
    private const double Atol = 1e-6;

    private static readonly (int C, int OC)[] Shapes = [(1, 1), (7, 5), (31, 3), (32, 7), (33, 9), (64, 17), (100, 1031), (1025, 65), (768, 385)];

    private static IEnumerable<TestCaseData> Cases()
    {
        foreach (var (c, oc) in Shapes)
            foreach (int n in new[] { 1, 2, 4, 5, 9, 17 }) // 5, 9, 17: past WeightRows.FusedRows, the tiled path (4x4 tiles, 1 row left)
                foreach (bool bias in new[] { true, false })
                    yield return new TestCaseData(n, c, oc, bias).SetName($"N={n} C={c} OC={oc} bias={bias}");
        // From WeightRows.GemmRows the widened strips go to the fp32 GEMM: a tail block, a lone q8 block, and C = 2048,
        // whose 512-row strips leave 7 rows in a third.
        foreach (var (n, c, oc) in new[] { (257, 33, 9), (300, 100, 131), (257, 2048, 1031) })
            yield return new TestCaseData(n, c, oc, true).SetName($"N={n} C={c} OC={oc} bias=True");
    }

    [TestCaseSource(nameof(Cases))]
    public void Bf16MatchesReference(int N, int C, int OC, bool withBias)
    {
        float[] inp = Check.Random(N * C, 1), bias = withBias ? Check.Random(OC, 3) : [];
        ushort[] w = Ref.MatmulBf16.Pack(Check.Random(OC * C, 2));
        var expected = new float[N * OC];
        Ref.MatmulBf16.Forward(expected, inp, w, bias, N, C, OC);
        float[] actual = Check.Random(N * OC, 4, 100f); // garbage: the kernel overwrites
        Cpu.MatmulBf16.Forward(actual, inp, w, bias, N, C, OC);
        Check.Close("out", actual, expected, Rtol, Atol);
    }

    [TestCaseSource(nameof(Cases))]
    public void Q8MatchesReference(int N, int C, int OC, bool withBias)
    {
        float[] inp = Check.Random(N * C, 1), bias = withBias ? Check.Random(OC, 3) : [];
        var (q, d) = Ref.MatmulQ8.Pack(Check.Random(OC * C, 2), C, OC);
        var expected = new float[N * OC];
        Ref.MatmulQ8.Forward(expected, inp, q, d, bias, N, C, OC);
        float[] actual = Check.Random(N * OC, 4, 100f);
        Cpu.MatmulQ8.Forward(actual, inp, q, d, bias, N, C, OC);
        Check.Close("out", actual, expected, Rtol, Atol);
    }

    [Test]
    public void RoundingStaysWithinTheFormatsBounds()
    {
        const int C = 100, OC = 3;
        float[] w = Check.Random(OC * C, 9);
        w[5] = 0f;
        // bf16 keeps 8 significant bits (7 stored): half a step is 2^-8 of the value's power of two, so within 2^-8 relative.
        ushort[] h = Ref.MatmulBf16.Pack(w);
        for (int i = 0; i < w.Length; i++)
            Assert.That(Math.Abs(Ref.MatmulBf16.ToFloat(h[i]) - w[i]), Is.LessThanOrEqualTo(Math.Abs(w[i]) / 256f), $"bf16 weight {i}");
        Assert.That(Ref.MatmulBf16.ToFloat(Ref.MatmulBf16.FromFloat(float.NaN)), Is.NaN);
        // q8: within half a step (d/2) of its block, and the block's largest magnitude is exact up to float rounding.
        var (q, d) = Ref.MatmulQ8.Pack(w, C, OC);
        int nb = Ref.MatmulQ8.Blocks(C);
        for (int o = 0; o < OC; o++)
            for (int c = 0; c < C; c++)
            {
                int b = c / Ref.MatmulQ8.Block;
                float scale = d[o * nb + b], back = scale * q[(o * nb + b) * Ref.MatmulQ8.Block + c % Ref.MatmulQ8.Block];
                Assert.That(Math.Abs(back - w[o * C + c]), Is.LessThanOrEqualTo(scale / 2 * 1.0001f + 1e-7f), $"q8 weight {o},{c}");
            }
        // The padding past C = 100 (to 128) is zero, so the kernels may read whole blocks.
        Assert.That(q.AsSpan(nb * Ref.MatmulQ8.Block - 28, 28).ToArray(), Is.All.EqualTo((sbyte)0));
    }

    [TestCase(WeightFormat.Bf16)]
    [TestCase(WeightFormat.Q8)]
    public void CpuBackendMultipliesByThePackedWeights(WeightFormat format)
    {
        const int N = 3, C = 70, OC = 41;
        float[] inp = Check.Random(N * C, 1), weight = Check.Random(OC * C, 2), bias = Check.Random(OC, 3);
        var expected = new float[N * OC];
        if (format == WeightFormat.Bf16) Ref.MatmulBf16.Forward(expected, inp, Ref.MatmulBf16.Pack(weight), bias, N, C, OC);
        else
        {
            var (q, d) = Ref.MatmulQ8.Pack(weight, C, OC);
            Ref.MatmulQ8.Forward(expected, inp, q, d, bias, N, C, OC);
        }
        using var be = new CpuBackend();
        LowPrecision.Use(be, format);
        using DeviceBuffer x = be.Allocate(N * C), w = be.Allocate(OC * C), b = be.Allocate(OC), y = be.Allocate(N * OC);
        be.Upload(inp, x.All);
        be.Upload(weight, w.All);
        be.Upload(bias, b.All);
        be.MatmulForward(y.All, x.All, w.All, b.All, N, C, OC);
        var actual = new float[N * OC];
        be.Download(y.All, actual);
        Check.Close("out", actual, expected, Rtol, Atol);
        Assert.That(be.PackedFloats, Is.EqualTo(OC * C));
        Assert.That(be.PackedBytes, Is.EqualTo(LowPrecision.Bytes(format, OC, C)));
    }

    [Test]
    public void UnknownFormatsAndBackendsWithoutThemAreRefused()
    {
        Assert.Throws<Hyper.Runtime.SettingException>(() => LowPrecision.Parse("q4"));
        using var reference = new ReferenceBackend();
        Assert.Throws<Hyper.Runtime.SettingException>(() => LowPrecision.Use(reference, WeightFormat.Q8));
        Assert.DoesNotThrow(() => LowPrecision.Use(reference, WeightFormat.F32));
    }
    [TestCase(1, 3)]
    [TestCase(31, 2)]
    [TestCase(33, 5)]
    [TestCase(64, 4)]
    [TestCase(100, 7)]
    [TestCase(1025, 3)]
    public unsafe void PackingLaysTheReferencesPlanesWhereThePositionSpecSays(int C, int OC)
    {
        // The backend packs straight from the floats, a row at a time, four bytes at a time. The spec is the
        // reference's Pack and the layout's Position, element by element: the same bytes, tails and odd block counts included.
        float[] weight = Check.Random(OC * C, 21);
        var (q, d) = Ref.MatmulQ8.Pack(weight, C, OC);
        int nb = Ref.MatmulQ8.Blocks(C), stride = nb * Ref.MatmulQ8.Block;
        var expected = new byte[Cpu.MatmulQ8.ValueBytes(C, OC)];
        for (int o = 0; o < OC; o++)
            for (int i = 0; i < stride; i++) expected[o * stride + Cpu.MatmulQ8.Position(i, nb)] = (byte)(q[o * stride + i] + 128);
        var values = new byte[expected.Length];
        var scales = new float[Cpu.MatmulQ8.ScaleBytes(C, OC) / 4];
        Array.Fill(values, (byte)0xAB); // garbage: every byte must be written
        fixed (byte* v = values)
        fixed (float* s = scales)
        {
            var rows = Cpu.MatmulQ8.PackInto(weight, C, OC, v, s);
            Assert.That(rows.Values.ToArray(), Is.EqualTo(expected));
            Assert.That(rows.Scales.ToArray(), Is.EqualTo(d));
        }
        Assert.That(Cpu.MatmulQ8.Pack(q, d, C, OC).Values.ToArray(), Is.EqualTo(expected), "the planes' path lays the same");
    }

    [Test]
    public unsafe void AvxVnniPairSumsEqualMaddubsThenMaddwd()
    {
        // The q8 kernel's 256-bit path takes one vpdpbusd where AVX-VNNI exists, on the identity that it equals
        // vpmaddubsw then vpmaddwd by ones for weights q + 128 ≤ 255 and inputs |r| ≤ 64 (no int16 saturation).
        if (!System.Runtime.Intrinsics.X86.AvxVnni.IsSupported) Assert.Ignore("this CPU has no AVX-VNNI");
        var rng = new Random(7);
        byte* q = stackalloc byte[32];
        sbyte* x = stackalloc sbyte[32];
        var ones = System.Runtime.Intrinsics.Vector256.Create((short)1);
        for (int trial = 0; trial < 1000; trial++)
        {
            // The extremes first: every weight 255 against every input ±64 is where int16 would saturate first.
            for (int j = 0; j < 32; j++)
            {
                q[j] = trial == 0 ? (byte)255 : (byte)rng.Next(256);
                x[j] = trial == 0 ? (sbyte)(j % 2 == 0 ? 64 : -64) : (sbyte)rng.Next(-64, 65);
            }
            var vnni = Cpu.MatmulQ8.Sums256(q, x, ones);
            var twoStep = System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(System.Runtime.Intrinsics.X86.Avx2.MultiplyAddAdjacent(
                System.Runtime.Intrinsics.Vector256.Load(q), System.Runtime.Intrinsics.Vector256.Load(x)), ones);
            for (int lane = 0; lane < 8; lane++)
            {
                int expected = 0;
                for (int j = 0; j < 4; j++) expected += q[4 * lane + j] * x[4 * lane + j];
                Assert.That(vnni[lane], Is.EqualTo(expected), $"trial {trial}, lane {lane}");
                Assert.That(twoStep[lane], Is.EqualTo(expected), $"trial {trial}, lane {lane} (two steps)");
            }
        }
    }
}
